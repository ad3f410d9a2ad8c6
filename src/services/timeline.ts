import type { EntityManager } from "typeorm";
import { isUuid } from "../auth/access";
import { SessionEventEntity } from "../entities/session-event.entity";
import { SessionEntity } from "../entities/session.entity";
import { notFound } from "./errors";

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
 */
export async function lockSession(tx: EntityManager, sessionId: string): Promise<SessionEntity> {
  const session = isUuid(sessionId)
    ? await tx.getRepository(SessionEntity).findOne({ where: { id: sessionId }, lock: { mode: "pessimistic_write" } })
    : null;
  if (!session) throw notFound("Session");
  return session;
}

/**
 * Appends `events` to the locked `session`'s timeline in order: seq = the next numbers,
 * timestampMs = the database clock's milliseconds since the actual start (0 before it),
 * never below the previous event's. Updates the session's clock fields in `session` and in
 * the database; the caller must hold the lock (lockSession) in the same transaction.
 */
export async function appendEvents(
  tx: EntityManager,
  session: SessionEntity,
  events: readonly NewSessionEvent[],
): Promise<SessionEventEntity[]> {
  if (events.length === 0) return [];
  const now = await dbNow(tx);
  const sinceStart = session.actualStart ? Math.max(0, now.getTime() - session.actualStart.getTime()) : 0;
  const timestampMs = Math.max(session.lastEventMs, sinceStart);
  const rows = events.map((event, i) =>
    tx.create(SessionEventEntity, {
      sessionId: session.id,
      seq: session.lastSeq + 1 + i,
      timestampMs,
      type: event.type,
      userId: event.userId ?? null,
      data: event.data ?? {},
      clientOpId: event.clientOpId ?? null,
      boardVersion: event.boardVersion ?? null,
    }),
  );
  const saved = await tx.save(SessionEventEntity, rows);
  session.lastSeq += events.length;
  session.lastEventMs = timestampMs;
  await tx.update(SessionEntity, { id: session.id }, { lastSeq: session.lastSeq, lastEventMs: timestampMs });
  return saved;
}

/** The database's clock, so time agrees across instances. */
export async function dbNow(tx: EntityManager): Promise<Date> {
  const [{ now }] = (await tx.query(`SELECT clock_timestamp() AS now`)) as Array<{ now: Date }>;
  return new Date(now);
}

/** A committed timeline event as published to the session's subscribers. */
export interface TimelineMessage {
  id: string;
  sessionId: string;
  seq: number;
  type: string;
  timestampMs: number;
  userId: string | null;
  data: Record<string, unknown>;
  clientOpId: string | null;
  boardVersion: number | null;
  createdAt: Date;
}

export function toMessage(event: SessionEventEntity): TimelineMessage {
  const { id, sessionId, seq, type, timestampMs, userId, data, clientOpId, boardVersion, createdAt } = event;
  return { id, sessionId, seq, type, timestampMs, userId, data, clientOpId, boardVersion, createdAt };
}
