// Cursors that keep up (issue 10, part 5): what a client and an operator can observe of the
// fast path. A move by a known seated participant costs no statement, and a seat that goes
// away is refused at once; an instance publishes one batch per tick, not one per move; the
// frames of a tick are one object for every subscriber.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { Redis } from "ioredis";
import type { Logger as TypeOrmLogger } from "typeorm";
import { AuthContext } from "../../src/auth/auth-context";
import { queuedStream, type LiveStream, type LiveStreamOptions } from "../../src/realtime/live-stream";
import type { CursorBatch } from "../../src/realtime/presence";
import { topics } from "../../src/realtime/topics";
import { PresenceKind, type PresenceFrame } from "../../src/services/presence-hub";
import { codeOf, ok } from "../support/assertions";
import { acrossInstances, backends } from "../support/backends";
import { activeLesson, type User } from "../support/lesson";
import { watch } from "../support/subscriptions";
import { startTestServer, startTwoInstances, type TestServer } from "../support/test-server";

const TICK_MS = 50;
const ENV = { CURSOR_TICK_MS: String(TICK_MS), PRESENCE_TTL_MS: "500" };
const T = { timeout: 20_000 };

const PRESENCE = `subscription($s: ID!) { presence(sessionId: $s) { kind user { id } onlineUserIds cursors { userId x } } }`;
const MOVE = `mutation($s: ID!, $x: Float!, $y: Float!) { moveCursor(sessionId: $s, x: $x, y: $y) }`;
const SYSTEM = `subscription($s: ID!) { systemEvents(sessionId: $s, afterSeq: 0) { seq kind data } }`;

function move(server: TestServer, user: User, sessionId: string, x: number) {
  return server.gql(MOVE, { s: sessionId, x, y: 0 }, user.token);
}

async function moved(server: TestServer, user: User, sessionId: string, x: number): Promise<void> {
  assert.equal(ok(await move(server, user, sessionId, x)).moveCursor, true);
}

/** The statements `server` runs while `work` runs, but the feed hub's latest-seq heartbeat (not on any request's path). */
async function statementsDuring(server: TestServer, work: () => Promise<void>): Promise<string[]> {
  const statements: string[] = [];
  const logger: Partial<TypeOrmLogger> = { logQuery: (query) => void statements.push(query) };
  const original = server.app.db.logger.logQuery;
  Object.assign(server.app.db.logger, logger);
  try {
    await work();
  } finally {
    Object.assign(server.app.db.logger, { logQuery: original });
  }
  return statements.filter((q) => !/"lastSeq"|last_seq/.test(q));
}

/**
 * In-process presence streams of several viewers, opened through a recording `open`: every
 * item pushed to each stream, as the transport would receive it.
 */
function recordedStreams(server: TestServer, sessionId: string) {
  const pushed = new Map<string, PresenceFrame[]>();
  const waiters: Array<() => void> = [];
  const streams: Array<LiveStream<PresenceFrame>> = [];
  return {
    pushed,
    async open(user: User): Promise<void> {
      const frames: PresenceFrame[] = [];
      pushed.set(user.id, frames);
      const recording = <T>(options: LiveStreamOptions): LiveStream<T> => {
        const stream = queuedStream<T>(options);
        const push = stream.push.bind(stream);
        stream.push = (item: T) => {
          frames.push(item as PresenceFrame);
          waiters.splice(0).forEach((w) => w());
          push(item);
        };
        return stream;
      };
      const auth = AuthContext.of(server.app.tokens.verify(user.token, ["access"]));
      streams.push(await server.app.services.presence.watch(auth, sessionId, recording));
    },
    /** Waits until `predicate` holds for what was pushed. */
    async until(predicate: () => boolean): Promise<void> {
      while (!predicate()) await new Promise<void>((r) => waiters.push(r));
    },
    async close(): Promise<void> {
      await Promise.all(streams.map(async (s) => s.return?.()));
    },
  };
}

