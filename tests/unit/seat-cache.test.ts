import assert from "node:assert/strict";
import { describe, it, mock } from "node:test";
import type { AccessPolicy } from "../../src/auth/access";
import { SessionStatus } from "../../src/entities/session.entity";
import { SeatCache } from "../../src/services/seat-cache";
import type { SessionFeed } from "../../src/services/session-feed.service";
import type { TimelineListener } from "../../src/services/timeline-hub";
import type { CommitListener } from "../../src/services/session-store";
import type { TimelineMessage } from "../../src/realtime/messages";

const SESSION = "00000000-0000-4000-8000-000000000001";
const ANN = "00000000-0000-4000-8000-00000000000a";
const BOB = "00000000-0000-4000-8000-00000000000b";

/** A database of seats (what seatedIn reads, counted) and a timeline to push events into. */
function fakes() {
  const seated = new Map<string, SessionStatus>([
    [ANN, SessionStatus.ACTIVE],
    [BOB, SessionStatus.ACTIVE],
  ]);
  let reads = 0;
  /** When set, seatedIn waits for it after reading (an event can come while a statement runs). */
  let hold: Promise<void> | undefined;
  let onRead = () => undefined as void;
  const listeners = new Set<TimelineListener>();
  const commitListeners = new Set<CommitListener>();
  const access = {
    async seatedIn(userId: string) {
      reads += 1;
      const status = seated.get(userId);
      onRead();
      await hold;
      return status ? { sessionStatus: status } : undefined;
    },
  } as unknown as AccessPolicy;
  const feed = {
    async attach(_sessionId: string, listener: TimelineListener) {
      listeners.add(listener);
      return () => void listeners.delete(listener);
    },
  } as unknown as SessionFeed;
  const commits = {
    onCommit(listener: CommitListener) {
      commitListeners.add(listener);
      return () => void commitListeners.delete(listener);
    },
  };
  let seq = 0;
  const message = (type: string, userId: string | null): TimelineMessage => ({
    id: String(++seq),
    sessionId: SESSION,
    seq,
    type,
    timestampMs: 0,
    userId,
    data: userId ? { userId } : {},
    clientOpId: null,
    boardVersion: null,
    createdAt: new Date(0),
  });
  return {
    access,
    feed,
    commits,
    commitListeners,
    seated,
    listeners,
    get reads() {
      return reads;
    },
    /** Holds every read until `until` resolves; answers when the next one has read. */
    holdReads(until: Promise<void> | undefined): Promise<void> {
      hold = until;
      return new Promise<void>((resolve) => (onRead = resolve));
    },
    /** An event as this instance's timeline hub delivers it (committed anywhere). */
    event(type: string, userId: string | null = null) {
      const event = message(type, userId);
      for (const l of listeners) l.take(event);
    },
    /** An event committed on this instance: told before the change answers, the hub later. */
    commit(type: string, userId: string | null = null) {
      const event = message(type, userId);
      for (const l of commitListeners) l(event.sessionId, [event]);
    },
  };
}

describe("SeatCache", () => {
  it("reads a seat twice the first time (before and after following the timeline), then never", async () => {
    const f = fakes();
    const cache = new SeatCache(f.access, f.feed, f.commits);
    assert.equal(cache.has(SESSION, ANN), false);
    assert.deepEqual(await cache.seatedIn(ANN, SESSION), { sessionStatus: SessionStatus.ACTIVE });
    assert.equal(f.reads, 2);
    assert.equal(f.listeners.size, 1);
    assert.equal(cache.has(SESSION, ANN), true);
    await cache.seatedIn(BOB, SESSION); // the session is followed already: one read
    assert.equal(f.reads, 3);
    assert.equal(cache.has(SESSION, BOB), true);
    cache.close();
    assert.equal(f.listeners.size, 0);
  });

  it("forgets a user on their participant events, everyone on a session status event", async () => {
    const f = fakes();
    const cache = new SeatCache(f.access, f.feed, f.commits);
    await cache.seatedIn(ANN, SESSION);
    await cache.seatedIn(BOB, SESSION);
    for (const type of ["PARTICIPANT_LEAVE", "PARTICIPANT_KICK", "PARTICIPANT_DISCONNECT", "ROLE_CHANGE"]) {
      f.event(type, ANN);
      assert.equal(cache.has(SESSION, ANN), false, type);
      assert.equal(cache.has(SESSION, BOB), true, type);
      await cache.seatedIn(ANN, SESSION);
    }
    f.event("BOARD_STROKE", ANN);
    assert.equal(cache.has(SESSION, ANN), true);
    f.event("SESSION_PAUSE", BOB);
    assert.equal(cache.has(SESSION, ANN), false);
    assert.equal(cache.has(SESSION, BOB), false);
    cache.close();
  });

  it("forgets a seat the moment this instance commits the event, before its hub delivers it", async () => {
    const f = fakes();
    const cache = new SeatCache(f.access, f.feed, f.commits);
    await cache.seatedIn(ANN, SESSION);
    await cache.seatedIn(BOB, SESSION);
    f.commit("PARTICIPANT_KICK", ANN);
    assert.equal(cache.has(SESSION, ANN), false);
    assert.equal(cache.has(SESSION, BOB), true);
    f.commit("SESSION_PAUSE", BOB);
    assert.equal(cache.has(SESSION, BOB), false);
    cache.close();
    assert.equal(f.commitListeners.size, 0);
  });

  it("does not remember a seat read while an event that may change it arrived", async () => {
    const f = fakes();
    const cache = new SeatCache(f.access, f.feed, f.commits);
    await cache.seatedIn(BOB, SESSION); // the session is followed
    let release!: () => void;
    const read = f.holdReads(new Promise<void>((r) => (release = r)));
    const reading = cache.seatedIn(ANN, SESSION);
    await read; // "seated" was read...
    f.event("PARTICIPANT_LEAVE", ANN); // ...and her leave is delivered before the answer
    void f.holdReads(undefined);
    release();
    assert.deepEqual(await reading, { sessionStatus: SessionStatus.ACTIVE }); // this move went by the statement
    assert.equal(cache.has(SESSION, ANN), false); // the next one reads again
    cache.close();
  });

  it("remembers only ACTIVE seats, and follows no timeline for strangers", async () => {
    const f = fakes();
    const cache = new SeatCache(f.access, f.feed, f.commits);
    f.seated.set(ANN, SessionStatus.PAUSED);
    f.seated.delete(BOB);
    assert.deepEqual(await cache.seatedIn(ANN, SESSION), { sessionStatus: SessionStatus.PAUSED });
    assert.equal(await cache.seatedIn(BOB, SESSION), undefined);
    assert.equal(f.listeners.size, 0);
    assert.equal(cache.has(SESSION, ANN), false);
    cache.close();
  });

  it("lets an idle seat expire, and stops following a session without seats", async () => {
    mock.timers.enable({ apis: ["setInterval"] });
    try {
      const f = fakes();
      let now = 0;
      const cache = new SeatCache(f.access, f.feed, f.commits, 20, () => now);
      await cache.seatedIn(ANN, SESSION);
      now = 10;
      assert.equal(cache.has(SESSION, ANN), true); // used: alive until 30
      now = 20;
      mock.timers.tick(20); // the sweep keeps a seat in use
      assert.equal(f.listeners.size, 1);
      now = 30;
      assert.equal(cache.has(SESSION, ANN), false);
      mock.timers.tick(20); // the sweep finds no seat left and stops following
      assert.equal(f.listeners.size, 0);
      cache.close();
    } finally {
      mock.timers.reset();
    }
  });
});
