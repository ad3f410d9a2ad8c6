import { kickedError } from "../auth/session-policy";
import { resyncRequired, type ResyncReason } from "../domain/errors";
import type { EventBus } from "../realtime/event-bus";
import type { LiveStream } from "../realtime/live-stream";
import type { TimelineMessage } from "../realtime/messages";
import type { CursorBatch, CursorPosition, PresenceChange, PresenceState, PresenceStore } from "../realtime/presence";
import { TickThrottle } from "../realtime/tick-throttle";
import { topics } from "../realtime/topics";
import { TRACE, type Traced } from "../realtime/traced-publish";
import { startDeliverySpan, tracingOn, withSpan } from "../infra/tracing";
import type { SessionFeed } from "./session-feed.service";
import type { TimelineListener } from "./timeline-hub";
import { seatedStreamEnd } from "./system-events";

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

/** How a presence subscriber that fell behind catches up: its next STATUS frame has everything. */
export const presenceResync = (reason?: ResyncReason) => resyncRequired(undefined, "subscribe again for the full state", reason);

export interface PresenceSubscriber {
  viewerId: string;
  /** The timeline seq the viewer's seat was checked at: earlier events say nothing about this stream. */
  checkedAtSeq: number;
  stream: LiveStream<PresenceFrame>;
  /** Set once its STATUS frame is out; only then does it get the hub's shared frames. */
  ready: boolean;
}

export interface PresenceHubDeps {
  bus: EventBus;
  feed: SessionFeed;
  store: PresenceStore;
  tickMs: number;
  opened(hub: PresenceHub): void;
  closed(hub: PresenceHub): void;
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
export class PresenceHub {
  readonly members = new Set<PresenceSubscriber>();
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
    private readonly deps: PresenceHubDeps,
  ) {
    this.frames = new TickThrottle(deps.tickMs, () => this.flush());
  }

  static async open(sessionId: string, deps: PresenceHubDeps): Promise<PresenceHub> {
    const hub = new PresenceHub(sessionId, deps);
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
    hub.pump("presence", changes, (change) => hub.change(change));
    hub.pump("cursors", cursors, (batch: CursorBatch) => {
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
  async admit(subscriber: PresenceSubscriber): Promise<void> {
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
    for (const subscriber of this.members) subscriber.stream.fail(presenceResync("fell_behind"));
  }

  /** Hands each message of `source` to `handle`, inside its delivery span when it carries a publish span's context. */
  private pump<T>(kind: string, source: AsyncIterableIterator<T>, handle: (value: T) => void): void {
    void (async () => {
      for await (const value of source) {
        if (this.closed) return;
        const traceparent = tracingOn() ? (value as Traced)[TRACE] : undefined;
        const span = traceparent && startDeliverySpan(kind, traceparent, { "classroom.listeners": this.members.size });
        if (!span) handle(value);
        else {
          try {
            withSpan(span, () => handle(value));
          } finally {
            span.end();
          }
        }
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