for (const backend of backends) {
  describe(`cursor fast path [${backend.name}]`, { skip: backend.skip }, () => {
    let server: TestServer;
    before(async () => {
      server = await startTestServer(backend, { env: ENV });
    });
    after(() => server?.stop());

    it("costs no statement for the moves of several seated participants after their first", T, async () => {
      const {
        tutor,
        students: [ann, bob],
        sessionId,
      } = await activeLesson(server);
      for (const user of [tutor, ann, bob]) await moved(server, user, sessionId, 0);
      const statements = await statementsDuring(server, async () => {
        for (let i = 1; i <= 3; i++) await Promise.all([tutor, ann, bob].map((user) => moved(server, user, sessionId, i)));
      });
      assert.deepEqual(statements, []);
    });

    it("costs no statement for a participant's first move once its presence stream has started", T, async () => {
      const {
        students: [ann],
        sessionId,
      } = await activeLesson(server);
      const anns = watch(server, ann.token, PRESENCE, { s: sessionId });
      assert.equal((await anns.next()).data.presence.kind, "STATUS");
      assert.deepEqual(await statementsDuring(server, () => moved(server, ann, sessionId, 1)), []);
      anns.close();
    });

    it("refuses at once a participant who left, was kicked or disconnected, and everyone while paused", T, async () => {
      const {
        tutor,
        students: [ann, bob, cid],
        sessionId,
      } = await activeLesson(server, 3);
      const cids = watch(server, cid.token, PRESENCE, { s: sessionId }); // cid's realtime connection
      await cids.next();
      for (const user of [tutor, ann, bob, cid]) await moved(server, user, sessionId, 1);
      // Known seated now: these cost nothing, and must still be refused the moment the seat goes.
      assert.deepEqual(await statementsDuring(server, () => moved(server, ann, sessionId, 2)), []);

      ok(await server.gql(`mutation($s: ID!) { leaveSession(id: $s) { status } }`, { s: sessionId }, ann.token));
      assert.equal(codeOf(await move(server, ann, sessionId, 3)), "INVALID_STATE");

      ok(await server.gql(`mutation($s: ID!, $u: ID!) { kickParticipant(sessionId: $s, userId: $u) { status } }`, { s: sessionId, u: bob.id }, tutor.token));
      assert.equal(codeOf(await move(server, bob, sessionId, 3)), "FORBIDDEN");

      // cid's connection goes: RECONNECTING (still seated, moves go on), then DISCONNECTED.
      const tutors = watch(server, tutor.token, PRESENCE, { s: sessionId });
      await tutors.next();
      cids.close();
      await tutors.until((f) => f.data.presence.kind === "LEFT" && f.data.presence.user.id === cid.id);
      await moved(server, cid, sessionId, 3);
      assert.ok((await server.app.services.participants.disconnectInactive(0)) >= 1);
      assert.equal(codeOf(await move(server, cid, sessionId, 4)), "INVALID_STATE");

      ok(await server.gql(`mutation($s: ID!) { pauseSession(id: $s) { status } }`, { s: sessionId }, tutor.token));
      assert.equal(codeOf(await move(server, tutor, sessionId, 5)), "INVALID_STATE");
      ok(await server.gql(`mutation($s: ID!) { resumeSession(id: $s) { status } }`, { s: sessionId }, tutor.token));
      await moved(server, tutor, sessionId, 6);
      tutors.close();
    });

    it("publishes the moves accepted during a tick as one batch, at most one per tick", T, async () => {
      const {
        tutor,
        students: [ann, bob],
        sessionId,
      } = await activeLesson(server);
      const users = [tutor, ann, bob];
      const batches: Array<{ at: number; batch: CursorBatch }> = [];
      const waiters: Array<() => void> = [];
      const channel = topics.cursors(sessionId).channel;
      const bus = server.app.bus;
      // Announced: only the other instances hear a batch (this one's hub has the moves already).
      const announce = bus.announce.bind(bus);
      bus.announce = async (topic, payload) => {
        if (topic.channel === channel) {
          batches.push({ at: performance.now(), batch: payload as CursorBatch });
          waiters.splice(0).forEach((w) => w());
        }
        return announce(topic, payload);
      };
      try {
        // 10 moves of each user, in flight together: 30 moves within a few ticks.
        await Promise.all(users.map(async (user) => Promise.all(Array.from({ length: 10 }, (_, i) => moved(server, user, sessionId, i + 1)))));
        const last = () => new Map(batches.flatMap(({ batch }) => batch.cursors.map((c) => [c.userId, c.x] as const)));
        while (!users.every((u) => last().get(u.id) === 10)) await new Promise<void>((r) => waiters.push(r));
      } finally {
        bus.announce = announce;
      }
      assert.ok(batches.length < 30, `${batches.length} publishes for 30 moves`);
      // Ticks are the instance's 50 ms slots (the server runs in this process, on this clock):
      // never two batches in one, though a late timer may bring two slots' batches closer.
      const ticks = batches.map((b) => Math.floor((b.at + 1) / TICK_MS));
      for (let i = 1; i < ticks.length; i++)
        assert.ok(ticks[i] > ticks[i - 1], `two publishes in tick ${ticks[i]}: ${JSON.stringify(batches.map((b) => b.at.toFixed(1)))}`);
      // A batch holds the last position of each user who moved during its tick, once.
      for (const { batch } of batches) assert.equal(new Set(batch.cursors.map((c) => c.userId)).size, batch.cursors.length);
    });

    it("pushes one frame object per tick and per change to every subscriber; STATUS is each one's own", T, async () => {
      const {
        tutor,
        students: [ann, bob],
        sessionId,
      } = await activeLesson(server);
      const streams = recordedStreams(server, sessionId);
      await streams.open(tutor);
      await streams.open(ann);
      const [tutors, anns] = [streams.pushed.get(tutor.id)!, streams.pushed.get(ann.id)!];
      await streams.open(bob);
      const bobs = streams.pushed.get(bob.id)!;
      // bob JOINED: the same object for the tutor and ann.
      await streams.until(() => [tutors, anns].every((f) => f.some((x) => x.kind === PresenceKind.JOINED && x.userId === bob.id)));
      const joined = (frames: PresenceFrame[]) => frames.find((x) => x.kind === PresenceKind.JOINED && x.userId === bob.id);
      assert.equal(joined(tutors), joined(anns));
      assert.deepEqual([...joined(tutors)!.onlineUserIds].sort(), [tutor.id, ann.id, bob.id].sort());
      assert.equal(bobs[0].kind, PresenceKind.STATUS);
      assert.notEqual(tutors[0], anns[0]);

      await Promise.all([moved(server, ann, sessionId, 7), moved(server, bob, sessionId, 8)]);
      const hasBoth = (frames: PresenceFrame[]) => {
        const seen = new Map(frames.filter((f) => f.kind === PresenceKind.CURSORS).flatMap((f) => f.cursors.map((c) => [c.userId, c.x])));
        return seen.get(ann.id) === 7 && seen.get(bob.id) === 8;
      };
      await streams.until(() => [tutors, anns, bobs].every(hasBoth));
      const cursorFrames = [tutors, anns, bobs].map((frames) => frames.filter((f) => f.kind === PresenceKind.CURSORS));
      // Every subscriber got the very same CURSORS objects, in the same order.
      assert.ok(cursorFrames[0].length > 0);
      for (const frames of cursorFrames.slice(1)) {
        assert.equal(frames.length, cursorFrames[0].length);
        frames.forEach((frame, i) => assert.equal(frame, cursorFrames[0][i]));
      }
      await streams.close();
    });
  });

  describe(
    `cursor fast path on Redis [${backend.name}]`,
    {
      skip: backend.name === "embedded" ? "no Redis on the embedded default" : backend.skip,
    },
    () => {
      let server: TestServer;
      before(async () => {
        server = await startTestServer(backend, { env: ENV });
      });
      after(() => server?.stop());

      it("costs a move no Redis command: the positions accepted are saved once per tick", T, async () => {
        const {
          students: [ann, bob],
          sessionId,
        } = await activeLesson(server, 2);
        const client = new Redis(server.env.REDIS_URL);
        const monitor = await client.monitor(); // a connection of its own
        let commands: string[][] = [];
        const saved = new Map<string, number>();
        const waiters: Array<() => void> = [];
        const savedBoth = (x: number) =>
          new Promise<void>((resolve) => {
            const check = () => (saved.get(ann.id) === x && saved.get(bob.id) === x ? resolve() : waiters.push(check));
            check();
          });
        monitor.on("monitor", (_time: string, args: string[], source: string) => {
          if (source === "lua" || !args.some((a) => a.includes(`presence:${sessionId}:`))) return;
          commands.push(args);
          // EVAL(SHA) script 1 key ttl, then userId, cursor JSON pairs.
          for (let i = 5; i + 1 < args.length; i += 2) saved.set(args[i], JSON.parse(args[i + 1]).x);
          waiters.splice(0).forEach((w) => w());
        });
        let elapsed: number;
        try {
          // Seats known, and the save script loaded by the first tick's save.
          for (const user of [ann, bob]) await moved(server, user, sessionId, 0);
          await savedBoth(0);
          commands = [];
          const started = performance.now();
          for (let i = 1; i <= 10; i++) await Promise.all([ann, bob].map((user) => moved(server, user, sessionId, i)));
          elapsed = performance.now() - started;
          await savedBoth(10);
        } finally {
          for (const connection of [monitor, client]) connection.disconnect();
        }
        // 20 moves: at most one save per tick while they came, and the one after.
        assert.ok(commands.length <= Math.ceil(elapsed / TICK_MS) + 2, `${commands.length} saves for 20 moves in ${elapsed.toFixed(0)} ms`);
        assert.ok(
          commands.every((c) => c[0].toLowerCase() === "evalsha"),
          JSON.stringify(commands.map((c) => c[0])),
        );
        // What a subscriber opening on any instance is shown, once the two are online.
        for (const user of [ann, bob]) await server.app.services.presence.store.touch(sessionId, user.id, "planted", 60_000);
        const { cursors } = await server.app.services.presence.store.state(sessionId);
        assert.deepEqual(
          cursors.map((c) => c.x),
          [10, 10],
        );
      });
    },
  );

  describe(
    `cursor fast path across instances [${backend.name}]`,
    {
      skip: acrossInstances(backend),
    },
    () => {
      let a: TestServer;
      let b: TestServer;
      startTwoInstances(backend, (first, second) => ([a, b] = [first, second]), ENV);

      it("refuses a kicked participant on an instance that knew them seated, once the kick reached it", T, async () => {
        const {
          tutor,
          students: [ann],
          sessionId,
        } = await activeLesson(a, 1);
        await moved(a, ann, sessionId, 1);
        assert.deepEqual(await statementsDuring(a, () => moved(a, ann, sessionId, 2)), []);
        const onA = watch(a, tutor.token, SYSTEM, { s: sessionId }); // from seq 0: it will see the kick whenever it comes
        ok(await b.gql(`mutation($s: ID!, $u: ID!) { kickParticipant(sessionId: $s, userId: $u) { status } }`, { s: sessionId, u: ann.id }, tutor.token));
        // The kick reaches A as every timeline event does: A's subscribers see it, A's seat cache forgets.
        await onA.until((f) => f.data.systemEvents.data?.type === "PARTICIPANT_KICK");
        assert.equal(codeOf(await move(a, ann, sessionId, 3)), "FORBIDDEN");
        onA.close();
      });

      it("delivers a move accepted on one instance to a subscriber on the other", T, async () => {
        const {
          tutor,
          students: [ann],
          sessionId,
        } = await activeLesson(a, 1);
        const onB = watch(b, tutor.token, PRESENCE, { s: sessionId });
        await onB.next();
        await moved(a, ann, sessionId, 42);
        await onB.until((f) => f.data.presence.kind === "CURSORS" && f.data.presence.cursors.some((c: any) => c.userId === ann.id && c.x === 42));
        onB.close();
      });
    },
  );
}
