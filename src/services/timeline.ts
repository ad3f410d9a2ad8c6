import type { DataSource, EntityManager } from "typeorm";
import { queryPrepared } from "../db/prepared";
import { isUuid } from "../auth/access";
import { SessionEventEntity } from "../entities/session-event.entity";
import { entityFromRow, selectColumns, type SqlCondition } from "../db/raw-rows";
import { SessionEntity } from "../entities/session.entity";
import { notFound } from "../domain/errors";
import type { TimelineMessage } from "../realtime/messages";

/** An event to append; seq and time are assigned under the session lock. */
export interface NewSessionEvent {
  type: SessionEventType;
  userId?: string | null;
  data?: Record<string, unknown>;
  /** Board events only. */
  clientOpId?: string;
  boardVersion?: number;
}

/** The contract's SessionEventType values this server writes. */
export type SessionEventType =
  | "SESSION_CREATED"
  | "SESSION_START"
  | "SESSION_PAUSE"
  | "SESSION_RESUME"
  | "SESSION_END"
  | "SESSION_TERMINATE"
  | "SESSION_EXPIRE"
  | "PARTICIPANT_JOIN"
  | "PARTICIPANT_LEAVE"
  | "PARTICIPANT_KICK"
  | "PARTICIPANT_RECONNECT"
  | "PARTICIPANT_DISCONNECT"
  | "MEDIA_AUDIO_ON"
  | "MEDIA_AUDIO_OFF"
  | "MEDIA_VIDEO_ON"
  | "MEDIA_VIDEO_OFF"
  | "SCREEN_SHARE_START"
  | "SCREEN_SHARE_STOP"
  | "VIDEO_CALL_JOIN"
  | "VIDEO_CALL_LEAVE"
  | "RECORDING_START"
  | "RECORDING_STOP"
  | "RECORDING_CONSENT"
  | "ROLE_CHANGE"
  | "PERMISSION_UPDATE"
  | "CHAT_MESSAGE"
  | "HAND_RAISE"
  | "HAND_LOWER"
  | "SNAPSHOT_MANUAL"
  | "SNAPSHOT_RESTORE"
  | BoardEventType;

/** Timeline types of board events: `BOARD_` + the op type (BOARD_OPS.md). */
export type BoardEventType =
  | "BOARD_STROKE"
  | "BOARD_OBJECT_CREATE"
  | "BOARD_OBJECT_MODIFY"
  | "BOARD_OBJECT_DELETE"
  | "BOARD_LAYER_ADD"
  | "BOARD_LAYER_DELETE"
  | "BOARD_LAYER_REORDER"
  | "BOARD_TEXT_EDIT"
  | "BOARD_IMAGE_UPLOAD"
  | "BOARD_UNDO"
  | "BOARD_REDO"
  | "BOARD_CLEAR"
  | "BOARD_RESTORE";

/**
 * Locks the session row until the transaction ends and answers it as it is now: every
 * change to a session and every timeline append happens under this lock, so seq numbers are
 * gap-free and time never goes backwards. NOT_FOUND when there is no such session.
 *
 * One statement that reads nothing but the row it locks: a lock that had to wait answers the
 * row as its holder committed it, but anything else the same statement read would come from
 * the snapshot taken before the wait, so other rows are read by later statements.
 */
export async function lockSession(tx: EntityManager, sessionId: string): Promise<SessionEntity> {
  if (!isUuid(sessionId)) throw notFound("Session");
  const sql = `SELECT ${selectColumns(tx, SessionEntity)} FROM classroom_sessions WHERE id = $1 FOR UPDATE`;
  const rows = (await tx.query(sql, [sessionId])) as Array<Record<string, unknown>>;
  if (rows.length === 0) throw notFound("Session");
  return entityFromRow(tx, SessionEntity, rows[0]);
}

/**
 * Appends `events` to the locked `session`'s timeline in order: seq = the next numbers,
 * timestampMs = the database clock's milliseconds since the actual start (0 before it),
 * never below the previous event's. Stores the session's counters (lastSeq, lastEventMs and
 * boardVersion, which a board write sets on `session` before) in `session` and in the
 * database; the caller must hold the lock (lockSession) in the same transaction.
 *
 * One statement whatever the number of events: a data-modifying CTE updates the counters
 * and reads the clock (so after the lock was granted), the events are inserted from one
 * JSON parameter, and only what the database made (id, created_at) comes back. No events,
 * no statement: the board version only moves with a board event.
 */
