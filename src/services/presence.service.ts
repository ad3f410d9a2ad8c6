import type { AccessPolicy } from "../auth/access";
import type { AuthContext } from "../auth/auth-context";
import type { RateLimiter } from "../infra/rate-limiter";
import { AsyncQueue } from "../realtime/async-queue";
import type { EventBus } from "../realtime/event-bus";
import type { CursorAbuse, CursorPosition, PresenceChange, PresenceState } from "../realtime/presence";
import { HubRegistry } from "../realtime/hubs";
import { topics } from "../realtime/topics";
import type { SessionConnections } from "./connections";
import { DomainError, DomainErrorReason, forbidden } from "./errors";
import { requireSeated } from "./participant.service";
import { allowedIn, requireStatus } from "./session-lifecycle";
import { systemEventStep } from "./system-events";
import type { SessionFeed, TimelineListener } from "./session-feed";
import { SUBSCRIBER_BUFFER } from "./session-feed";
import type { TimelineMessage } from "./timeline";

export enum PresenceKind {
  JOINED = "JOINED",
  LEFT = "LEFT",
  CURSORS = "CURSORS",
  STATUS = "STATUS",
}

/** One presence frame as a subscriber sees it (PresenceUpdate; `user` is resolved from userId). */
export interface PresenceFrame {
  sessionId: string;
  kind: PresenceKind;
  /** The user who JOINED or LEFT; null for STATUS and CURSORS. */
  userId: string | null;
  cursors: CursorPosition[];
  /** Who the subscriber knows to be online after this frame. */
  onlineUserIds: string[];
}

/** HARDENING.md limits of cursors (per user per session). */
export const CURSOR_LIMITS = {
  movesPerWindow: 20,
  windowMs: 1000,
  maxPayloadBytes: 2048,
  /** More drops than this within abuseWindowMs is abuse: the user's sockets close with 4429. */
  abuseDrops: 100,
  abuseWindowMs: 10_000,
} as const;

/** Cursors, like board writes and signals, only while the session is ACTIVE (RULES.md). */
const CURSOR_STATUSES = allowedIn.board;

interface PresenceTiming {
  cursorTickMs: number;
}

function resyncRequired(): DomainError {
  return new DomainError(DomainErrorReason.RESYNC_REQUIRED, "This subscriber fell too far behind: subscribe again for the full state.");
}

/**
 * Presence and live cursors (R3): who is online in a session and where their cursor is,
 * held in a PresenceStore (memory or Redis) with a heartbeat TTL, never in the database.
 * Online means holding a realtime connection (SessionConnections). Each instance keeps one
 * hub per session with local subscribers; the hub coalesces the session's cursor moves
 * (published by any instance) into one CURSORS frame per tick.
 */
export class PresenceService {
  /** Cursor moves refused by the rate limit since start (HARDENING.md: "dropped and counted"). */
  droppedCursorMoves = 0;
  private readonly hubs: HubRegistry<Subscriber, SessionHub>;
  /** The tail of each user's moves being handled on this instance, by "session user". */
  private readonly moving = new Map<string, Promise<void>>();
  private readonly abuseListeners = new Set<(abuse: CursorAbuse) => void>();
  private abuseFeed?: Promise<AsyncIterableIterator<CursorAbuse>>;
  /** Abuse reported recently by this instance (key → time), so a flood publishes ~once a second. */
  private readonly abuseReported = new Map<string, number>();

  constructor(
    private readonly access: AccessPolicy,
    private readonly connections: SessionConnections,
    private readonly feed: SessionFeed,
    private readonly bus: EventBus,
    private readonly limiter: RateLimiter,
    private readonly timing: PresenceTiming,
  ) {
    this.hubs = new HubRegistry((sessionId) => SessionHub.open(sessionId, this.bus, this.feed, this.timing));
  }

  /** Where presence lives (memory or Redis); public so tests can plant what a dead instance leaves behind. */
  get store() {
    return this.connections.store;
  }

  /**
   * A cursor move of a seated participant in an ACTIVE session. Answers false when the move
   * was dropped by the 20/s limit; sustained abuse closes the user's sockets (4429).
   */
  async moveCursor(auth: AuthContext, sessionId: string, move: { x: number; y: number; tool?: string | null; color?: string | null }): Promise<boolean> {
    const actorId = auth.requireUserIdFor(sessionId);
    const cursor: CursorPosition = { userId: actorId, x: move.x, y: move.y, tool: move.tool ?? null, color: move.color ?? null };
    // Checked before any lookup: it costs nothing and says nothing about the session.
    const bytes = Buffer.byteLength(JSON.stringify({ x: cursor.x, y: cursor.y, tool: cursor.tool, color: cursor.color }));
    if (bytes > CURSOR_LIMITS.maxPayloadBytes) {
      throw new DomainError(DomainErrorReason.PAYLOAD_TOO_LARGE, `A cursor update may be at most ${CURSOR_LIMITS.maxPayloadBytes} bytes.`, {
        maxBytes: CURSOR_LIMITS.maxPayloadBytes,
      });
    }
    return this.inOrder(`${sessionId} ${actorId}`, async () => {
      // Moves come 20 a second: one statement for a seated participant, the full check (and its
      // exact error) for anyone else.
      const seated = await this.access.seatedIn(actorId, sessionId);
      if (seated) requireStatus(seated.sessionStatus, CURSOR_STATUSES, "move a cursor");
      else {
        const access = await this.access.require(actorId, sessionId);
        requireStatus(access.session.status, CURSOR_STATUSES, "move a cursor");
        requireSeated(access);
      }
      if (!(await this.store.acceptCursor(sessionId, actorId, CURSOR_LIMITS.movesPerWindow, CURSOR_LIMITS.windowMs))) {
        this.droppedCursorMoves += 1;
        await this.noteDrop(sessionId, actorId);
        return false;
      }
      await this.store.setCursor(sessionId, cursor, this.connections.ttlMs);
      await this.bus.publish(topics.cursors(sessionId), cursor);
      return true;
    });
  }

