import { isUuid } from "../auth/access";
import { DomainError, DomainErrorReason, invalidInput } from "../domain/errors";

export const DEFAULT_PAGE_SIZE = 20;

/** One page of a Relay connection, before the resolvers shape it. */
export interface Page<T> {
  nodes: Array<{ node: T; cursor: string }>;
  hasNextPage: boolean;
  hasPreviousPage: boolean;
  totalCount: number;
}

/** `first` checked: default 20, at most `max` (MAX_PAGE_SIZE, 100; BAD_USER_INPUT beyond, RULES.md "Errors"). */
export function pageSize(first: number | null | undefined, max: number): number {
  if (first === null || first === undefined) return DEFAULT_PAGE_SIZE;
  if (!Number.isInteger(first) || first < 0 || first > max) {
    throw new DomainError(DomainErrorReason.PAGE_SIZE, `first must be between 0 and ${max}.`, { max });
  }
  return first;
}

/** Opaque keyset cursors: the position's fields, base64url-encoded JSON. */
export function encodeCursor(position: Record<string, string | number>): string {
  return Buffer.from(JSON.stringify(position)).toString("base64url");
}

export function decodeCursor<T extends Record<string, string | number> = { at: number; id: string }>(cursor: string): T {
  try {
    const value = JSON.parse(Buffer.from(cursor, "base64url").toString("utf8"));
    if (value && typeof value === "object" && !Array.isArray(value)) return value as T;
  } catch {
    // fall through
  }
  throw invalidInput("The cursor is not valid; use a cursor from a previous page.", { field: "after" });
}

// The times a cursor may name: years 1 to 9999, which both a JS Date and a Postgres
// timestamp hold ("Invalid time value" or "timestamp out of range" beyond).
const MIN_CURSOR_MS = -62_135_596_800_000;
const MAX_CURSOR_MS = 253_402_300_799_999;

/** The largest position of an integer keyset (seq, version: Postgres `integer` columns). */
export const MAX_INT_POSITION = 2 ** 31 - 1;

const forgedCursor = () => invalidInput("The cursor is not valid; use a cursor from a previous page.", { field: "after" });

/** A keyset position of (a time in ms, an id), checked so a forged cursor is BAD_USER_INPUT. */
export function decodeTimeCursor(cursor: string): { at: number; id: string } {
  const position = decodeCursor<{ at: number; id: string }>(cursor);
  const { at, id } = position;
  if (!Number.isSafeInteger(at) || at < MIN_CURSOR_MS || at > MAX_CURSOR_MS || typeof id !== "string" || !isUuid(id)) throw forgedCursor();
  return position;
}

/** Whether `value` is a position an integer keyset can hold (0 to 2^31 - 1). */
export function isIntPosition(value: unknown): value is number {
  return Number.isSafeInteger(value) && (value as number) >= 0 && (value as number) <= MAX_INT_POSITION;
}

/** A cursor of an integer keyset (seq, version) of one session's list; see decodeIntCursor. */
export function encodeIntCursor(sessionId: string, key: string, value: number): string {
  return encodeCursor({ s: sessionId, [key]: value });
}

/**
 * The integer keyset position (`{ s, [key]: n }`) of `cursor` in session `sessionId`'s
 * list, or 0 without one; BAD_USER_INPUT when forged or of another session.
 */
export function decodeIntCursor(cursor: string | null | undefined, key: string, sessionId: string): number {
  if (!cursor) return 0;
  const position = decodeCursor<Record<string, string | number>>(cursor);
  const value = position[key];
  if (!isIntPosition(value)) throw forgedCursor();
  if (position.s !== sessionId) throw invalidInput("The cursor belongs to another session's list.", { field: "after" });
  return value;
}
