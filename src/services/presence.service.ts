import type { AccessPolicy } from "../auth/access";
import type { AuthContext } from "../auth/auth-context";
import { requireSeated } from "../auth/session-policy";
import { DomainError, DomainErrorReason } from "../domain/errors";
import type { Metrics } from "../infra/metrics";
import { SlidingWindowLimit } from "../infra/sliding-window";
import type { EventBus } from "../realtime/event-bus";
import { HubRegistry } from "../realtime/hubs";
import { queuedStream, type LiveStream, type OpenLiveStream, type SubscriberBuffer } from "../realtime/live-stream";
import type { CursorAbuse, CursorPosition, PresenceStore } from "../realtime/presence";
import { topics } from "../realtime/topics";
import type { SessionConnections } from "./connections";
import { CursorOutbox, cursorJsonBound, cursorJsonBytes } from "./cursor-outbox";
import { PresenceHub, presenceResync, type PresenceFrame, type PresenceSubscriber } from "./presence-hub";
import { SeatCache } from "./seat-cache";
import type { SessionFeed } from "./session-feed.service";
import { allowedIn, requireStatus } from "./session-lifecycle";
import type { SessionStore } from "./session-store";

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
  private readonly hubs: HubRegistry<PresenceSubscriber, PresenceHub>;
  /** The open hub of each session, for the positions accepted on this instance. */
  private readonly openHubs = new Map<string, PresenceHub>();
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
      PresenceHub.open(sessionId, {
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
    const subscriber: PresenceSubscriber = {
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
        overflow: presenceResync,
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
