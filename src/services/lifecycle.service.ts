import type { EntityManager } from "typeorm";
import type { AccessPolicy } from "../auth/access";
import type { AuthContext } from "../auth/auth-context";
import { authorize } from "../auth/session-policy";
import { DomainError, DomainErrorReason } from "../domain/errors";
import { SessionEntity, SessionStatus, SessionType } from "../entities/session.entity";
import { applyTransition, type SessionChangeRecorder } from "./seats";
import { allowedIn, type SessionAction } from "./session-lifecycle";
import type { SessionStore } from "./session-store";
import { lockSession, type NewSessionEvent } from "./timeline";

/**
 * The session lifecycle (RULES.md "Session lifecycle"): the host's (or a permitted
 * participant's) transitions, a cancelled booking's lesson, and the expiry job. The state
 * machine itself is session-lifecycle.ts; each transition's bookkeeping is seats.ts.
 */
export class LifecycleService {
  constructor(
    private readonly store: SessionStore,
    private readonly access: AccessPolicy,
    /** The TERMINATE snapshot of the board (H2) a lesson's end takes in its transaction. */
    private readonly recorder?: SessionChangeRecorder,
  ) {}

  /** Moves the session along its lifecycle; who may do it is RULES.md's table. */
  async transition(auth: AuthContext, id: string, action: Exclude<SessionAction, "hostJoin" | "expire">, reason?: string | null): Promise<SessionEntity> {
    const actorId = auth.requireUserIdFor(id);
    return this.store.change(id, async (tx, session) => {
      const access = await this.access.require(actorId, id, tx, session);
      authorize(access, action);
      // RULES.md: a solo workspace is ACTIVE from creation until its owner completes it.
      if (session.type === SessionType.SOLO && action !== "complete") {
        throw new DomainError(DomainErrorReason.INVALID_STATE, `A solo workspace cannot ${action}: it stays ACTIVE until you complete it.`, {
          status: session.status,
        });
      }
      const events = await applyTransition(tx, session, action, actorId, reason ? { reason: reason.slice(0, 500) } : {}, this.recorder);
      return { result: session, events };
    });
  }

  /**
   * A cancelled booking's lesson, inside the caller's transaction (which holds the booking's
   * lock): locks the session and terminates it if it has not started; a lesson under way or
   * finished is left to its host. Answers the locked session and the events to append.
   */
  async terminateForBooking(tx: EntityManager, sessionId: string, actorId: string): Promise<{ session: SessionEntity; events: NewSessionEvent[] }> {
    const session = await lockSession(tx, sessionId);
    if (!allowedIn.cancelWithBooking.includes(session.status)) return { session, events: [] };
    return { session, events: await applyTransition(tx, session, "terminate", actorId, { reason: "BOOKING_CANCELLED" }, this.recorder) };
  }

  /**
   * The expiry job (RULES.md lifecycle): SCHEDULED/WAITING sessions past their scheduled end
   * + `graceMs`, and WAITING ones without a scheduled end `maxDurationMs` after creation,
   * become EXPIRED; ACTIVE/PAUSED lessons `maxDurationMs` after they started are completed
   * (SESSION_END, reason MAX_DURATION), so a forgotten lesson does not stay writable forever.
   * Solo workspaces are ACTIVE until their owner completes them. Each with its timeline
   * event; every session is re-checked under its lock, so concurrent runs end it once.
   */
  async expireStale(now: Date, graceMs: number, maxDurationMs: number): Promise<{ expired: number; completed: number }> {
    const longAgo = new Date(now.getTime() - maxDurationMs);
    const stale: Array<{ id: string }> = await this.store.db.query(
      `SELECT id FROM classroom_sessions
        WHERE status IN ('SCHEDULED', 'WAITING') AND scheduled_end < $1
           OR status = 'WAITING' AND scheduled_end IS NULL AND created_at < $2
           OR status IN ('ACTIVE', 'PAUSED') AND type <> 'SOLO' AND actual_start < $2`,
      [new Date(now.getTime() - graceMs), longAgo],
    );
    const outcome = { expired: 0, completed: 0 };
    for (const { id } of stale) {
      const ended = await this.store.change(id, async (tx, session) => {
        // Re-checked under the lock: the host may have started or ended it meanwhile.
        const pending = session.status === SessionStatus.SCHEDULED || session.status === SessionStatus.WAITING;
        if (
          pending &&
          (session.scheduledEnd
            ? session.scheduledEnd.getTime() < now.getTime() - graceMs
            : session.status === SessionStatus.WAITING && session.createdAt < longAgo)
        ) {
          return { result: "expired" as const, events: await applyTransition(tx, session, "expire", null, {}, this.recorder) };
        }
        const running = session.status === SessionStatus.ACTIVE || session.status === SessionStatus.PAUSED;
        if (running && session.type !== SessionType.SOLO && session.actualStart && session.actualStart < longAgo) {
          return { result: "completed" as const, events: await applyTransition(tx, session, "complete", null, { reason: "MAX_DURATION" }, this.recorder) };
        }
        return { result: undefined };
      });
      if (ended) outcome[ended] += 1;
    }
    return outcome;
  }
}
