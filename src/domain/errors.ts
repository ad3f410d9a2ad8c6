/**
 * Domain errors. Services throw them with a reason; src/schema/errors.ts maps every reason
 * to the contract's public `extensions.code` in one exhaustive switch.
 */
export const DomainErrorReason = {
  // who you are
  NOT_AUTHENTICATED: "NOT_AUTHENTICATED",
  TOKEN_INVALID: "TOKEN_INVALID",
  TOKEN_EXPIRED: "TOKEN_EXPIRED",
  INVALID_CREDENTIALS: "INVALID_CREDENTIALS",
  // what you may do
  FORBIDDEN: "FORBIDDEN",
  ADMIN_REGISTRATION: "ADMIN_REGISTRATION",
  NOT_FOUND: "NOT_FOUND",
  // what you sent
  INVALID_INPUT: "INVALID_INPUT",
  PAGE_SIZE: "PAGE_SIZE",
  EMAIL_TAKEN: "EMAIL_TAKEN",
  CONFLICT: "CONFLICT",
  SESSION_FULL: "SESSION_FULL",
  /** The slot overlaps a PENDING or CONFIRMED booking of the same tutor or student. */
  DOUBLE_BOOKING: "DOUBLE_BOOKING",
  INVALID_STATE: "INVALID_STATE",
  // limits
  RATE_LIMITED: "RATE_LIMITED",
  PAYLOAD_TOO_LARGE: "PAYLOAD_TOO_LARGE",
  QUOTA_EXCEEDED: "QUOTA_EXCEEDED",
  RESYNC_REQUIRED: "RESYNC_REQUIRED",
  // what this deployment offers
  /** Web push is off here (PUSH_ENABLED=false, or DATABASE_URL without VAPID keys). */
  PUSH_DISABLED: "PUSH_DISABLED",
  /** The video provider (VIDEO_PROVIDER) did not answer or refused: retried in the background. */
  VIDEO_PROVIDER_UNAVAILABLE: "VIDEO_PROVIDER_UNAVAILABLE",
} as const;
export type DomainErrorReason = (typeof DomainErrorReason)[keyof typeof DomainErrorReason];

/** An error a client caused or may act on; its message is shown to the client as is. */
export class DomainError extends Error {
  constructor(
    readonly reason: DomainErrorReason,
    message: string,
    /** Extra public fields for `extensions` (retryAfterMs, usedBytes, conflicts …). */
    readonly details: Record<string, unknown> = {},
  ) {
    super(message);
    this.name = "DomainError";
  }
}

export const unauthenticated = (message = "You must be signed in.") => new DomainError(DomainErrorReason.NOT_AUTHENTICATED, message);
export const forbidden = (message = "You are not allowed to do this.") => new DomainError(DomainErrorReason.FORBIDDEN, message);
export const notFound = (what: string) => new DomainError(DomainErrorReason.NOT_FOUND, `${what} not found.`);
export const invalidInput = (message: string, details?: Record<string, unknown>) => new DomainError(DomainErrorReason.INVALID_INPUT, message, details);
/**
 * Why a subscriber was ended with RESYNC_REQUIRED, for realtime_resync_required_total (never
 * sent to the client): its buffer or socket could not keep up; its resume was past
 * BACKFILL_MAX; or the server's own listener for it fell behind while it caught up.
 */
export type ResyncReason = "slow_subscriber" | "backfill_max" | "fell_behind";

/** RESYNC_REQUIRED, with why it happened for the metrics. */
export class ResyncRequiredError extends DomainError {
  constructor(
    message: string,
    readonly resyncReason: ResyncReason,
  ) {
    super(DomainErrorReason.RESYNC_REQUIRED, message);
  }
}

/**
 * The one builder of RESYNC_REQUIRED: a subscriber that fell too far behind (its buffer or
 * socket full) or a resume past BACKFILL_MAX; `remedy` tells the client how to catch up.
 */
export const resyncRequired = (why = "This subscriber fell too far behind", remedy = "subscribe again", reason: ResyncReason = "slow_subscriber") =>
  new ResyncRequiredError(`${why}: ${remedy}.`, reason);
export const rateLimited = (retryAfterMs: number) =>
  new DomainError(DomainErrorReason.RATE_LIMITED, `Too many attempts; try again in ${Math.ceil(retryAfterMs / 1000)} s.`, {
    retryAfterMs,
  });
