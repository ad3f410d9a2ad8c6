import type { AccessPolicy } from "../auth/access";
import type { AuthContext } from "../auth/auth-context";
import type { Metrics } from "../infra/metrics";
import type { EventBus } from "../realtime/event-bus";
import { HubRegistry } from "../realtime/hubs";
import { queuedStream, type LiveStream, type OpenLiveStream, type SubscriberBuffer } from "../realtime/live-stream";
import type { CursorAbuse, CursorBatch, CursorPosition, PresenceChange, PresenceState, PresenceStore } from "../realtime/presence";
import { TickThrottle } from "../realtime/tick-throttle";
import { topics } from "../realtime/topics";
import type { SessionConnections } from "./connections";
import { DomainError, DomainErrorReason } from "../domain/errors";
import { kickedError, requireSeated } from "../auth/session-policy";
import { SlidingWindowLimit } from "../infra/sliding-window";
import { SeatCache } from "./seat-cache";
import { allowedIn, requireStatus } from "./session-lifecycle";
import type { SessionFeed, TimelineListener } from "./session-feed";
import type { SessionStore } from "./session-store";
import { seatedStreamEnd } from "./system-events";
import type { TimelineMessage } from "../realtime/messages";

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
  /** Who is online after this frame (this instance's view of the session, the same for every subscriber). */
  onlineUserIds: string[];
}

/** The window of the cursor rate (CURSOR_RATE_PER_USER is moves a second). */
const CURSOR_WINDOW_MS = 1000;
/** The window in which CURSOR_ABUSE_DROPS dropped moves are sustained abuse. */
const CURSOR_ABUSE_WINDOW_MS = 10_000;

/** Cursors, like board writes and signals, only while the session is ACTIVE (RULES.md). */
const CURSOR_STATUSES = allowedIn.board;

/** What presence is configured with (src/config.ts): timing and the HARDENING.md cursor limits. */
export interface PresenceSettings {
  cursorTickMs: number;
  /** CURSOR_RATE_PER_USER: accepted moves a second per user per session (20). */
  cursorMovesPerSecond: number;
  /** CURSOR_ABUSE_DROPS: more drops than this within 10 s closes the user's sockets with 4429 (100). */
  cursorAbuseDropsPer10s: number;
  /** MAX_CURSOR_PAYLOAD_BYTES: a cursor update as JSON (2 KiB); PAYLOAD_TOO_LARGE beyond. */
  maxCursorPayloadBytes: number;
  /** SUBSCRIBER_BUFFER_FRAMES/BYTES of a presence stream. */
  subscriberBuffer: SubscriberBuffer;
}

function resyncRequired(): DomainError {
  return new DomainError(DomainErrorReason.RESYNC_REQUIRED, "This subscriber fell too far behind: subscribe again for the full state.");
}

/**
 * Presence and live cursors (R3): who is online in a session and where their cursor is,
 * held in a PresenceStore (memory or Redis) with a heartbeat TTL, never in the database.
 * Online means holding a realtime connection (SessionConnections).
 *
 * A cursor move is the hot path (issue 10, "cursors that keep up"): no statement for a mover
 * known to be seated (SeatCache), no round trip for the rate limit (counted where the moves
 * come), and neither a store call nor a publish of its own: each instance saves and publishes
 * the positions it accepted once per tick per session (CursorOutbox). Each instance keeps one hub per session with local subscribers,
 * which coalesces every instance's positions into one CURSORS frame per tick, shared by all
 * of its subscribers.
 */
