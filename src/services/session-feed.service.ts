import type { DataSource } from "typeorm";
import type { AccessPolicy } from "../auth/access";
import type { AuthContext } from "../auth/auth-context";
import type { EventBus } from "../realtime/event-bus";
import { HubRegistry } from "../realtime/hubs";
import { queuedStream, type LiveStream, type OpenLiveStream, type SubscriberBuffer } from "../realtime/live-stream";
import type { SessionConnections } from "./connections";
import { resyncRequired } from "../domain/errors";
import { isSeated } from "../entities/participant.entity";
import type { SessionStore } from "./session-store";
import { toMessage } from "./timeline";
import { CATCH_UP_PAGE, RELOAD, TimelineHub, caughtUp, pass, readEvents, type Redelivered, type TimelineListener } from "./timeline-hub";
import { type TimelineMessage } from "../realtime/messages";
import { topics, type CommittedEvents, type Notice } from "../realtime/topics";
import { TRACE } from "../realtime/traced-publish";
import { kickedError, readsReport } from "../auth/session-policy";

/** What one timeline event means to a stream: an item to deliver, and whether the stream ends. */
export interface FeedStep<T> {
  item?: T;
  /** An in-app notice the event brings this viewer (a report ready), delivered after `item`. */
  notice?: T;
  /** "complete": the stream ends normally after the item; "forbidden": it ends with FORBIDDEN. */
  end?: "complete" | "forbidden";
}

/** Who a stream is for, as far as what it delivers depends on it. */
export interface FeedViewer {
  id: string;
  /** Whether the viewer may read the lesson's report (session-policy mayReport). */
  readsReport: boolean;
}

/**
 * How one kind of stream reads a session: what each timeline event means to the viewer, and
 * (for the streams that carry them) what an in-app notice becomes. Both answer the same item
 * object for every viewer who sees the same thing, so a shared stream (`open`) executes it
 * once for all of them.
 */
export interface FeedReader<T> {
  step(event: TimelineMessage, viewer: FeedViewer): FeedStep<T>;
  notice?(notice: Notice, sessionId: string): T;
}

export interface FeedOptions {
  /** A resume further behind than this is RESYNC_REQUIRED (BACKFILL_MAX). */
  backfillMax: number;
  /** How often each instance publishes the latest seq of every session it delivers (5 s). */
  heartbeatMs: number;
  /** SUBSCRIBER_BUFFER_FRAMES/BYTES: how much a subscriber may have waiting before RESYNC_REQUIRED. */
  subscriberBuffer: SubscriberBuffer;
  /** Told of events read back from the timeline for delivery (delivery_retry_total). */
  retried?: Redelivered;
}

/**
 * A session's timeline as subscribers see it (boardEvents, systemEvents, and the kicks and
 * final status that end presence and signal streams): recorded events after `afterSeq`
 * first, then live ones, in seq order with no gap and no duplicate.
 *
 * Postgres is the truth and pub/sub only announces. Each instance keeps one hub per session
 * with local subscribers (RULES.md "Delivery"): one pub/sub subscription, one position in the
 * timeline and one read to fill a gap, shared by every local subscriber. A hub reads the
 * missing events when an announcement skips ahead (a message lost in a Redis blip, or two
 * instances publishing out of order), after the bus subscribed again, and when a latest-seq
 * heartbeat (every instance publishes one per live session every 5 s) shows it behind, so a
 * quiet subscriber still gets a lost last message.
 */
export class SessionFeed {
  private readonly hubs: HubRegistry<TimelineListener, TimelineHub>;

  constructor(
    private readonly db: DataSource,
    private readonly bus: EventBus,
    private readonly access: AccessPolicy,
    private readonly connections: SessionConnections,
    private readonly options: FeedOptions,
    commits: Pick<SessionStore, "onCommit">,
    private readonly onError: (err: unknown) => void = () => undefined,
  ) {
    this.hubs = new HubRegistry((sessionId) => TimelineHub.open(sessionId, this.db, this.bus, this.options, this.onError));
    // This instance's commits reach its hubs from here, not through the bus (which announces
    // them to the other instances only). A hub still opening may have read the timeline's end
    // before the commit: it hears it once open (an event it has already is skipped by seq).
    commits.onCommit((sessionId, events, trace) => {
      const announcement: CommittedEvents = trace ? { sessionId, events, [TRACE]: trace } : { sessionId, events };
      const hub = this.hubs.current(sessionId);
      if (hub) hub.hear(announcement);
      else
        void this.hubs.opening(sessionId)?.then(
          (opened) => opened.hear(announcement),
          () => undefined,
        );
    });
  }

  /** Sessions whose timeline this instance follows. */
  get hubCount(): number {
    return this.hubs.size;
  }

