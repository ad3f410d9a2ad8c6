import { QueryFailedError } from "typeorm";

/**
 * SQLSTATEs a retry cures: the connection failed or was killed (class 08, admin or crash
 * shutdown, "the database system is starting up"), a statement or lock timeout, and the
 * transaction conflicts Postgres resolves by aborting one side. Nothing was written.
 */
const TRANSIENT_SQLSTATES = new Set(["57P01", "57P02", "57P03", "57014", "55P03", "40001", "40P01", "53300"]);

/** Errors of the driver and the pool that mean the database could not be reached in time. */
const TRANSIENT_NODE_CODES = new Set(["ECONNREFUSED", "ECONNRESET", "ETIMEDOUT", "EPIPE", "EHOSTUNREACH", "ENOTFOUND"]);
const TRANSIENT_MESSAGES =
  /Connection terminated|timeout exceeded when trying to connect|Client has encountered a connection error|Connection is not established|the database system is (starting up|shutting down|in recovery mode)/i;

/**
 * True when `error` says the database was briefly unreachable, restarting or timing out
 * (RULES.md "Errors": UNAVAILABLE, retryable), as opposed to a bug.
 */
export function isTransientDatabaseError(error: unknown): boolean {
  for (let cause = error, depth = 0; cause && depth < 5; depth++) {
    const { code, message } = cause as { code?: unknown; message?: unknown };
    if (typeof code === "string" && (TRANSIENT_SQLSTATES.has(code) || code.startsWith("08") || TRANSIENT_NODE_CODES.has(code))) return true;
    if (typeof message === "string" && TRANSIENT_MESSAGES.test(message)) return true;
    cause = cause instanceof QueryFailedError ? cause.driverError : (cause as { cause?: unknown }).cause;
  }
  return false;
}

/**
 * What of a failed statement goes to the log: the error without the statement's bound
 * parameters (they hold personal data: emails, names, message texts).
 */
export function loggableError(error: unknown): unknown {
  if (!(error instanceof QueryFailedError)) return error;
  const { driverError } = error as QueryFailedError & { driverError?: { code?: string } };
  return { type: "QueryFailedError", message: error.message, code: driverError?.code, query: error.query, stack: error.stack };
}
