import { Between, MoreThan, type DataSource } from "typeorm";
import type { AccessPolicy } from "../auth/access";
import type { AuthContext } from "../auth/auth-context";
import { SessionEventEntity } from "../entities/session-event.entity";
import { SessionEntity } from "../entities/session.entity";
import { AsyncQueue } from "../realtime/async-queue";
import type { EventBus } from "../realtime/event-bus";
import { topics } from "../realtime/topics";
import { DomainError, DomainErrorReason, forbidden } from "./errors";
import { toMessage, type TimelineMessage } from "./timeline";

/** What one timeline event means to a stream: an item to deliver, and whether the stream ends. */
export interface FeedStep<T> {
  item?: T;
  /** "complete": the stream ends normally after the item; "forbidden": it ends with FORBIDDEN. */
  end?: "complete" | "forbidden";
}

/** How many items a subscriber may have waiting before it is ended with RESYNC_REQUIRED. */
export const SUBSCRIBER_BUFFER = 1000;

/**
 * A session's timeline as a subscriber sees it (boardEvents, systemEvents): recorded events
 * after `afterSeq` first, then live ones, in seq order with no gap and no duplicate, mapped
 * by `select`.
 *
 * Postgres is the truth and pub/sub only announces: the stream remembers the last seq it
 * handled, skips what it has seen, and when an announcement skips ahead (a message lost in
 * a Redis blip, or two instances publishing out of order) it reads the missing events from
 * the timeline before going on.
 */
export class SessionFeed {
  constructor(
    private readonly db: DataSource,
    private readonly bus: EventBus,
    private readonly access: AccessPolicy,
    private readonly backfillMax: number,
  ) {}

  /**
   * NOT_FOUND without access (no event leaks), FORBIDDEN for a kicked user. More than
   * BACKFILL_MAX events behind, or more than SUBSCRIBER_BUFFER items waiting, is
   * RESYNC_REQUIRED (reload, then resume from the latest seq).
   */
  async watch<T>(
    auth: AuthContext,
    sessionId: string,
    afterSeq: number | null | undefined,
    select: (event: TimelineMessage, viewerId: string) => FeedStep<T>,
  ): Promise<AsyncIterableIterator<T>> {
    const viewerId = auth.requireUserIdFor(sessionId);
    await this.access.require(viewerId, sessionId);
    // Subscribe before reading where the timeline is, so nothing committed in between is missed.
    const live = await this.bus.subscribe(topics.sessionTimeline(sessionId));
    const out = new AsyncQueue<T>(() => void live.return?.());
    let handled: number;
    try {
      handled = afterSeq ?? (await this.latestSeq(sessionId));
    } catch (err) {
      await live.return?.();
      throw err;
    }

    /** Delivers one event in order; answers false once the stream has ended. */
    const deliver = (event: TimelineMessage): boolean => {
      handled = event.seq;
      const step = select(event, viewerId);
      if (step.item !== undefined) {
        if (out.size >= SUBSCRIBER_BUFFER) {
          out.fail(resyncRequired("This subscriber fell too far behind"));
          return false;
        }
        out.push(step.item);
      }
      if (step.end === "forbidden") out.fail(forbidden("You were removed from this session."));
      else if (step.end === "complete") out.end();
      return step.end === undefined;
    };
    /** Reads and delivers what the timeline has after `handled` up to `upTo` (all when undefined). */
    const catchUp = async (upTo?: number): Promise<boolean> => {
      const recorded = await this.db.getRepository(SessionEventEntity).find({
        where: { sessionId, seq: upTo === undefined ? MoreThan(handled) : Between(handled + 1, upTo) },
        order: { seq: "ASC" },
        take: this.backfillMax + 1,
      });
      if (recorded.length > this.backfillMax) throw resyncRequired(`More than ${this.backfillMax} events to catch up`);
      for (const event of recorded) if (!deliver(toMessage(event))) return false;
      return true;
    };

    // One queue of work, handled in order: live events, and catching up after the bus lost
    // its connection (what was published meanwhile is read from the timeline).
    type Work = { event: TimelineMessage } | { catchUp: true };
    const work = new AsyncQueue<Work>();
    const stopForwarding = forward(live, (event) => work.push({ event }), () => work.end());
    const offResubscribed = this.bus.onResubscribed(() => work.push({ catchUp: true }));
    out.onClosed(() => {
      offResubscribed();
      work.end();
    });

    void (async () => {
      try {
        if (!(await catchUp())) return;
        for await (const item of work) {
          if (out.closed) return;
          if ("catchUp" in item) {
            if (!(await catchUp())) return;
            continue;
          }
          const { event } = item;
          if (event.seq <= handled) continue; // delivered already (backfill or a gap read)
          if (event.seq > handled + 1 && !(await catchUp(event.seq - 1))) return;
          if (event.seq > handled && !deliver(event)) return;
        }
      } catch (err) {
        out.fail(err);
      } finally {
        offResubscribed();
        stopForwarding();
        void live.return?.();
      }
    })();
    return out;
  }

  private async latestSeq(sessionId: string): Promise<number> {
    const session = await this.db.getRepository(SessionEntity).findOne({ select: { id: true, lastSeq: true }, where: { id: sessionId } });
    return session?.lastSeq ?? 0;
  }
}

/** Pushes every value of `source` to `onValue` until it ends; answers a function that stops it. */
function forward<T>(source: AsyncIterableIterator<T>, onValue: (value: T) => void, onEnd: () => void): () => void {
  let stopped = false;
  void (async () => {
    try {
      for await (const value of source) {
        if (stopped) break;
        onValue(value);
      }
    } finally {
      onEnd();
    }
  })();
  return () => {
    stopped = true;
    void source.return?.();
  };
}

function resyncRequired(why: string): DomainError {
  return new DomainError(DomainErrorReason.RESYNC_REQUIRED, `${why}: reload the session and resume from its latest seq.`);
}
