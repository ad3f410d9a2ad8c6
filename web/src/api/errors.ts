import type { CombinedError } from "@urql/core";

/** A GraphQL error as the API sends it (formatError): a message and extensions.code. */
interface ApiError {
  message: string;
  extensions?: { code?: unknown; reason?: unknown; retryAfterMs?: unknown };
}

/** The first error's public code (RATE_LIMITED, FORBIDDEN, …), or the reason for CONFLICTs that have one. */
export function errorCode(error: unknown): string | undefined {
  const first = apiErrors(error)[0];
  const { code, reason } = first?.extensions ?? {};
  if (code === "CONFLICT" && typeof reason === "string") return reason;
  return typeof code === "string" ? code : undefined;
}

function apiErrors(error: unknown): ApiError[] {
  if (Array.isArray(error)) return error as ApiError[];
  const combined = error as Partial<CombinedError> | undefined;
  if (combined?.graphQLErrors?.length) return combined.graphQLErrors as unknown as ApiError[];
  return [];
}

/**
 * What to tell a person about a failed operation: the codes they can meet in the normal
 * course of a lesson get a sentence of their own (RULES.md, Errors); others the server's message.
 */
export function humanMessage(error: unknown): string {
  const first = apiErrors(error)[0];
  const code = errorCode(error);
  const retryAfterMs = Number(first?.extensions?.retryAfterMs);
  switch (code) {
    case "RATE_LIMITED": {
      const seconds = Number.isFinite(retryAfterMs) && retryAfterMs > 0 ? Math.ceil(retryAfterMs / 1000) : undefined;
      return `You are doing that too often. Please wait${seconds ? ` ${seconds} s` : " a moment"} and try again.`;
    }
    case "FORBIDDEN":
      return "You are not allowed to do that in this lesson.";
    case "SESSION_FULL":
      return "This lesson is full: no seat is free. Ask the tutor to make room, or try again later.";
    case "UNAUTHENTICATED":
      return "Your sign-in has expired. Please sign in again.";
    case "NOT_FOUND":
      return "That lesson does not exist, or you have no access to it.";
    case "INVALID_STATE":
      return "That is not possible right now (the lesson may not have started, or has ended).";
    case "UNAVAILABLE":
      return "The service is briefly unavailable. Please try again.";
    case "BAD_USER_INPUT":
      return first?.message ?? "Please check what you entered.";
  }
  if (first?.message) return first.message;
  const network = (error as Partial<CombinedError> | undefined)?.networkError;
  if (network) return "Cannot reach the server. Check your connection.";
  return error instanceof Error ? error.message : "Something went wrong.";
}
