import { Between, MoreThan, type DataSource } from "typeorm";
import { resyncRequired } from "../domain/errors";
import { SessionEventEntity } from "../entities/session-event.entity";
import { SessionEntity } from "../entities/session.entity";
import { AsyncQueue } from "../realtime/async-queue";
import type { EventBus } from "../realtime/event-bus";
import type { SubscriberBuffer } from "../realtime/live-stream";
import type { TimelineMessage } from "../realtime/messages";
import { topics, type CommittedEvents, type Notice, type TimelineAnnouncement } from "../realtime/topics";
import { TRACE } from "../realtime/traced-publish";
import { startDeliverySpan, tracingOn, withSpan } from "../infra/tracing";
import { toMessage } from "./timeline";
import type { RetryReason } from "../infra/metrics";

/** Told of `events` read from the timeline to deliver them again, and why (delivery_retry_total). */
export type Redelivered = (reason: RetryReason, events: number) => void;

/** How a timeline subscriber that fell behind catches up (RULES.md "Delivery"). */
export const RELOAD = "reload the session and resume from its latest seq";

/** Events read per statement when a hub or a listener catches up. */
export const CATCH_UP_PAGE = 500;

/** One consumer of a session's timeline on this instance (a subscription, or a presence hub). */
export interface TimelineListener {
  /** Events up to this seq were given to the listener (or are not wanted). */
  handled: number;
  /** Events that arrived while the listener's own backfill ran; null once it caught up. */
  early: TimelineMessage[] | null;
  /** Takes the next event in seq order. */
  take(event: TimelineMessage): void;
  /** Ends the listener (it fell too far behind). */
  fail(error: unknown): void;
  /** Resolves when the listener can take more (true) or is gone (false): its backfill waits on it between pages. */
  room?(): Promise<boolean>;
  /** Takes an in-app notice (never recorded, so outside the seq order; listeners that do not want them leave it out). */
  notice?(notice: Notice): void;
}

/** The listener's backfill is done: what the hub delivered meanwhile follows it. */
export function caughtUp(listener: TimelineListener): void {
  const early = listener.early ?? [];
  listener.early = null;
  for (const event of early) pass(listener, event);
}

/**
 * Gives `event` to the listener once, in order (held back while its own backfill runs, at most
 * `maxEarly` events: beyond that the listener fell too far behind).
 */
function offer(listener: TimelineListener, event: TimelineMessage, maxEarly: number): void {
  if (listener.early) {
    if (listener.early.length >= maxEarly) return listener.fail(resyncRequired(undefined, RELOAD, "fell_behind"));
    listener.early.push(event);
    return;
  }
  pass(listener, event);
}

/** Gives `event` to the listener unless it had it already. */
export function pass(listener: TimelineListener, event: TimelineMessage): void {
  if (event.seq <= listener.handled) return;
  listener.handled = event.seq;
  listener.take(event);
}

const CATCH_UP = Symbol("catch up");

/** One session's timeline on one instance, shared by the local listeners. */
export class TimelineHub {
  readonly members = new Set<TimelineListener>();
  private readonly work = new AsyncQueue<TimelineAnnouncement | typeof CATCH_UP>();
  private closed = false;
  private readonly cleanup: Array<() => void> = [];

  private constructor(
    private readonly sessionId: string,
    private readonly db: DataSource,
    /** Events up to this seq were delivered to the listeners. */
    public handled: number,
    /** Events a listener may have waiting while its backfill runs (SUBSCRIBER_BUFFER_FRAMES). */
    private readonly maxEarly: number,
    private readonly onError: (err: unknown) => void,
    /** Told of events read back from the timeline because pub/sub did not bring them (delivery_retry_total). */
    private readonly retried?: Redelivered,
  ) {}