  /**
   * Runs `work` after the earlier work of `key` on this instance: a user's moves are handled
   * in the order they arrive, so a later position is never overwritten by an earlier one
   * that was still waiting on the database.
   */
  private inOrder<T>(key: string, work: () => Promise<T>): Promise<T> {
    const run = (this.moving.get(key) ?? Promise.resolve()).then(work);
    const tail = run.then(
      () => undefined,
      () => undefined,
    );
    this.moving.set(key, tail);
    void tail.then(() => this.moving.get(key) === tail && this.moving.delete(key));
    return run;
  }

  /**
   * The presence stream of a session for a seated participant: the full state first (STATUS),
   * then JOINED/LEFT and CURSORS. It is a realtime connection of the viewer (online while it
   * runs). NOT_FOUND without access, FORBIDDEN for a kicked user (and the stream ends
   * FORBIDDEN on a kick), INVALID_STATE when not seated. While the presence store is
   * unreachable the stream still runs, from what this instance hears.
   */
  async watch(auth: AuthContext, sessionId: string): Promise<AsyncIterableIterator<PresenceFrame>> {
    const viewerId = auth.requireUserIdFor(sessionId);
    requireSeated(await this.access.require(viewerId, sessionId));
    let connection: { release(): void } | undefined;
    const subscriber: Subscriber = {
      viewerId,
      known: undefined,
      early: [],
      queue: new AsyncQueue<PresenceFrame>(
        () => {
          connection?.release();
          void joining.then((hub) => this.hubs.leave(sessionId, hub, subscriber));
        },
        SUBSCRIBER_BUFFER,
        resyncRequired,
      ),
    };
    const joining = this.hubs.join(sessionId, subscriber);
    const hub = await joining;
    try {
      connection = await this.connections.hold(sessionId, viewerId);
      if (subscriber.queue.closed) connection.release();
      const state = await this.store.state(sessionId).catch((): PresenceState => ({ onlineUserIds: [viewerId], cursors: [] }));
      subscriber.known = new Set(state.onlineUserIds);
      subscriber.queue.push({ sessionId, kind: PresenceKind.STATUS, userId: null, cursors: state.cursors, onlineUserIds: [...subscriber.known] });
      // Changes that arrived while the state was read: those it already shows are dropped.
      for (const change of subscriber.early.splice(0)) hub.deliver(subscriber, change);
    } catch (err) {
      await subscriber.queue.return();
      throw err;
    }
    return subscriber.queue;
  }

  /**
   * Calls `listener` when any instance reports cursor abuse (the WebSocket server closes the
   * user's sockets with 4429). Answers a function that stops listening.
   */
  onCursorAbuse(listener: (abuse: CursorAbuse) => void): () => void {
    this.abuseListeners.add(listener);
    if (!this.abuseFeed) {
      const feed = this.bus.subscribe(topics.cursorAbuse());
      this.abuseFeed = feed;
      void feed
        .then(async (iterator) => {
          for await (const abuse of iterator) for (const l of this.abuseListeners) l(abuse);
        })
        .catch(() => undefined);
    }
    return () => {
      this.abuseListeners.delete(listener);
      if (this.abuseListeners.size > 0 || !this.abuseFeed) return;
      void this.abuseFeed.then((iterator) => iterator.return?.()).catch(() => undefined);
      this.abuseFeed = undefined;
    };
  }

  private async noteDrop(sessionId: string, userId: string): Promise<void> {
    const key = `cursor-drops:${sessionId}:${userId}`;
    const decision = await this.limiter.hit(key, CURSOR_LIMITS.abuseDrops, CURSOR_LIMITS.abuseWindowMs);
    if (decision.allowed) return;
    const now = Date.now();
    if ((this.abuseReported.get(key) ?? 0) > now - 1000) return;
    for (const [k, at] of this.abuseReported) if (at <= now - 1000) this.abuseReported.delete(k);
    this.abuseReported.set(key, now);
    await this.bus.publish(topics.cursorAbuse(), { userId, sessionId });
  }
}

