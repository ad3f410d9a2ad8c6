import type { AccessPolicy } from "../auth/access";
import { SessionStatus } from "../entities/session.entity";
import type { SessionFeed } from "./session-feed.service";
import type { TimelineListener } from "./timeline-hub";
import type { SessionStore } from "./session-store";
import type { TimelineMessage } from "../realtime/messages";

/** A cached seat lives this long after the mover's last move (then the next move reads again). */
export const SEAT_IDLE_MS = 30_000;

/**
 * Timeline events after which what we know of the seat of the event's user may be wrong
 * (left, kicked, disconnected; or any other change of the participant row, to stay on the
 * safe side). SESSION_* events drop every seat of the session.
 */
const SEAT_EVENTS = new Set([
  "PARTICIPANT_JOIN",
  "PARTICIPANT_LEAVE",
  "PARTICIPANT_KICK",
  "PARTICIPANT_RECONNECT",
  "PARTICIPANT_DISCONNECT",
  "ROLE_CHANGE",
  "PERMISSION_UPDATE",
]);

/** The seats known on this instance for one session, kept right by the session's timeline. */
interface SessionSeats {
  /** userId → when the entry expires (ms, `now()` clock) unless the user moves again. */
  users: Map<string, number>;
  /** Bumped by every event that may invalidate a seat: a lookup that raced one is not remembered. */
  epoch: number;
  /** Resolves once the timeline listener is attached (false: it could not be, nothing is cached). */
  attached: Promise<boolean>;
  detach: () => void;
  sweep: NodeJS.Timeout;
}

/**
 * Who is seated in which ACTIVE session, as far as this instance knows (issue 10, "cursors
 * that keep up"): cursor moves come 20 a second per user, and a seat changes only through an
 * event on the session's timeline (PARTICIPANT_LEAVE / KICK / DISCONNECT, ROLE_CHANGE, a
 * SESSION_* status change), which every instance's feed hub sees in seq order. So the first
 * AccessPolicy.seatedIn answer "seated, ACTIVE" is remembered while the session's timeline is
 * followed, and every such event forgets it: a move by a known seated user costs no statement.
 *
 * How stale can it be? On the instance that commits the event, not at all: SessionStore tells
 * this cache of its commits before the change answers, so a move after a leave, kick,
 * disconnect or pause that committed here is refused. On other instances, until their hub
 * delivers the event, which is when every live stream there learns of it too (a kick ends
 * them "on every instance"): one pub/sub hop. A lost message is caught up by the hub's
 * latest-seq heartbeat (LATEST_SEQ_HEARTBEAT_MS).
 */
export class SeatCache {
  private readonly sessions = new Map<string, SessionSeats>();
  private readonly stopHearingCommits: () => void;

  constructor(
    private readonly access: AccessPolicy,
    private readonly feed: SessionFeed,
    commits: Pick<SessionStore, "onCommit">,
    private readonly idleMs = SEAT_IDLE_MS,
    private readonly now: () => number = Date.now,
  ) {
    this.stopHearingCommits = commits.onCommit((sessionId, events) => {
      const seats = this.sessions.get(sessionId);
      if (seats) for (const event of events) this.onTimeline(seats, event);
    });
  }

  /** True when `userId` is known to be seated in the session while it is ACTIVE; costs nothing. */
  has(sessionId: string, userId: string): boolean {
    const seats = this.sessions.get(sessionId);
    const expires = seats?.users.get(userId);
    if (!seats || expires === undefined) return false;
    const now = this.now();
    if (expires <= now) {
      seats.users.delete(userId);
      return false;
    }
    seats.users.set(userId, now + this.idleMs);
    return true;
  }

  /**
   * AccessPolicy.seatedIn (one statement), remembered when the answer is "seated, ACTIVE". The
   * first such answer for a session not yet followed here is read again once the timeline
   * listener is attached: an event committed between the two would otherwise go unseen.
   * Strangers and unknown sessions never make this instance follow a timeline.
   */
  async seatedIn(userId: string, sessionId: string): Promise<{ sessionStatus: SessionStatus } | undefined> {
    let seats = this.sessions.get(sessionId);
    if (!seats) {
      const first = await this.access.seatedIn(userId, sessionId);
      if (first?.sessionStatus !== SessionStatus.ACTIVE) return first;
      seats = this.sessions.get(sessionId) ?? this.follow(sessionId);
    }
    if (!(await seats.attached)) return this.access.seatedIn(userId, sessionId);
    const epoch = seats.epoch;
    const seated = await this.access.seatedIn(userId, sessionId);
    // Only when no event came while the statement ran: it may have read the seat before it.
    if (seated?.sessionStatus === SessionStatus.ACTIVE && this.sessions.get(sessionId) === seats && seats.epoch === epoch) {
      seats.users.set(userId, this.now() + this.idleMs);
    }
    return seated;
  }

  /** Stops following every timeline (instance shutdown). */
  close(): void {
    this.stopHearingCommits();
    for (const sessionId of [...this.sessions.keys()]) this.forget(sessionId);
  }

  /** Starts following the session's timeline; the entry exists at once so concurrent moves share it. */
  private follow(sessionId: string): SessionSeats {
    const listener: TimelineListener = {
      handled: 0,
      early: null,
      take: (event) => this.onTimeline(seats, event),
      // Cannot happen for a listener that never buffers; if it does, trust nothing cached.
      fail: () => this.forget(sessionId),
    };
    let detached = false;
    let detachFeed: (() => void) | undefined;
    const seats: SessionSeats = {
      users: new Map(),
      epoch: 0,
      attached: this.feed.attach(sessionId, listener).then(
        (detach) => {
          if (detached) detach();
          else detachFeed = detach;
          return !detached;
        },
        () => {
          this.forget(sessionId);
          return false;
        },
      ),
      detach: () => {
        detached = true;
        detachFeed?.();
      },
      // Forgets idle seats; a session without any stops being followed.
      sweep: setInterval(() => {
        const now = this.now();
        for (const [userId, expires] of seats.users) if (expires <= now) seats.users.delete(userId);
        if (seats.users.size === 0) this.forget(sessionId);
      }, this.idleMs),
    };
    seats.sweep.unref();
    this.sessions.set(sessionId, seats);
    return seats;
  }

  private onTimeline(seats: SessionSeats, event: TimelineMessage): void {
    if (event.type.startsWith("SESSION_")) {
      seats.epoch += 1;
      seats.users.clear();
    } else if (SEAT_EVENTS.has(event.type)) {
      seats.epoch += 1;
      const userId = event.data?.userId ?? event.userId;
      if (typeof userId === "string") seats.users.delete(userId);
    }
  }

  private forget(sessionId: string): void {
    const seats = this.sessions.get(sessionId);
    if (!seats) return;
    this.sessions.delete(sessionId);
    seats.epoch += 1;
    seats.users.clear();
    clearInterval(seats.sweep);
    seats.detach();
  }
}