export async function appendEvents(tx: EntityManager, session: SessionEntity, events: readonly NewSessionEvent[]): Promise<SessionEventEntity[]> {
  if (events.length === 0) return [];
  const rows = eventRows(events, session.lastSeq + 1);
  // timestampMs as before this was SQL: the JS session's clock fields (the locked row's), the
  // database clock cut to whole milliseconds as a JS Date would hold it.
  const returned = (await tx.query(
    `WITH clock AS (
       UPDATE classroom_sessions
          SET last_seq = $2, board_version = $3, updated_at = CURRENT_TIMESTAMP,
              last_event_ms = GREATEST($4::bigint, CASE WHEN $5::bigint IS NULL THEN 0
                ELSE floor(extract(epoch FROM clock_timestamp()) * 1000)::bigint - $5::bigint END)
        WHERE id = $1
        RETURNING last_event_ms AS ms)
     INSERT INTO session_events (session_id, seq, timestamp_ms, type, user_id, data, client_op_id, board_version)
     SELECT $1, e.seq, clock.ms, e.type, e.user_id, e.data, e.client_op_id, e.board_version
       FROM clock, jsonb_to_recordset($6::jsonb) AS e(seq integer, type text, user_id uuid, data jsonb, client_op_id text, board_version integer)
     RETURNING id, seq, timestamp_ms, created_at`,
    [session.id, session.lastSeq + events.length, session.boardVersion, session.lastEventMs, session.actualStart?.getTime() ?? null, JSON.stringify(rows)],
  )) as ReturnedEvent[];
  const saved = savedEvents(session.id, rows, returned);
  session.lastSeq += events.length;
  session.lastEventMs = saved[0].timestampMs;
  return saved;
}

/**
 * The write path without a transaction, for a change computed from state the caller holds
 * (a board batch on the cached board): one autocommit statement that takes the session row's
 * lock, appends `events` (seq, time and counters as appendEvents, the board version set to
 * `boardVersion`) when `condition` holds for the row (alias `s`), and answers them; answers undefined and
 * writes nothing when the condition does not hold, or when anything was appended to the
 * session between the statement's snapshot and the lock being granted (what the condition
 * read of other rows may then be out of date: a kick, a permission change). The caller then
 * takes the locked path, which answers the exact outcome.
 */
export async function appendEventsIf(
  db: DataSource,
  sessionId: string,
  events: readonly NewSessionEvent[],
  boardVersion: number,
  condition: SqlCondition,
): Promise<SessionEventEntity[] | undefined> {
  if (events.length === 0) throw new Error("appendEventsIf: no events");
  const rows = eventRows(events, 1);
  const params: unknown[] = [sessionId, events.length, boardVersion, JSON.stringify(rows)];
  const where = condition((value) => `$${params.push(value)}`);
  // The snapshot's last_seq is read once (a CTE); the guard compares the row as the lock
  // finds it with it, so a change committed while this statement waited fails the guard.
  const returned = await queryPrepared<ReturnedEvent>(
    db,
    `WITH snapshot AS MATERIALIZED (SELECT last_seq FROM classroom_sessions WHERE id = $1),
     clock AS (
       UPDATE classroom_sessions s
          SET last_seq = s.last_seq + $2, board_version = $3, updated_at = CURRENT_TIMESTAMP,
              last_event_ms = GREATEST(s.last_event_ms, CASE WHEN s.actual_start IS NULL THEN 0
                ELSE floor(extract(epoch FROM clock_timestamp()) * 1000)::bigint - floor(extract(epoch FROM s.actual_start) * 1000)::bigint END)
        WHERE s.id = $1 AND s.last_seq = (SELECT last_seq FROM snapshot) AND (${where})
        RETURNING s.last_seq - $2 AS base, s.last_event_ms AS ms)
     INSERT INTO session_events (session_id, seq, timestamp_ms, type, user_id, data, client_op_id, board_version)
     SELECT $1, clock.base + e.seq, clock.ms, e.type, e.user_id, e.data, e.client_op_id, e.board_version
       FROM clock, jsonb_to_recordset($4::jsonb) AS e(seq integer, type text, user_id uuid, data jsonb, client_op_id text, board_version integer)
     RETURNING id, seq, timestamp_ms, created_at`,
    params,
  );
  return returned.length === 0 ? undefined : savedEvents(sessionId, rows, returned);
}

