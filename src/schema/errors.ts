import { GraphQLError, type GraphQLFormattedError } from "graphql";
import { isTransientDatabaseError } from "../db/transient";
import { DomainError, DomainErrorReason } from "../domain/errors";
import type { OperationOutcome } from "../infra/operation-metrics";

/** The public error codes of the contract (`extensions.code`). */
export const ErrorCode = {
  UNAUTHENTICATED: "UNAUTHENTICATED",
  FORBIDDEN: "FORBIDDEN",
  NOT_FOUND: "NOT_FOUND",
  BAD_USER_INPUT: "BAD_USER_INPUT",
  CONFLICT: "CONFLICT",
  INVALID_STATE: "INVALID_STATE",
  QUOTA_EXCEEDED: "QUOTA_EXCEEDED",
  RATE_LIMITED: "RATE_LIMITED",
  PAYLOAD_TOO_LARGE: "PAYLOAD_TOO_LARGE",
  RESYNC_REQUIRED: "RESYNC_REQUIRED",
  UNAVAILABLE: "UNAVAILABLE",
  INTERNAL_SERVER_ERROR: "INTERNAL_SERVER_ERROR",
  GRAPHQL_PARSE_FAILED: "GRAPHQL_PARSE_FAILED",
  GRAPHQL_VALIDATION_FAILED: "GRAPHQL_VALIDATION_FAILED",
  BAD_REQUEST: "BAD_REQUEST",
  /** An automatic persisted query's hash the server does not know (yet): send the query with it. */
  PERSISTED_QUERY_NOT_FOUND: "PERSISTED_QUERY_NOT_FOUND",
} as const;
export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

/** The one mapping from domain reasons to public codes; the compiler checks it is complete. */
export function publicCode(reason: DomainErrorReason): ErrorCode {
  switch (reason) {
    case DomainErrorReason.NOT_AUTHENTICATED:
    case DomainErrorReason.TOKEN_INVALID:
    case DomainErrorReason.TOKEN_EXPIRED:
    case DomainErrorReason.INVALID_CREDENTIALS:
      return ErrorCode.UNAUTHENTICATED;
    case DomainErrorReason.FORBIDDEN:
    case DomainErrorReason.ADMIN_REGISTRATION:
      return ErrorCode.FORBIDDEN;
    case DomainErrorReason.NOT_FOUND:
      return ErrorCode.NOT_FOUND;
    case DomainErrorReason.INVALID_INPUT:
    case DomainErrorReason.PAGE_SIZE:
      return ErrorCode.BAD_USER_INPUT;
    case DomainErrorReason.EMAIL_TAKEN:
    case DomainErrorReason.CONFLICT:
    case DomainErrorReason.SESSION_FULL:
    case DomainErrorReason.DOUBLE_BOOKING:
      return ErrorCode.CONFLICT;
    case DomainErrorReason.INVALID_STATE:
      return ErrorCode.INVALID_STATE;
    case DomainErrorReason.RATE_LIMITED:
      return ErrorCode.RATE_LIMITED;
    case DomainErrorReason.PAYLOAD_TOO_LARGE:
      return ErrorCode.PAYLOAD_TOO_LARGE;
    case DomainErrorReason.QUOTA_EXCEEDED:
      return ErrorCode.QUOTA_EXCEEDED;
    case DomainErrorReason.RESYNC_REQUIRED:
      return ErrorCode.RESYNC_REQUIRED;
    case DomainErrorReason.PUSH_DISABLED:
    case DomainErrorReason.VIDEO_PROVIDER_UNAVAILABLE:
      return ErrorCode.UNAVAILABLE;
    default: {
      const unhandled: never = reason;
      throw new Error(`no public code for ${String(unhandled)}`);
    }
  }
}

export interface ErrorReporter {
  /** `transient`: the database was briefly unavailable (the client was told to retry), not a bug. */
  (error: unknown, requestId: string | undefined, transient: boolean): void;
}

