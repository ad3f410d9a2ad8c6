import { MoreThan, type DataSource } from "typeorm";
import type { AccessPolicy } from "../auth/access";
import type { AuthContext } from "../auth/auth-context";
import { SessionEventEntity } from "../entities/session-event.entity";
import { SessionStatus } from "../entities/session.entity";
import { AsyncQueue } from "../realtime/async-queue";
import type { EventBus } from "../realtime/event-bus";
import { topics } from "../realtime/topics";
import { DomainError, DomainErrorReason, forbidden } from "./errors";
import { FINAL_STATUSES } from "./session-lifecycle";
import { toMessage, type TimelineMessage } from "./timeline";

export enum SystemEventKind {
  SESSION_STATUS = "SESSION_STATUS",
  PARTICIPANT_UPDATE = "PARTICIPANT_UPDATE",
  PERMISSION_UPDATE = "PERMISSION_UPDATE",
  KICKED = "KICKED",
  NOTIFICATION = "NOTIFICATION",
  CHAT_MESSAGE = "CHAT_MESSAGE",
}

/** A system event as one subscriber sees it. */
export interface SystemEventView {
  sessionId: string;
  seq: number;
  kind: SystemEventKind;
  status: SessionStatus | null;
  participantId: string | null;
  message: string | null;
  data: Record<string, unknown>;
  at: Date;
}

const PARTICIPANT_TYPES = new Set([
  "PARTICIPANT_JOIN",
  "PARTICIPANT_LEAVE",
  "PARTICIPANT_KICK",
  "PARTICIPANT_RECONNECT",
  "PARTICIPANT_DISCONNECT",
  "MEDIA_AUDIO_ON",
  "MEDIA_AUDIO_OFF",
  "MEDIA_VIDEO_ON",
  "MEDIA_VIDEO_OFF",
  "SCREEN_SHARE_START",
  "SCREEN_SHARE_STOP",
  "HAND_RAISE",
  "HAND_LOWER",
]);

/**
 * The system event a timeline event means to `viewerId`, or undefined when it is not one
 * (board events have their own stream). A kick is KICKED to the kicked user and a
 * participant update to everyone else. Pure, so live delivery and backfill agree.
 */
export function toSystemEvent(event: TimelineMessage, viewerId: string): SystemEventView | undefined {
  const data = event.data ?? {};
  const base = {
    sessionId: event.sessionId,
    seq: event.seq,
    status: null,
    participantId: typeof data.participantId === "string" ? data.participantId : null,
    message: null,
    data: { type: event.type, ...data },
    at: new Date(event.createdAt),
  };
  if (event.type.startsWith("SESSION_")) {
    return { ...base, kind: SystemEventKind.SESSION_STATUS, status: (data.status as SessionStatus) ?? null };
  }
  if (event.type === "PARTICIPANT_KICK" && data.userId === viewerId) {
    return { ...base, kind: SystemEventKind.KICKED, message: (data.reason as string | null) ?? "You were removed from this session." };
  }
  if (PARTICIPANT_TYPES.has(event.type)) return { ...base, kind: SystemEventKind.PARTICIPANT_UPDATE };
  if (event.type === "ROLE_CHANGE" || event.type === "PERMISSION_UPDATE") return { ...base, kind: SystemEventKind.PERMISSION_UPDATE };
  if (event.type === "CHAT_MESSAGE") {
    return { ...base, kind: SystemEventKind.CHAT_MESSAGE, message: typeof data.text === "string" ? data.text : null };
  }
  return undefined;
}

/** The session's system events for one subscriber: recorded ones after a seq, then live. */
export class SystemEventService {
  constructor(
    private readonly db: DataSource,
    private readonly bus: EventBus,
    private readonly access: AccessPolicy,
    private readonly backfillMax: number,
  ) {}

  /**
   * The stream behind `systemEvents(sessionId, afterSeq)`. NOT_FOUND without access (no event
   * leaks), FORBIDDEN for a kicked user. With afterSeq, recorded events after it come first,
   * then live ones, with no duplicate; more than BACKFILL_MAX behind is RESYNC_REQUIRED. The
   * stream ends after the session's final status; for a kicked user it delivers KICKED, then
   * ends with FORBIDDEN.
   */
  async watch(auth: AuthContext, sessionId: string, afterSeq?: number | null): Promise<AsyncIterableIterator<SystemEventView>> {
    const viewerId = auth.requireUserIdFor(sessionId);
    await this.access.require(viewerId, sessionId);
    // Subscribe before reading the backfill, so nothing committed in between is missed.
    const live = await this.bus.subscribe(topics.sessionTimeline(sessionId));
    const out = new AsyncQueue<SystemEventView>(() => void live.return?.());
    /** Answers false once the stream has ended (final status, or the viewer kicked). */
    const deliver = (event: TimelineMessage): boolean => {
      const view = toSystemEvent(event, viewerId);
      if (!view) return true;
      out.push(view);
      if (view.kind === SystemEventKind.KICKED) {
        out.fail(forbidden("You were removed from this session."));
        return false;
      }
      if (view.kind === SystemEventKind.SESSION_STATUS && view.status && FINAL_STATUSES.includes(view.status)) {
        out.end();
        return false;
      }
      return true;
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