/**
 * Another write path without a transaction, for changes to other rows that each record one
 * event (participants reconnecting): one autocommit statement that takes the session row's
 * lock first, then runs `change`, and appends one event of `type` per row `change` answers,
 * in the order of their user_id (seq, time and counters as appendEvents). `change` is a
 * data-modifying statement that joins the CTE `locked` (the locked session row, column id;
 * so it runs once the lock is granted, and its UPDATE re-checks each row as committed
 * then) and answers the columns user_id and data; its own parameters start at $3
 * ($1 is the session id, $2 the event type). Nothing changed, nothing appended.
 */
export async function appendPerChange(
  db: DataSource,
  sessionId: string,
  type: SessionEventType,
  change: string,
  params: readonly unknown[],
): Promise<SessionEventEntity[]> {
  const returned = await queryPrepared<ReturnedEvent & { user_id: string; data: Record<string, unknown> }>(
    db,
    `WITH locked AS (SELECT id FROM classroom_sessions WHERE id = $1 FOR UPDATE),
     changed AS (${change}),
     numbered AS (SELECT user_id, data, row_number() OVER (ORDER BY user_id)::int AS n FROM changed),
     clock AS (
       UPDATE classroom_sessions s
          SET last_seq = s.last_seq + (SELECT count(*) FROM changed), updated_at = CURRENT_TIMESTAMP,
              last_event_ms = GREATEST(s.last_event_ms, CASE WHEN s.actual_start IS NULL THEN 0
                ELSE floor(extract(epoch FROM clock_timestamp()) * 1000)::bigint - floor(extract(epoch FROM s.actual_start) * 1000)::bigint END)
        WHERE s.id = $1 AND EXISTS (SELECT 1 FROM changed)
        RETURNING s.last_seq - (SELECT count(*) FROM changed) AS base, s.last_event_ms AS ms)
     INSERT INTO session_events (session_id, seq, timestamp_ms, type, user_id, data)
     SELECT $1, clock.base + numbered.n, clock.ms, $2, numbered.user_id, numbered.data
       FROM clock, numbered
     RETURNING id, seq, timestamp_ms, created_at, user_id, data`,
    [sessionId, type, ...params],
  );
  const rows = returned
    .sort((a, b) => a.seq - b.seq)
    .map((r): EventRow => ({ seq: r.seq, type, user_id: r.user_id, data: r.data, client_op_id: null, board_version: null }));
  return returned.length === 0 ? [] : savedEvents(sessionId, rows, returned);
}

interface EventRow {
  seq: number;
  type: SessionEventType;
  user_id: string | null;
  data: Record<string, unknown>;
  client_op_id: string | null;
  board_version: number | null;
}

interface ReturnedEvent {
  id: string;
  seq: number;
  timestamp_ms: string | number;
  created_at: Date;
}

/** The rows to insert, numbered from `firstSeq`. */
function eventRows(events: readonly NewSessionEvent[], firstSeq: number): EventRow[] {
  return events.map((event, i) => ({
    seq: firstSeq + i,
    type: event.type,
    user_id: event.userId ?? null,
    data: event.data ?? {},
    client_op_id: event.clientOpId ?? null,
    board_version: event.boardVersion ?? null,
  }));
}

/** The stored events, in seq order: `rows` (in order) with what the database made of them. */
function savedEvents(sessionId: string, rows: readonly EventRow[], returned: readonly ReturnedEvent[]): SessionEventEntity[] {
  if (returned.length !== rows.length) throw new Error(`appended ${returned.length} of ${rows.length} events`);
  const firstSeq = returned.reduce((min, r) => Math.min(min, r.seq), Infinity);
  const timestampMs = Number(returned[0].timestamp_ms);
  const saved = new Array<SessionEventEntity>(rows.length);
  for (const { id, seq, created_at } of returned) {
    const row = rows[seq - firstSeq];
    saved[seq - firstSeq] = Object.assign(new SessionEventEntity(), {
      id,
      sessionId,
      seq,
      timestampMs,
      type: row.type,
      userId: row.user_id,
      data: row.data,
      clientOpId: row.client_op_id,
      boardVersion: row.board_version,
      createdAt: created_at,
    });
  }
  return saved;
}

/** The database's clock, so time agrees across instances. */
export async function dbNow(tx: EntityManager): Promise<Date> {
  const [{ now }] = (await tx.query(`SELECT clock_timestamp() AS now`)) as Array<{ now: Date }>;
  return new Date(now);
}

export function toMessage(event: SessionEventEntity): TimelineMessage {
  const { id, sessionId, seq, type, timestampMs, userId, data, clientOpId, boardVersion, createdAt } = event;
  return { id, sessionId, seq, type, timestampMs, userId, data, clientOpId, boardVersion, createdAt };
}