interface Subscriber {
  viewerId: string;
  queue: AsyncQueue<PresenceFrame>;
  /** Who the subscriber knows to be online; undefined until its STATUS frame is out. */
  known: Set<string> | undefined;
  /** Membership changes that arrived before the STATUS frame. */
  early: PresenceChange[];
}

/**
 * One session on one instance: a single pub/sub subscription per topic shared by the local
 * subscribers and the cursor coalescer, and one listener on the session's timeline (kicks
 * and the final status end streams).
 */
class SessionHub {
  readonly members = new Set<Subscriber>();
  /** Latest position of each user that moved since the last frame. */
  private readonly pending = new Map<string, CursorPosition>();
  private lastFrameAt = -Infinity;
  private flushTimer?: NodeJS.Timeout;
  private closed = false;
  private readonly cleanup: Array<() => void> = [];

  private constructor(
    private readonly sessionId: string,
    private readonly tickMs: number,
  ) {}

  static async open(sessionId: string, bus: EventBus, feed: SessionFeed, timing: PresenceTiming): Promise<SessionHub> {
    const hub = new SessionHub(sessionId, timing.cursorTickMs);
    // Subscribed before the first subscriber reads the state, so no change falls in between.
    const [changes, cursors] = await Promise.all([bus.subscribe(topics.presence(sessionId)), bus.subscribe(topics.cursors(sessionId))]);
    hub.cleanup.push(() => void changes.return?.(), () => void cursors.return?.());
    const timeline: TimelineListener = { handled: 0, early: null, take: (event) => hub.onTimeline(event), fail: () => hub.endAll() };
    try {
      hub.cleanup.push(await feed.attach(sessionId, timeline));
    } catch (err) {
      hub.close();
      throw err;
    }
    hub.pump(changes, (change) => hub.members.forEach((s) => hub.deliver(s, change)));
    hub.pump(cursors, (cursor) => hub.coalesce(cursor));
    return hub;
  }

  /** A JOINED/LEFT to one subscriber, only when it changes what the subscriber knows. */
  deliver(subscriber: Subscriber, change: PresenceChange): void {
    const known = subscriber.known;
    if (!known) return void subscriber.early.push(change);
    if (change.kind === "JOINED" ? known.has(change.userId) : !known.has(change.userId)) return;
    if (change.kind === "JOINED") known.add(change.userId);
    else known.delete(change.userId);
    subscriber.queue.push({
      sessionId: this.sessionId,
      kind: change.kind === "JOINED" ? PresenceKind.JOINED : PresenceKind.LEFT,
      userId: change.userId,
      cursors: [],
      onlineUserIds: [...known],
    });
  }

  get isClosed(): boolean {
    return this.closed;
  }

  close(): void {
    this.closed = true;
    clearTimeout(this.flushTimer);
    for (const stop of this.cleanup.splice(0)) stop();
  }

  /** The timeline listener fell behind (cannot happen for a listener that never buffers): end every stream. */
  private endAll(): void {
    for (const subscriber of this.members) subscriber.queue.fail(resyncRequired());
  }

  private pump<T>(source: AsyncIterableIterator<T>, handle: (value: T) => void): void {
    void (async () => {
      for await (const value of source) {
        if (this.closed) return;
        handle(value);
      }
    })().catch(() => undefined);
  }

  /**
   * Keeps the latest position per user and schedules one frame no sooner than a tick after
   * the previous one, however many instances publish moves.
   */
  private coalesce(cursor: CursorPosition): void {
    this.pending.set(cursor.userId, cursor);
    if (!this.flushTimer) this.schedule();
  }

  private schedule(): void {
    // performance.now, not Date.now: whole milliseconds would let a frame out ~1 ms early.
    const wait = Math.max(0, this.lastFrameAt + this.tickMs - performance.now());
    this.flushTimer = setTimeout(() => this.flush(), Math.ceil(wait));
    this.flushTimer.unref();
  }

  private flush(): void {
    this.flushTimer = undefined;
    if (this.closed || this.pending.size === 0) return;
    // Timers may fire a fraction of a millisecond early: never a frame before its tick.
    if (performance.now() < this.lastFrameAt + this.tickMs) return this.schedule();
    this.lastFrameAt = performance.now();
    const cursors = [...this.pending.values()];
    this.pending.clear();
    for (const subscriber of this.members) {
      // Before its STATUS frame a subscriber gets the positions from the store instead.
      if (!subscriber.known) continue;
      subscriber.queue.push({ sessionId: this.sessionId, kind: PresenceKind.CURSORS, userId: null, cursors, onlineUserIds: [...subscriber.known] });
    }
  }

  /** A kick ends the kicked user's stream FORBIDDEN; the session's final status ends every stream. */
  private onTimeline(event: TimelineMessage): void {
    for (const subscriber of this.members) {
      const step = systemEventStep(event, subscriber.viewerId);
      if (step.end === "forbidden") subscriber.queue.fail(forbidden("You were removed from this session."));
      else if (step.end === "complete") subscriber.queue.end();
    }
  }
}
