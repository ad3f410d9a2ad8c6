import { SessionStatus, type SessionEntity } from "../entities/session.entity";
import { DomainError, DomainErrorReason } from "../domain/errors";

/**
 * The session state machine of RULES.md, in one place. Anything not listed here is
 * INVALID_STATE.
 */
export type SessionAction = "hostJoin" | "start" | "pause" | "resume" | "complete" | "terminate" | "expire";

const { SCHEDULED, WAITING, ACTIVE, PAUSED, COMPLETED, TERMINATED, EXPIRED } = SessionStatus;

const transitions: Record<SessionAction, { from: readonly SessionStatus[]; to: SessionStatus }> = {
  hostJoin: { from: [SCHEDULED], to: WAITING },
  start: { from: [SCHEDULED, WAITING], to: ACTIVE },
  pause: { from: [ACTIVE], to: PAUSED },
  resume: { from: [PAUSED], to: ACTIVE },
  complete: { from: [ACTIVE, PAUSED], to: COMPLETED },
  terminate: { from: [SCHEDULED, WAITING, ACTIVE, PAUSED], to: TERMINATED },
  expire: { from: [SCHEDULED, WAITING], to: EXPIRED },
};

/** The status `action` leads to from `current`; throws INVALID_STATE when it is not allowed. */
export function nextStatus(current: SessionStatus, action: SessionAction): SessionStatus {
  const rule = transitions[action];
  if (!rule.from.includes(current)) {
    throw new DomainError(DomainErrorReason.INVALID_STATE, `Cannot ${describe(action)} a session that is ${current}.`, {
      status: current,
    });
  }
  return rule.to;
}

/** Whether `action` is allowed from `current` (no error). */
export function canTransition(current: SessionStatus, action: SessionAction): boolean {
  return transitions[action].from.includes(current);
}

/** Statuses in which a session can still be joined (and its access code is reserved). */
export const LIVE_STATUSES: readonly SessionStatus[] = [SCHEDULED, WAITING, ACTIVE, PAUSED];
/** Statuses after which nothing more happens; subscriptions end after them. */
export const FINAL_STATUSES: readonly SessionStatus[] = [COMPLETED, TERMINATED, EXPIRED];

/** What each status allows besides reads (RULES.md "What each state allows"). */
export const allowedIn = {
  join: LIVE_STATUSES,
  edit: [SCHEDULED, WAITING] as readonly SessionStatus[],
  board: [ACTIVE] as readonly SessionStatus[],
  chat: [WAITING, ACTIVE, PAUSED] as readonly SessionStatus[],
  /** Not started yet: cancelling the session's booking terminates it (later, the host decides). */
  cancelWithBooking: [SCHEDULED, WAITING] as readonly SessionStatus[],
};

/** Throws INVALID_STATE unless `status` is one of `allowed`. */
export function requireStatus(status: SessionStatus, allowed: readonly SessionStatus[], what: string): void {
  if (!allowed.includes(status)) {
    throw new DomainError(DomainErrorReason.INVALID_STATE, `Cannot ${what} while the session is ${status}.`, { status });
  }
}

/** ACTIVE time of a session in seconds, pauses excluded (RULES.md): the closed total plus the running interval. */
export function activeDurationSeconds(session: Pick<SessionEntity, "activeSeconds" | "activeSince">, now = Date.now()): number {
  const running = session.activeSince ? Math.floor((now - session.activeSince.getTime()) / 1000) : 0;
  return session.activeSeconds + Math.max(0, running);
}

function describe(action: SessionAction): string {
  return action === "hostJoin" ? "open" : action;
}
