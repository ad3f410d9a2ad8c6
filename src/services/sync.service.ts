import { createHash } from "node:crypto";
import type { DataSource, EntityManager } from "typeorm";
import { isUuid, type AccessPolicy } from "../auth/access";
import type { AuthContext } from "../auth/auth-context";
import { requireSeated } from "../auth/session-policy";
import type { BoardConflict, BoardOpInput, ConflictStrategy } from "../board";
import { SessionEventEntity } from "../entities/session-event.entity";
import { entityFromRow, selectColumns } from "../db/raw-rows";
import { invalidInput, notFound } from "../domain/errors";
import type { ApplyBoardResult, BoardService } from "./board.service";
import { readEvents } from "./timeline-hub";

/** One change a device applies to its cache: a timeline event, by the entity it concerns. */
export interface SyncChange {
  entity: SyncEntity;
  seq: number;
  data: Record<string, unknown>;
}

/** What a client cache keeps apart: the board, the chat, the session and its participants. */
export type SyncEntity = "board" | "chat" | "session" | "participant";

export interface SyncPullRequest {
  deviceId: string;
  sessionId: string;
  since?: number | null;
  limit?: number | null;
}

export interface SyncPullResult {
  changes: SyncChange[];
  /** The seq to pull `since` next: the last change's, or the checkpoint pulled from when none. */
  checkpoint: number;
  hasMore: boolean;
}

export interface SyncPushRequest {
  deviceId: string;
  sessionId: string;
  strategy?: ConflictStrategy | null;
  events: BoardOpInput[];
}

/** What sync_pushes keeps of a push's answer; its accepted events are read back by clientOpId. */
interface StoredPush {
  clientOpIds: string[];
  conflicts: BoardConflict[];
  version: number;
}

/**
 * Offline sync (W4): a device pulls the session's timeline after its checkpoint as changes
 * per entity (the checkpoint kept per user, device and session), and pushes the board ops it
 * made offline through the board's own write path (BoardService.write: permissions per op,
 * the strategy, conflicts, stamped on arrival, one transaction). A push is answered once: its
 * answer is stored with its events, keyed by its clientOpIds, so a retry answers the same
 * payload and changes nothing. Authorization is decided in src/auth.
 */
export class SyncService {
  constructor(
    private readonly db: DataSource,
    private readonly access: AccessPolicy,
    private readonly board: BoardService,
    /** MAX_PAGE_SIZE: the largest `limit` of a pull (and its default). */
    private readonly maxPageSize: number,
  ) {}

  /**
   * The session's changes after `since` (default: the device's stored checkpoint, else 0) in seq
   * order, at most `limit`; stores the answered checkpoint for the device. Read access as for
   * the timeline (NOT_FOUND otherwise); BAD_USER_INPUT for a checkpoint ahead of the session's
   * latest seq, a limit outside 1–MAX_PAGE_SIZE or a malformed deviceId.
   */
  async pull(auth: AuthContext, request: SyncPullRequest): Promise<SyncPullResult> {
    const { deviceId, sessionId, since, limit } = request;
    const actorId = auth.requireUserIdFor(sessionId);
    checkDeviceId(deviceId);
    const size = limit ?? this.maxPageSize;
    if (!Number.isInteger(size) || size < 1 || size > this.maxPageSize) {
      throw invalidInput(`limit must be between 1 and ${this.maxPageSize}.`, { field: "limit", max: this.maxPageSize });
    }
    if (since != null && (!Number.isInteger(since) || since < 0)) throw invalidInput("since must be a seq, 0 or more.", { field: "since" });
    if (!isUuid(sessionId) || !(await this.access.readableSessionIds(actorId, [sessionId])).has(sessionId)) throw notFound("Session");
    const [head] = (await this.db.query(
      `SELECT s.last_seq, c.seq AS stored FROM classroom_sessions s
         LEFT JOIN sync_checkpoints c ON c.session_id = s.id AND c.user_id = $2 AND c.device_id = $3
        WHERE s.id = $1`,
      [sessionId, actorId, deviceId],
    )) as Array<{ last_seq: number; stored: number | null }>;
    if (!head) throw notFound("Session");
    const from = since ?? head.stored ?? 0;
    if (from > head.last_seq) {
      throw invalidInput("The checkpoint is ahead of the session's latest seq.", { field: "since", latestSeq: head.last_seq });
    }
    const rows = await readEvents(this.db, sessionId, from, undefined, size + 1);
    const events = rows.slice(0, size);
    const checkpoint = events.at(-1)?.seq ?? from;
    await this.db.query(
      `INSERT INTO sync_checkpoints (user_id, device_id, session_id, seq) VALUES ($1, $2, $3, $4)
       ON CONFLICT (user_id, device_id, session_id) DO UPDATE SET seq = EXCLUDED.seq, updated_at = now()`,
      [actorId, deviceId, sessionId, checkpoint],
    );
    return { changes: events.map(toChange), checkpoint, hasMore: rows.length > size };
  }

