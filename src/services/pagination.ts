import { isUuid } from "../auth/access";
import { DomainError, DomainErrorReason, invalidInput } from "./errors";

export const DEFAULT_PAGE_SIZE = 20;
export const MAX_PAGE_SIZE = 100;

/** One page of a Relay connection, before the resolvers shape it. */
export interface Page<T> {
  nodes: Array<{ node: T; cursor: string }>;
  hasNextPage: boolean;
  hasPreviousPage: boolean;
  totalCount: number;
}

/** `first` checked: default 20, at most 100 (BAD_USER_INPUT beyond, RULES.md "Errors"). */
export function pageSize(first: number | null | undefined, max = MAX_PAGE_SIZE): number {
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

/** A keyset position of (a time in ms, an id), checked so a forged cursor is BAD_USER_INPUT. */
export function decodeTimeCursor(cursor: string): { at: number; id: string } {
  const position = decodeCursor<{ at: number; id: string }>(cursor);
  if (!Number.isSafeInteger(position.at) || typeof position.id !== "string" || !isUuid(position.id)) {
    throw invalidInput("The cursor is not valid; use a cursor from a previous page.", { field: "after" });
  }
  return position;
}

/** An integer keyset position (`{ [key]: n }`) from `cursor`, or 0 without one; BAD_USER_INPUT when forged. */
export function decodeIntCursor(cursor: string | null | undefined, key: string): number {
  if (!cursor) return 0;
  const value = decodeCursor<Record<string, number>>(cursor)[key];
  if (!Number.isSafeInteger(value)) throw invalidInput("The cursor is not valid; use a cursor from a previous page.", { field: "after" });
  return value;
}