/** How long a client waits before retrying after UNAVAILABLE. */
export const UNAVAILABLE_RETRY_AFTER_MS = 1000;

/**
 * The one error formatter of HTTP and WebSocket. Domain errors become their public code
 * (with `reason` and details). Errors of the request itself (parse, validation, variable
 * coercion), which the transport has already given a public code, keep it. A database that
 * was briefly unreachable, restarting or timing out is UNAVAILABLE (`retryable`, nothing was
 * written). Anything else is masked as INTERNAL_SERVER_ERROR with only a request id to quote,
 * and reported (logged) with the original error. No stack trace or internal message ever
 * leaves the server.
 */
export function createErrorFormatter(report: ErrorReporter, options: { hideSuggestions: boolean }) {
  return function formatError(formatted: GraphQLFormattedError, error: unknown, requestId?: string): GraphQLFormattedError {
    const base = { locations: formatted.locations, path: formatted.path };
    const original = error instanceof GraphQLError ? (error.originalError ?? error) : error;
    if (original instanceof DomainError) {
      return {
        ...base,
        message: original.message,
        extensions: { ...original.details, code: publicCode(original.reason), reason: original.reason },
      };
    }
    const code = requestErrorCode(formatted);
    if (original instanceof GraphQLError && code) {
      // Suggestions ("Did you mean …?") would reveal the schema when introspection is off.
      const message = options.hideSuggestions ? formatted.message.replace(/ ?Did you mean .*$/, "") : formatted.message;
      return { ...base, message, extensions: { code } };
    }
    if (isTransientDatabaseError(original)) {
      report(original, requestId, true);
      return {
        ...base,
        message: "The database is briefly unavailable: nothing was written, retry (with the same clientOpIds).",
        extensions: { code: ErrorCode.UNAVAILABLE, retryable: true, retryAfterMs: UNAVAILABLE_RETRY_AFTER_MS, ...(requestId ? { requestId } : {}) },
      };
    }
    report(original, requestId, false);
    return {
      ...base,
      message: "Internal server error",
      extensions: { code: ErrorCode.INTERNAL_SERVER_ERROR, ...(requestId ? { requestId } : {}) },
    };
  };
}

/**
 * How an operation with `errors` ended, for graphql_operation_duration_seconds: "ok" without
 * errors; "server_error" when one of them is what formatError masks or answers UNAVAILABLE
 * (anything but a domain error or an error of the request itself); "error" otherwise.
 */
export function operationOutcome(errors: readonly unknown[] | null | undefined): OperationOutcome {
  if (!errors || errors.length === 0) return "ok";
  for (const error of errors) {
    const original = error instanceof GraphQLError ? (error.originalError ?? error) : error;
    if (!(original instanceof DomainError) && !(original instanceof GraphQLError)) return "server_error";
  }
  return "error";
}

const requestErrorCodes = new Set<unknown>([
  ErrorCode.GRAPHQL_PARSE_FAILED,
  ErrorCode.GRAPHQL_VALIDATION_FAILED,
  ErrorCode.BAD_USER_INPUT,
  ErrorCode.BAD_REQUEST,
  ErrorCode.PERSISTED_QUERY_NOT_FOUND,
]);

/** The public code of an error in the request itself, or undefined for anything else. */
function requestErrorCode(formatted: GraphQLFormattedError): ErrorCode | undefined {
  const code = formatted.extensions?.code;
  // graphql-js reports the token limit as a syntax error; it is a limit like depth and cost.
  if (code === ErrorCode.GRAPHQL_PARSE_FAILED && /contains more th\w+ \d+ tokens/.test(formatted.message)) {
    return ErrorCode.GRAPHQL_VALIDATION_FAILED;
  }
  // Apollo's name for an operationName that matches nothing in the document.
  if (code === "OPERATION_RESOLUTION_FAILURE") return ErrorCode.BAD_REQUEST;
  return requestErrorCodes.has(code) ? (code as ErrorCode) : undefined;
}