export class PresenceService {
  /** Cursor moves refused by the rate limit since start; operators read metrics.cursorMovesDropped. */
  droppedCursorMoves = 0;
  private readonly hubs: HubRegistry<Subscriber, SessionHub>;
  /** The open hub of each session, for the positions accepted on this instance. */
  private readonly openHubs = new Map<string, SessionHub>();
  /** Positions accepted here and not yet published, by session. */
  private readonly outboxes = new Map<string, CursorOutbox>();
  private readonly seats: SeatCache;
  /**
   * The 20/s limit (CURSOR_RATE_PER_USER), on the instance the moves come to (HARDENING.md):
   * it guards this instance's work, and costs no round trip. Moves of one user through
   * several instances cost nobody else more: every instance delivers at most one frame per tick.
   */
  private readonly moves: SlidingWindowLimit;
  /** Dropped moves, counted where they are dropped: sustained abuse closes the user's sockets (4429). */
  private readonly drops: SlidingWindowLimit;
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
    commits: Pick<SessionStore, "onCommit">,
    private readonly bus: EventBus,
    private readonly settings: PresenceSettings,
    private readonly metrics: Pick<Metrics, "cursorMovesDropped">,
    private readonly onError: (err: unknown) => void = () => undefined,
  ) {
    this.moves = new SlidingWindowLimit(settings.cursorMovesPerSecond, CURSOR_WINDOW_MS);
    this.drops = new SlidingWindowLimit(settings.cursorAbuseDropsPer10s, CURSOR_ABUSE_WINDOW_MS);
    this.seats = new SeatCache(access, feed, commits);
    this.hubs = new HubRegistry((sessionId) =>
      SessionHub.open(sessionId, {
        bus: this.bus,
        feed: this.feed,
        store: this.store,
        tickMs: this.settings.cursorTickMs,
        opened: (hub) => this.openHubs.set(sessionId, hub),
        closed: (hub) => this.openHubs.get(sessionId) === hub && this.openHubs.delete(sessionId),
      }),
    );
  }

  /** Where presence lives (memory or Redis); public so tests can plant what a dead instance leaves behind. */
  get store(): PresenceStore {
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
    const maxBytes = this.settings.maxCursorPayloadBytes;
    if (cursorJsonBound(cursor) > maxBytes && cursorJsonBytes(cursor) > maxBytes) {
      throw new DomainError(DomainErrorReason.PAYLOAD_TOO_LARGE, `A cursor update may be at most ${maxBytes} bytes.`, { maxBytes });
    }
    const key = `${sessionId} ${actorId}`;
    // The limit judges the client's rate: moves count from when they came, not from when a
    // seat check let them through (those queued behind one would all count at once).
    const arrivedAt = Date.now();
    // A known seat and none of the user's moves still waiting: decided at once, in order.
    if (!this.moving.has(key) && this.seats.has(sessionId, actorId)) return this.place(key, sessionId, cursor, arrivedAt);
    return this.inOrder(key, async () => {
      if (!this.seats.has(sessionId, actorId)) await this.requireMover(actorId, sessionId);
      return this.place(key, sessionId, cursor, arrivedAt);
    });
  }

  /** A move of a seated mover: shared when under the limit, else dropped and counted (nothing to wait for either way). */
  private place(key: string, sessionId: string, cursor: CursorPosition, arrivedAt: number): boolean {
    if (this.moves.accept(key, arrivedAt)) {
      this.share(sessionId, cursor);
      return true;
    }
    this.droppedCursorMoves += 1;
    this.metrics.cursorMovesDropped.inc();
    this.noteDrop(key, sessionId, cursor.userId);
    return false;
  }

  /**
   * Stops following timelines and publishing (instance shutdown); open presence streams are
   * ended by their transport.
   */
  close(): void {
    this.seats.close();
    this.moves.close();
    this.drops.close();
    for (const outbox of this.outboxes.values()) outbox.stop();
    this.outboxes.clear();
  }

  /** The seat check of a mover not known to be seated: one statement, the full check (and its exact error) for anyone else. */
  private async requireMover(actorId: string, sessionId: string): Promise<void> {
    const seated = await this.seats.seatedIn(actorId, sessionId);
    if (seated) return requireStatus(seated.sessionStatus, CURSOR_STATUSES, "move a cursor");
    const access = await this.access.require(actorId, sessionId);
    requireStatus(access.session.status, CURSOR_STATUSES, "move a cursor");
    requireSeated(access);
  }

  /** An accepted position: to this instance's hub now, to the other instances with the tick's batch. */
  private share(sessionId: string, cursor: CursorPosition): void {
    this.openHubs.get(sessionId)?.hear(cursor);
    let outbox = this.outboxes.get(sessionId);
    if (!outbox) {
      const created = new CursorOutbox(
        this.settings.cursorTickMs,
        (cursors) => {
          void this.store.saveCursors(sessionId, cursors, this.connections.ttlMs).catch(this.onError);
          void this.bus.announce(topics.cursors(sessionId), { cursors }).catch(this.onError);
        },
        () => this.outboxes.get(sessionId) === created && this.outboxes.delete(sessionId),
      );
      this.outboxes.set(sessionId, (outbox = created));
    }
    outbox.add(cursor);
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
   * FORBIDDEN on a kick), INVALID_STATE when not seated; the stream completes when the
   * viewer leaves or is disconnected. While the presence store is unreachable the stream
   * still runs, from what this instance hears.
   *
   * The stream is opened with `open` (the transport's; a plain queue by default). JOINED,
   * LEFT and CURSORS frames are one object per change or tick, pushed to every subscriber of
   * the session on this instance (LiveStream sharing contract); STATUS is the viewer's own.
   */
  async watch(auth: AuthContext, sessionId: string, open: OpenLiveStream = queuedStream): Promise<LiveStream<PresenceFrame>> {
    const viewerId = auth.requireUserIdFor(sessionId);
    const access = await this.access.require(viewerId, sessionId);
    requireSeated(access);
    let connection: { release(): void } | undefined;
    const subscriber: Subscriber = {
      viewerId,
      // The session row was read before the seat: every event up to its lastSeq came before the check.
      checkedAtSeq: access.session.lastSeq,
      ready: false,
      stream: open<PresenceFrame>({
        scope: sessionId,
        onClose: () => {
          connection?.release();
          void joining.then(
            (hub) => this.hubs.leave(sessionId, hub, subscriber),
            () => undefined,
          );
        },
        overflow: resyncRequired,
        buffer: this.settings.subscriberBuffer,
      }),
    };
    const joining = this.hubs.join(sessionId, subscriber);
    try {
      const hub = await joining;
      // The hub took events this subscriber missed (after its check, before it joined): one
      // of them may have ended the seat, so it is checked again.
      if (hub.timelineSeq > subscriber.checkedAtSeq) requireSeated(await this.access.require(viewerId, sessionId));
      connection = await this.connections.hold(sessionId, viewerId);
      if (subscriber.stream.closed) connection.release();
      // A viewer with presence open is about to move a cursor: its seat is known before its
      // STATUS frame, so even its first moves cost no statement (a failed lookup leaves them
      // to look it up themselves).
      if (!this.seats.has(sessionId, viewerId)) await this.seats.seatedIn(viewerId, sessionId).catch(() => undefined);
      await hub.admit(subscriber);
    } catch (err) {
      // Closed, so a transport's stream never outlives a refused subscription.
      await subscriber.stream.return?.();
      throw err;
    }
    return subscriber.stream;
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

  /** A dropped move: past CURSOR_ABUSE_DROPS within the window, reported (about once a second) so every instance closes the user's sockets. */
  private noteDrop(key: string, sessionId: string, userId: string): void {
    if (this.drops.accept(key)) return;
    const now = Date.now();
    if ((this.abuseReported.get(key) ?? 0) > now - 1000) return;
    for (const [k, at] of this.abuseReported) if (at <= now - 1000) this.abuseReported.delete(k);
    this.abuseReported.set(key, now);
    void this.bus.publish(topics.cursorAbuse(), { userId, sessionId }).catch(this.onError);
  }
}

/** The size of a cursor update as JSON, as MAX_CURSOR_PAYLOAD_BYTES counts it. */
function cursorJsonBytes(cursor: CursorPosition): number {
  return Buffer.byteLength(JSON.stringify({ x: cursor.x, y: cursor.y, tool: cursor.tool, color: cursor.color }));
}

/**
 * An upper bound of cursorJsonBytes that costs no serialization: the keys, two numbers of at
 * most 24 characters, and at most 6 bytes per UTF-16 unit of a string (a `\uXXXX` escape).
 */
function cursorJsonBound(cursor: CursorPosition): number {
  const text = (value: string | null) => (value === null ? 4 : 2 + 6 * value.length);
  return 28 + 24 + 24 + text(cursor.tool) + text(cursor.color);
}

/**
 * The positions one instance accepted for one session, saved and announced as one batch per tick
 * (the last position of each user), not once per move. Ends itself after a quiet tick, so
 * only sessions with moving cursors hold one, and never publishes twice within a tick.
 */
class CursorOutbox {
  private readonly pending = new Map<string, CursorPosition>();
  private readonly throttle: TickThrottle;

  constructor(
    tickMs: number,
    private readonly publish: (cursors: CursorPosition[]) => void,
    private readonly ended: () => void,
  ) {
    this.throttle = new TickThrottle(tickMs, () => this.flush());
  }

  /** Queues `cursor` for this tick's batch; a later position of the same user replaces it. */
  add(cursor: CursorPosition): void {
    // Deleted first so the batch lists users in the order of their latest moves.
    this.pending.delete(cursor.userId);
    this.pending.set(cursor.userId, cursor);
    this.throttle.request();
  }

  stop(): void {
    this.throttle.stop();
  }

  private flush(): void {
    if (this.pending.size === 0) {
      this.stop();
      this.ended();
      return;
    }
    const cursors = [...this.pending.values()];
    this.pending.clear();
    this.publish(cursors);
    // One more tick: the next batch, or the quiet tick that ends this outbox.
    this.throttle.request();
  }
}

interface Subscriber {
  viewerId: string;
  /** The timeline seq the viewer's seat was checked at: earlier events say nothing about this stream. */
  checkedAtSeq: number;
  stream: LiveStream<PresenceFrame>;
  /** Set once its STATUS frame is out; only then does it get the hub's shared frames. */
  ready: boolean;
}

interface HubDeps {
  bus: EventBus;
  feed: SessionFeed;
  store: PresenceStore;
  tickMs: number;
  opened(hub: SessionHub): void;
  closed(hub: SessionHub): void;
}

/**
 * One session on one instance: a single pub/sub subscription per topic shared by the local
 * subscribers, one listener on the session's timeline (kicks, leaves, disconnects and the
 * final status end streams), and the instance's view of the session that every frame shows:
 * who is online and the last position of each user. Frames other than STATUS are built once
 * and pushed, the same object, to every subscriber; they are never changed afterwards.
 *
 * Who is online is a set kept here, not one per subscriber: a JOINED for someone already in
 * it (or a LEFT for someone not in it) changes nothing and emits nothing, so every
 * subscriber hears each change once, whatever order the store read and pub/sub come in.
 */
class SessionHub {
  readonly members = new Set<Subscriber>();
  private online = new Set<string>();
  /** The last position heard of each user (STATUS shows those of online users). */
  private readonly positions = new Map<string, CursorPosition>();
  /** Positions heard since the last CURSORS frame. */
  private readonly pending = new Map<string, CursorPosition>();
  /** While the store is read: the JOINED/LEFT heard meanwhile, applied on top of what it answers. */
  private reading?: { changes: PresenceChange[] };
  private syncing: Promise<unknown> = Promise.resolve();
  private readonly frames: TickThrottle;
  private closed = false;
  private readonly cleanup: Array<() => void> = [];
  private readonly timeline: TimelineListener = { handled: 0, early: null, take: (event) => this.onTimeline(event), fail: () => this.endAll() };

  private constructor(
    private readonly sessionId: string,
    private readonly deps: HubDeps,
  ) {
    this.frames = new TickThrottle(deps.tickMs, () => this.flush());
  }

  static async open(sessionId: string, deps: HubDeps): Promise<SessionHub> {
    const hub = new SessionHub(sessionId, deps);
    // Subscribed before the first subscriber reads the state, so no change falls in between.
    const [changes, cursors] = await Promise.all([deps.bus.subscribe(topics.presence(sessionId)), deps.bus.subscribe(topics.cursors(sessionId))]);
    hub.cleanup.push(
      () => void changes.return?.(),
      () => void cursors.return?.(),
    );
    try {
      hub.cleanup.push(await deps.feed.attach(sessionId, hub.timeline));
    } catch (err) {
      hub.close();
      throw err;
    }
    hub.pump(changes, (change) => hub.change(change));
    hub.pump(cursors, (batch: CursorBatch) => {
      for (const cursor of batch.cursors) hub.hear(cursor);
    });
    deps.opened(hub);
    return hub;
  }

  get isClosed(): boolean {
    return this.closed;
  }

  /** The seq of the last timeline event the hub took. */
  get timelineSeq(): number {
    return this.timeline.handled;
  }

  close(): void {
    this.closed = true;
    this.frames.stop();
    this.deps.closed(this);
    for (const stop of this.cleanup.splice(0)) stop();
  }

  /**
   * Brings the hub's view up to date with the store (the subscriber's own connection
   * included), then gives the subscriber its STATUS frame and, from then on, the shared ones.
   * The STATUS frame is taken from the hub's view in the same turn as the subscriber becomes
   * ready, so it misses nothing and repeats nothing.
   */
  async admit(subscriber: Subscriber): Promise<void> {
    const read = await this.sync();
    // Without the store, the viewer's own connection is all we know for sure.
    if (!read) this.apply({ kind: "JOINED", userId: subscriber.viewerId });
    const cursors = [...this.positions.values()].filter((c) => this.online.has(c.userId));
    subscriber.stream.push({ sessionId: this.sessionId, kind: PresenceKind.STATUS, userId: null, cursors, onlineUserIds: [...this.online] });
    subscriber.ready = true;
  }

  /** A position accepted on some instance: the last of each user goes out with the next tick's frame. */
  hear(cursor: CursorPosition): void {
    this.positions.set(cursor.userId, cursor);
    this.pending.set(cursor.userId, cursor);
    if (!this.closed) this.frames.request();
  }

  /** A JOINED/LEFT heard: one shared frame when it changes who is online. */
  private change(change: PresenceChange): void {
    if (this.reading) return void this.reading.changes.push(change);
    this.apply(change);
  }

  private apply({ kind, userId }: PresenceChange): void {
    if (kind === "JOINED" ? this.online.has(userId) : !this.online.has(userId)) return;
    if (kind === "JOINED") this.online.add(userId);
    else {
      this.online.delete(userId);
      this.positions.delete(userId);
    }
    this.broadcast({
      sessionId: this.sessionId,
      kind: kind === "JOINED" ? PresenceKind.JOINED : PresenceKind.LEFT,
      userId,
      cursors: [],
      onlineUserIds: [...this.online],
    });
  }

  /**
   * Reads who is online (and their cursors) from the store and makes it the hub's view,
   * with a JOINED/LEFT frame for each difference; the changes heard during the read are applied
   * on top, as they may be newer. The store's cursors only fill in users not heard since the
   * hub opened: a position heard here is never older than the store's, which each instance
   * saves once per tick, when it publishes the same batch. One read at a time. Answers false
   * when the store failed.
   */
  private sync(): Promise<boolean> {
    const run = this.syncing.then(async () => {
      const reading = (this.reading = { changes: [] });
      const state = await this.deps.store.state(this.sessionId).catch((): PresenceState | undefined => undefined);
      this.reading = undefined;
      if (state) {
        const online = new Set(state.onlineUserIds);
        for (const userId of this.online) if (!online.has(userId)) this.apply({ kind: "LEFT", userId });
        for (const userId of online) this.apply({ kind: "JOINED", userId });
        for (const cursor of state.cursors) if (!this.positions.has(cursor.userId)) this.positions.set(cursor.userId, cursor);
      }
      for (const change of reading.changes) this.apply(change);
      return state !== undefined;
    });
    this.syncing = run;
    return run;
  }

  /** The tick's CURSORS frame: one object for every ready subscriber. */
  private flush(): void {
    if (this.closed || this.pending.size === 0) return;
    const cursors = [...this.pending.values()];
    this.pending.clear();
    this.broadcast({ sessionId: this.sessionId, kind: PresenceKind.CURSORS, userId: null, cursors, onlineUserIds: [...this.online] });
  }

  /** Pushes `frame`, the same object, to every subscriber whose STATUS is out (the others' STATUS will include it). */
  private broadcast(frame: PresenceFrame): void {
    for (const subscriber of this.members) if (subscriber.ready) subscriber.stream.push(frame);
  }

  /** The timeline listener fell behind (cannot happen for a listener that never buffers): end every stream. */
  private endAll(): void {
    for (const subscriber of this.members) subscriber.stream.fail(resyncRequired());
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
   * A kick ends the kicked user's stream FORBIDDEN, leaving or being disconnected completes
   * the user's streams, the session's final status completes every stream (seatedStreamEnd).
   */
  private onTimeline(event: TimelineMessage): void {
    for (const subscriber of this.members) {
      if (event.seq <= subscriber.checkedAtSeq) continue;
      const end = seatedStreamEnd(event, subscriber.viewerId);
      if (end === "forbidden") subscriber.stream.fail(kickedError());
      else if (end === "complete") subscriber.stream.end();
    }
  }
}