  static async open(
    sessionId: string,
    db: DataSource,
    bus: EventBus,
    { heartbeatMs, subscriberBuffer, retried }: { heartbeatMs: number; subscriberBuffer: SubscriberBuffer; retried?: Redelivered },
    onError: (err: unknown) => void,
  ): Promise<TimelineHub> {
    // Subscribed before reading where the timeline is, so nothing committed in between is
    // missed. While the bus is down, SUBSCRIBE would wait for it to come back: the hub then
    // starts at once from the database, follows the timeline by its latest-seq heartbeat, and
    // catches up once the subscription is made.
    const subscribing = bus.subscribe(topics.sessionTimeline(sessionId));
    const source = bus.health() === "down" ? undefined : await subscribing;
    let latest: number;
    try {
      latest = await latestSeq(db, sessionId);
    } catch (err) {
      void subscribing.then(
        (s) => s.return?.(),
        () => undefined,
      );
      throw err;
    }
    const hub = new TimelineHub(sessionId, db, latest, subscriberBuffer.frames, onError, retried);
    const pump = (announcements: AsyncIterableIterator<TimelineAnnouncement>) =>
      void (async () => {
        for await (const announcement of announcements) hub.work.push(announcement);
      })().catch(onError);
    if (source) pump(source);
    else {
      subscribing.then((late) => {
        if (hub.closed) return void late.return?.();
        pump(late);
        hub.work.push(CATCH_UP); // what was committed before the subscription took
      }, onError);
    }
    const heartbeat = setInterval(() => {
      latestSeq(db, sessionId)
        .then(async (seq) => {
          hub.work.push({ sessionId, latestSeq: seq }); // this instance, even while the bus is down
          await bus.announce(topics.sessionTimeline(sessionId), { sessionId, latestSeq: seq });
        })
        .catch(onError);
    }, heartbeatMs);
    heartbeat.unref();
    hub.cleanup.push(
      () =>
        void subscribing.then(
          (s) => s.return?.(),
          () => undefined,
        ),
      bus.onResubscribed(() => hub.work.push(CATCH_UP)),
      () => clearInterval(heartbeat),
    );
    void hub.run();
    return hub;
  }

  get isClosed(): boolean {
    return this.closed;
  }

  /** An announcement from this instance itself (its commits), handled in order with the bus's. */
  hear(announcement: TimelineAnnouncement): void {
    if (!this.closed) this.work.push(announcement);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.work.end();
    for (const stop of this.cleanup.splice(0)) stop();
  }

  /** Handles the announcements in order; a failed read is retried by the next one or the heartbeat. */
  private async run(): Promise<void> {
    for await (const item of this.work) {
      if (this.closed) return;
      try {
        if (item === CATCH_UP) await this.catchUp("resubscribed");
        else if ("latestSeq" in item) {
          if (item.latestSeq > this.handled) await this.catchUp("heartbeat", item.latestSeq);
        } else if ("notice" in item) {
          for (const listener of this.members) listener.notice?.(item.notice);
        } else {
          // One delivery span per announcement on this instance, whatever the number of listeners.
          const traceparent = tracingOn() ? item[TRACE] : undefined;
          const span =
            traceparent &&
            startDeliverySpan("timeline", traceparent, { "messaging.batch.message_count": item.events.length, "classroom.listeners": this.members.size });
          if (!span) await this.deliverCommitted(item);
          else await withSpan(span, () => this.deliverCommitted(item)).finally(() => span.end());
        }
      } catch (err) {
        this.onError(err);
      }
    }
  }

  /** Delivers a commit's events in order, reading any gap before them from the timeline. */
  private async deliverCommitted(item: CommittedEvents): Promise<void> {
    for (const event of item.events) {
      if (event.seq <= this.handled) continue;
      if (event.seq > this.handled + 1) await this.catchUp("gap", event.seq - 1);
      if (event.seq === this.handled + 1) this.deliver(event);
    }
  }

  /** Reads and delivers what the timeline has after `handled`, up to `upTo` (all when undefined). */
  private async catchUp(reason: RetryReason, upTo?: number): Promise<void> {
    for (;;) {
      const recorded = await readEvents(this.db, this.sessionId, this.handled, upTo, CATCH_UP_PAGE);
      if (recorded.length > 0) this.retried?.(reason, recorded.length);
      for (const event of recorded) this.deliver(toMessage(event));
      if (recorded.length < CATCH_UP_PAGE || this.closed) return;
    }
  }

  private deliver(event: TimelineMessage): void {
    this.handled = event.seq;
    for (const listener of this.members) offer(listener, event, this.maxEarly);
  }
}

/** Up to `limit` recorded events with seq in (after, upTo], in seq order. */
export function readEvents(db: DataSource, sessionId: string, after: number, upTo: number | undefined, limit: number): Promise<SessionEventEntity[]> {
  return db.getRepository(SessionEventEntity).find({
    where: { sessionId, seq: upTo === undefined ? MoreThan(after) : Between(after + 1, upTo) },
    order: { seq: "ASC" },
    take: limit,
  });
}

async function latestSeq(db: DataSource, sessionId: string): Promise<number> {
  const session = await db.getRepository(SessionEntity).findOne({ select: { id: true, lastSeq: true }, where: { id: sessionId } });
  return session?.lastSeq ?? 0;
}