  /**
   * Hands `notice` to everyone who follows the session's notices now, on every instance
   * (RULES.md: delivered, never recorded; whoever is not connected does not get it).
   */
  async notify(sessionId: string, notice: Notice): Promise<void> {
    const announcement = { sessionId, notice };
    this.hubs.current(sessionId)?.hear(announcement);
    await this.bus.announce(topics.sessionTimeline(sessionId), announcement);
  }

  /**
   * The stream `reader` makes of the session for the viewer. NOT_FOUND without access (no
   * event leaks), FORBIDDEN for a kicked user. More than BACKFILL_MAX events behind, or more
   * than SUBSCRIBER_BUFFER_FRAMES items waiting, is RESYNC_REQUIRED (reload, then resume from
   * the latest seq). A seated participant's subscription is their realtime connection (CONNECTED).
   */
  async watch<T>(
    auth: AuthContext,
    sessionId: string,
    afterSeq: number | null | undefined,
    reader: FeedReader<T>,
    open: OpenLiveStream = queuedStream,
  ): Promise<LiveStream<T>> {
    const viewerId = auth.requireUserIdFor(sessionId);
    const access = await this.access.require(viewerId, sessionId);
    const viewer: FeedViewer = { id: viewerId, readsReport: readsReport(access) };
    let detach = () => undefined as void;
    const out = open<T>({
      scope: sessionId,
      onClose: () => detach(),
      overflow: () => resyncRequired(undefined, RELOAD),
      buffer: this.options.subscriberBuffer,
    });
    const listener: TimelineListener = {
      handled: 0,
      early: [],
      take: (event) => {
        const step = reader.step(event, viewer);
        if (step.item !== undefined) out.push(step.item);
        if (step.notice !== undefined) out.push(step.notice);
        if (step.end === "forbidden") out.fail(kickedError());
        else if (step.end === "complete") out.end();
      },
      fail: (error) => out.fail(error),
    };
    const { notice } = reader;
    if (notice) listener.notice = (n) => (n.to && !n.to.includes(viewerId) ? undefined : out.push(notice(n, sessionId)));
    listener.room = async () => {
      await out.drained();
      return !out.closed;
    };
    try {
      detach = await this.attach(sessionId, listener, afterSeq ?? undefined);
    } catch (err) {
      await out.return?.(); // a transport's stream must not outlive a refused subscription
      throw err;
    }
    // Ended while it caught up (the consumer left, or fell behind): its onClose found no
    // listener to remove yet.
    if (out.closed) detach();
    if (isSeated(access.participant)) {
      const connection = await this.connections.hold(sessionId, viewerId);
      out.onClosed(() => connection.release());
    }
    return out;
  }

  /**
   * Adds `listener` to this instance's hub of the session: with `afterSeq`, the recorded
   * events after it first (RESYNC_REQUIRED beyond BACKFILL_MAX), then every event the hub
   * delivers. Answers a function that removes the listener (the last one closes the hub).
   */
  async attach(sessionId: string, listener: TimelineListener, afterSeq?: number): Promise<() => void> {
    // Joined before reading, so whatever the hub delivers meanwhile waits in `early`.
    listener.early = [];
    const hub = await this.hubs.join(sessionId, listener, (joined) => (listener.handled = afterSeq ?? joined.handled));
    const detach = () => this.hubs.leave(sessionId, hub, listener);
    const upTo = hub.handled;
    try {
      // seq has no gaps, so this is the number of events to catch up.
      if (upTo - listener.handled > this.options.backfillMax)
        throw resyncRequired(`More than ${this.options.backfillMax} events to catch up`, RELOAD, "backfill_max");
      await this.backfillPage(sessionId, listener, upTo);
    } catch (err) {
      detach();
      throw err;
    }
    // The rest of a long backlog is streamed a page at a time, as fast as the subscriber takes
    // it (its buffer would not hold it all), once the subscription is running.
    if (listener.handled < upTo) void this.backfillRest(sessionId, listener, upTo).catch((err) => listener.fail(err));
    else caughtUp(listener);
    return detach;
  }

  /** Hands the listener the next page of recorded events up to `upTo` (straight to it: `early` holds what comes after). */
  private async backfillPage(sessionId: string, listener: TimelineListener, upTo: number): Promise<void> {
    if (listener.handled >= upTo) return;
    const recorded = await readEvents(this.db, sessionId, listener.handled, upTo, CATCH_UP_PAGE);
    if (recorded.length > 0) this.options.retried?.("backfill", recorded.length);
    for (const event of recorded) pass(listener, toMessage(event));
    if (recorded.length === 0) listener.handled = upTo; // cannot happen (no gaps); never loop on it
  }

  private async backfillRest(sessionId: string, listener: TimelineListener, upTo: number): Promise<void> {
    while (listener.handled < upTo) {
      if (listener.room && !(await listener.room())) return; // the subscriber is gone
      await this.backfillPage(sessionId, listener, upTo);
    }
    caughtUp(listener);
  }
}
