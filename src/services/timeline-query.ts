import type { DataSource } from "typeorm";
import { isUuid } from "../auth/access";
import { queryPrepared } from "../db/prepared";
import { SessionEventEntity } from "../entities/session-event.entity";
import { invalidInput } from "../domain/errors";
import { decodeCursor, encodeCursor, isIntPosition } from "./pagination";

/** What a timeline read may be narrowed by; every criterion optional. */
export interface TimelineFilterInput {
  types?: readonly string[] | null;
  /** Inclusive. */
  fromMs?: number | null;
  /** Exclusive (RULES.md "Time": windows are half-open). */
  toMs?: number | null;
  userId?: string | null;
}

/** A filter checked and normalised (same criteria → same JSON, so requests can share a statement). */
export interface CheckedFilter {
  types: string[] | null;
  fromMs: number | null;
  toMs: number | null;
  userId: string | null;
}

/** Checks a client's filter: BAD_USER_INPUT for negative or reversed times and malformed user ids. */
export function checkFilter(filter: TimelineFilterInput = {}): CheckedFilter {
  const { fromMs = null, toMs = null, userId = null } = filter;
  for (const [field, value] of [
    ["fromMs", fromMs],
    ["toMs", toMs],
  ] as const) {
    if (value !== null && (!Number.isSafeInteger(value) || value < 0)) {
      throw invalidInput(`${field} must be a whole number of milliseconds, 0 or more.`, { field: `filter.${field}` });
    }
  }
  if (fromMs !== null && toMs !== null && fromMs > toMs) throw invalidInput("fromMs must not be after toMs.", { field: "filter.fromMs" });
  if (userId !== null && !isUuid(userId)) throw invalidInput("userId is not a valid id.", { field: "filter.userId" });
  const types = filter.types?.length ? [...new Set(filter.types)].sort() : null;
  return { types, fromMs, toMs, userId: userId?.toLowerCase() ?? null };
}

/** Opaque to clients; scoped to its session so a cursor of another timeline is refused. */
export function timelineCursor(sessionId: string, seq: number): string {
  return encodeCursor({ s: sessionId, q: seq });
}

/** The seq a timeline cursor stands for; BAD_USER_INPUT when forged or of another session. */
export function decodeTimelineCursor(cursor: string, sessionId: string): number {
  const position = decodeCursor<{ s: string; q: number }>(cursor);
  if (typeof position.s !== "string" || !isIntPosition(position.q)) {
    throw invalidInput("The cursor is not valid; use a cursor from a previous page.", { field: "after" });
  }
  if (position.s !== sessionId) throw invalidInput("The cursor belongs to another session's timeline.", { field: "after" });
  return position.q;
}

/** The filter as SQL conditions on `e` (session_events), its values appended to `params`. */
function conditions(filter: CheckedFilter, params: unknown[]): string {
  const sql: string[] = [];
  const param = (value: unknown, cast: string) => `$${params.push(value)}::${cast}`;
  if (filter.types) sql.push(`e.type = ANY(${param(filter.types, "text[]")})`);
  if (filter.fromMs !== null) sql.push(`e.timestamp_ms >= ${param(filter.fromMs, "bigint")}`);
  if (filter.toMs !== null) sql.push(`e.timestamp_ms < ${param(filter.toMs, "bigint")}`);
  if (filter.userId !== null) sql.push(`e.user_id = ${param(filter.userId, "uuid")}`);
  return sql.map((c) => ` AND ${c}`).join("");
}

interface EventRow {
  i: number;
  id: string;
  session_id: string;
  seq: number;
  timestamp_ms: number;
  type: string;
  user_id: string | null;
  data: Record<string, unknown> | string;
  client_op_id: string | null;
  board_version: number | null;
  created_at: Date | string;
}

/**
 * Keyset pages of several sessions' timelines in one statement: for each request, up to
 * `limit` events of its session with seq > afterSeq matching `filter`, in seq order. Each
 * page is an index range scan on (session_id, seq); nothing before the cursor is read.
 */
export async function readPages(
  db: DataSource,
  filter: CheckedFilter,
  limit: number,
  requests: ReadonlyArray<{ sessionId: string; afterSeq: number }>,
): Promise<SessionEventEntity[][]> {
  if (requests.length === 0) return [];
  const params: unknown[] = [requests.map((r) => r.sessionId), requests.map((r) => r.afterSeq), limit];
  const rows = await queryPrepared<EventRow>(
    db,
    `SELECT k.i::int AS i, p.*
       FROM unnest($1::uuid[], $2::int[]) WITH ORDINALITY AS k(session_id, after_seq, i)
      CROSS JOIN LATERAL (
        SELECT e.id, e.session_id, e.seq, e.timestamp_ms::float8 AS timestamp_ms, e.type, e.user_id, e.data,
               e.client_op_id, e.board_version, e.created_at
          FROM session_events e
         WHERE e.session_id = k.session_id AND e.seq > k.after_seq${conditions(filter, params)}
         ORDER BY e.seq
         LIMIT $3) p
      ORDER BY k.i, p.seq`,
    params,
  );
  const pages: SessionEventEntity[][] = requests.map(() => []);
  for (const row of rows) pages[row.i - 1].push(toEntity(row));
  return pages;
}

/** How many events of each session match `filter`, in the order asked (one statement). */
export async function countMatching(db: DataSource, filter: CheckedFilter, sessionIds: readonly string[]): Promise<number[]> {
  if (sessionIds.length === 0) return [];
  const params: unknown[] = [[...new Set(sessionIds)]];
  const rows = await queryPrepared<{ session_id: string; n: number }>(
    db,
    `SELECT e.session_id, count(*)::int AS n FROM session_events e
      WHERE e.session_id = ANY($1::uuid[])${conditions(filter, params)}
      GROUP BY e.session_id`,
    params,
  );
  const byId = new Map(rows.map((r) => [r.session_id, r.n]));
  return sessionIds.map((id) => byId.get(id) ?? 0);
}

function toEntity(row: EventRow): SessionEventEntity {
  return Object.assign(new SessionEventEntity(), {
    id: row.id,
    sessionId: row.session_id,
    seq: row.seq,
    timestampMs: row.timestamp_ms,
    type: row.type,
    userId: row.user_id,
    data: typeof row.data === "string" ? JSON.parse(row.data) : row.data,
    clientOpId: row.client_op_id,
    boardVersion: row.board_version,
    createdAt: row.created_at instanceof Date ? row.created_at : new Date(row.created_at),
  });
}

/** A session's event counts (SessionSummary, the report). */
export interface EventCounts {
  total: number;
  countsByType: Record<string, number>;
  firstEventMs: number | null;
  lastEventMs: number | null;
}

/** Event counts from GROUP BY type rows (with their first and last times when read). */
export function toCounts(rows: ReadonlyArray<{ type: string; n: number; first?: number; last?: number }>): EventCounts {
  const countsByType: Record<string, number> = {};
  let total = 0;
  let firstEventMs: number | null = null;
  let lastEventMs: number | null = null;
  for (const row of [...rows].sort((a, b) => a.type.localeCompare(b.type))) {
    countsByType[row.type] = row.n;
    total += row.n;
    if (row.first !== undefined && row.first !== null) firstEventMs = firstEventMs === null ? row.first : Math.min(firstEventMs, row.first);
    if (row.last !== undefined && row.last !== null) lastEventMs = lastEventMs === null ? row.last : Math.max(lastEventMs, row.last);
  }
  return { total, countsByType, firstEventMs, lastEventMs };
}
