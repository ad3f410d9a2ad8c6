import { MoreThan, type DataSource } from "typeorm";
import type { AccessPolicy } from "../auth/access";
import type { AuthContext } from "../auth/auth-context";
import { SessionEventEntity } from "../entities/session-event.entity";
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

/**
 * A session's timeline as a subscriber sees it (boardEvents, systemEvents): recorded events
 * after `afterSeq` first, then live ones, with no duplicate, mapped by `select`.
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
   * BACKFILL_MAX events behind is RESYNC_REQUIRED (reload, then resume from the latest seq).
   */
  async watch<T>(
    auth: AuthContext,
    sessionId: string,
    afterSeq: number | null | undefined,
    select: (event: TimelineMessage, viewerId: string) => FeedStep<T>,
  ): Promise<AsyncIterableIterator<T>> {
    const viewerId = auth.requireUserIdFor(sessionId);
    await this.access.require(viewerId, sessionId);
    // Subscribe before reading the backfill, so nothing committed in between is missed.
    const live = await this.bus.subscribe(topics.sessionTimeline(sessionId));
    const out = new AsyncQueue<T>(() => void live.return?.());
    /** Answers false once the stream has ended. */
    const deliver = (event: TimelineMessage): boolean => {
      const step = select(event, viewerId);
      if (step.item !== undefined) out.push(step.item);
      if (step.end === "forbidden") out.fail(forbidden("You were removed from this session."));
      else if (step.end === "complete") out.end();
      return step.end === undefined;
    };
    // Live events at or below this seq were already delivered by the backfill.
    let coveredUpTo = 0;
    void (async () => {
      try {
        if (afterSeq !== undefined && afterSeq !== null) {
          const recorded = await this.db.getRepository(SessionEventEntity).find({
            where: { sessionId, seq: MoreThan(afterSeq) },
            order: { seq: "ASC" },
            take: this.backfillMax + 1,
          });
          if (recorded.length > this.backfillMax) {
            throw new DomainError(DomainErrorReason.RESYNC_REQUIRED, "Too far behind: reload the session and resume from its latest seq.", {
              backfillMax: this.backfillMax,
            });
          }
          coveredUpTo = recorded.length ? recorded[recorded.length - 1].seq : afterSeq;
          for (const event of recorded) if (!deliver(toMessage(event))) return;
        }
        for await (const event of live) {
          if (out.closed) return;
          if (event.seq > coveredUpTo && !deliver(event)) return;
        }
      } catch (err) {
        out.fail(err);
      } finally {
        void live.return?.();
      }
    })();
    return out;
  }
}