  /**
   * Board ops made offline, through BoardService.write as applyBoardEvents takes them (all
   * or nothing; the strategy LAST_WRITE_WINS when omitted). Needs a seat (RULES.md
   * "Participants"). The same clientOpIds pushed again by the same user answer the stored
   * answer of the first push: the same accepted events, conflicts and version.
   */
  async push(auth: AuthContext, request: SyncPushRequest): Promise<ApplyBoardResult> {
    const actorId = auth.requireUserIdFor(request.sessionId);
    checkDeviceId(request.deviceId);
    const ops = this.board.checkBatch(request.events);
    const { sessionId } = request;
    const key = pushKey(ops.map((op) => op.clientOpId));
    requireSeated(await this.access.require(actorId, sessionId));
    const stored = await this.storedAnswer(sessionId, actorId, key);
    if (stored) return stored;
    const result = await this.board.write(actorId, sessionId, ops, request.strategy ?? "LAST_WRITE_WINS", {
      // session.boardVersion is the version this write reached (set before its events are appended).
      afterAppend: (tx, session, _board, _saved, conflicts) =>
        storePush(tx, sessionId, actorId, key, request.deviceId, { clientOpIds: ops.map((op) => op.clientOpId), conflicts, version: session.boardVersion }),
    });
    const answer = { accepted: result.accepted, conflicts: result.conflicts, version: result.version };
    // An identical push was stored first (a concurrent retry): answer what it answered.
    return result.extra ? answer : ((await this.storedAnswer(sessionId, actorId, key)) ?? answer);
  }

  /** The stored answer of the user's push `key` in the session, its events read back, if any. */
  private async storedAnswer(sessionId: string, userId: string, key: string): Promise<ApplyBoardResult | undefined> {
    const [row] = (await this.db.query(`SELECT result FROM sync_pushes WHERE session_id = $1 AND user_id = $2 AND push_key = $3`, [
      sessionId,
      userId,
      key,
    ])) as Array<{ result: StoredPush }>;
    if (!row) return undefined;
    const { clientOpIds, conflicts, version } = row.result;
    const rows = (await this.db.query(
      `SELECT ${selectColumns(this.db.manager, SessionEventEntity)} FROM session_events
        WHERE session_id = $1 AND client_op_id = ANY($2::text[]) AND user_id = $3 AND board_version IS NOT NULL`,
      [sessionId, clientOpIds, userId],
    )) as Array<Record<string, unknown>>;
    const byOpId = new Map(rows.map((r) => entityFromRow(this.db.manager, SessionEventEntity, r)).map((e) => [e.clientOpId as string, e]));
    return { accepted: clientOpIds.flatMap((id) => byOpId.get(id) ?? []), conflicts, version };
  }
}

/** Stores a push's answer in the write's transaction; false when an identical push was stored first. */
async function storePush(tx: EntityManager, sessionId: string, userId: string, key: string, deviceId: string, answer: StoredPush): Promise<boolean> {
  const rows = (await tx.query(
    `INSERT INTO sync_pushes (session_id, user_id, push_key, device_id, result) VALUES ($1, $2, $3, $4, $5::jsonb)
     ON CONFLICT DO NOTHING RETURNING push_key`,
    [sessionId, userId, key, deviceId, JSON.stringify(answer)],
  )) as unknown[];
  return rows.length > 0;
}

/** A push's identity: its clientOpIds in order (a retry sends the same ops). */
function pushKey(clientOpIds: readonly string[]): string {
  return createHash("sha256").update(JSON.stringify(clientOpIds)).digest("hex");
}

/** A device id is 1 to 128 printable characters (no control or format characters). */
function checkDeviceId(deviceId: string): void {
  if (typeof deviceId !== "string" || deviceId.length < 1 || deviceId.length > 128 || /\p{C}/u.test(deviceId)) {
    throw invalidInput("deviceId must be 1 to 128 printable characters.", { field: "deviceId" });
  }
}

/** The entity a timeline event type changes in a client's cache. */
export function syncEntityOf(type: string): SyncEntity {
  if (type.startsWith("BOARD_") || type.startsWith("SNAPSHOT_")) return "board";
  if (type === "CHAT_MESSAGE") return "chat";
  if (type.startsWith("SESSION_") || type === "RECORDING_START" || type === "RECORDING_STOP") return "session";
  return "participant";
}

/**
 * A timeline event as a change: board events in the shape of BoardEvent (op type, version,
 * clientOpId: what a client's board engine applies), the others in the shape of TimelineEvent.
 */
function toChange(event: SessionEventEntity): SyncChange {
  const { id, seq, type, userId, timestampMs, data, clientOpId, boardVersion } = event;
  const entity = syncEntityOf(type);
  const common = { id, type, userId, timestampMs, data };
  if (boardVersion === null) return { entity, seq, data: common };
  return { entity, seq, data: { ...common, type: type.replace(/^BOARD_/, ""), version: boardVersion, clientOpId } };
}
