import { randomUUID } from "node:crypto";
import type { EntityManager } from "typeorm";
import type { AccessPolicy } from "../auth/access";
import type { AuthContext } from "../auth/auth-context";
import { BoardValidationError, boardBytes, publicBoard, validateBoardContent, type BoardContent, type BoardOpInput, type BoardState } from "../board";
import { BoardSnapshotEntity, SnapshotType } from "../entities/board-snapshot.entity";
import { SEATED } from "../entities/participant.entity";
import type { SessionEventEntity } from "../entities/session-event.entity";
import { SessionEntity, SessionStatus, SessionType } from "../entities/session.entity";
import type { BoardService, KeyframeRecorder, SerializedBoard } from "./board.service";
import { DomainError, DomainErrorReason, invalidInput, notFound } from "../domain/errors";
import { decodeIntCursor, encodeIntCursor, pageSize, type Page } from "./pagination";
import { requireStatus } from "./session-lifecycle";
import type { SessionStore } from "./session-store";
import { authorize, requireSeated, type SessionAccess } from "../auth/session-policy";

export interface SnapshotSettings {
  /** SNAPSHOT_EVERY_EVENTS: a keyframe at every multiple of it. */
  everyEvents: number;
  /** SOLO_QUOTA_BYTES. */
  quotaBytes: number;
  /** SOLO_SNAPSHOT_KEEP_LAST. */
  soloKeepLast: number;
  /** MAX_PAGE_SIZE: the largest `first` of a snapshot page. */
  maxPageSize: number;
}

/** What a capture records besides the board. */
interface Capture {
  type: SnapshotType;
  createdBy: string | null;
  keyframe?: boolean;
  /** The timeline position the board reflects; the session's clock by default. */
  seq?: number;
  timestampMs?: number;
  /** Counted against this user's storage quota (solo snapshots). */
  quotaOwnerId?: string | null;
}

export interface StorageUsage {
  usedBytes: number;
  quotaBytes: number;
  remainingBytes: number;
}

/** Every column but the board text, for lists. */
const LISTED: Array<keyof BoardSnapshotEntity> = [
  "id",
  "sessionId",
  "version",
  "boardVersion",
  "seq",
  "timestampMs",
  "type",
  "keyframe",
  "createdBy",
  "participantCount",
  "sizeBytes",
  "quotaOwnerId",
  "createdAt",
];

/**
 * Board snapshots (H2) and the solo storage quota (W1): keyframes on the write path,
 * JOIN/LEAVE/TERMINATE captures on the session's changes, MANUAL saves, restores as new
 * board versions (history is never rewritten), solo snapshots under quota, and the autosave
 * and retention jobs' work. Every capture runs under the session lock, in the transaction
 * of the change it belongs to, so its seq and board version agree with the timeline.
 *
 * Keyframes are taken at every multiple of SNAPSHOT_EVERY_EVENTS board versions (inside a
 * batch too), whatever other snapshots exist: retention removes those others, and a seek must
 * still find a stored board at most SNAPSHOT_EVERY_EVENTS versions back.
 */
export class SnapshotService implements KeyframeRecorder {
  constructor(
    private readonly store: SessionStore,
    private readonly access: AccessPolicy,
    private readonly board: BoardService,
    private readonly settings: SnapshotSettings,
  ) {}

  /** KeyframeRecorder: a keyframe at every multiple of SNAPSHOT_EVERY_EVENTS. */
  get everyEvents(): number {
    return this.settings.everyEvents;
  }

  private get db() {
    return this.store.db;
  }

  /** KeyframeRecorder: the boards the write serialized at its keyframes, each at its own event's seq. */
  async record(tx: EntityManager, session: SessionEntity, boards: readonly SerializedBoard[], saved: readonly SessionEventEntity[]): Promise<void> {
    const keyframes = boards.flatMap(({ version, bytes }) => {
      const event = saved.find((e) => e.boardVersion === version);
      // Always found: every applied op is stored.
      return event
        ? [{ bytes, version, what: { type: SnapshotType.AUTO, createdBy: null, keyframe: true, seq: event.seq, timestampMs: event.timestampMs } }]
        : [];
    });
    await this.captureAll(tx, session, keyframes);
  }

  /** KeyframeRecorder: the latest stored board at or below `boardVersion`. */
  async latest(tx: EntityManager, sessionId: string, boardVersion: number): Promise<BoardState | undefined> {
    const [row] = (await tx.query(
      `SELECT board FROM board_snapshots WHERE session_id = $1 AND board_version <= $2 ORDER BY seq DESC, board_version DESC LIMIT 1`,
      [sessionId, boardVersion],
    )) as Array<{ board: string }>;
    return row ? (JSON.parse(row.board) as BoardState) : undefined;
  }

  /**
   * Stores `state` as the locked `session`'s next snapshot. With a quota owner, the bytes are
   * added to their usage by one statement that also checks the quota (QUOTA_EXCEEDED, and the
   * caller's transaction stores nothing).
   */
  async capture(tx: EntityManager, session: SessionEntity, state: BoardState, what: Capture): Promise<BoardSnapshotEntity> {
    const [saved] = await this.captureAll(tx, session, [{ bytes: boardBytes(state), version: state.version, what }]);
    return saved;
  }

  /**
   * capture for several boards of one session, numbered in order. On the write path (a
   * keyframe) this runs under the session lock: the next number and the seat count are one
   * statement, each board one INSERT, and the row is built here rather than hydrated.
   */
  private async captureAll(tx: EntityManager, session: SessionEntity, items: Array<SerializedBoard & { what: Capture }>): Promise<BoardSnapshotEntity[]> {
    const [{ next, seated }] = (await tx.query(
      `SELECT (SELECT COALESCE(MAX(version), 0) + 1 FROM board_snapshots WHERE session_id = $1) AS next,
              (SELECT count(*) FROM session_participants WHERE session_id = $1 AND status = ANY($2::text[])) AS seated`,
      [session.id, [...SEATED]],
    )) as Array<{ next: number | string; seated: number | string }>;
    const participantCount = Number(seated);
    const snapshots: BoardSnapshotEntity[] = [];
    for (const [i, { bytes: board, version, what }] of items.entries()) {
      const sizeBytes = board.length;
      if (what.quotaOwnerId) await this.charge(tx, what.quotaOwnerId, sizeBytes);
      const snapshot = {
        sessionId: session.id,
        version: Number(next) + i,
        boardVersion: version,
        seq: what.seq ?? session.lastSeq,
        timestampMs: what.timestampMs ?? session.lastEventMs,
        type: what.type,
        keyframe: what.keyframe ?? false,
        createdBy: what.createdBy,
        participantCount,
        sizeBytes,
        quotaOwnerId: what.quotaOwnerId ?? null,
      };
      const [row] = (await tx.query(
        `INSERT INTO board_snapshots (session_id, version, board_version, seq, timestamp_ms, type, keyframe, created_by,
                                      participant_count, size_bytes, quota_owner_id, board)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, convert_from($12::bytea, 'UTF8'))
         RETURNING id, created_at`,
        [
          snapshot.sessionId,
          snapshot.version,
          snapshot.boardVersion,
          snapshot.seq,
          snapshot.timestampMs,
          snapshot.type,
          snapshot.keyframe,
          snapshot.createdBy,
          snapshot.participantCount,
          snapshot.sizeBytes,
          snapshot.quotaOwnerId,
          board,
        ],
      )) as Array<{ id: string; created_at: Date }>;
      const saved = Object.assign(new BoardSnapshotEntity(), snapshot, { id: row.id, createdAt: row.created_at });
      delete (saved as Partial<BoardSnapshotEntity>).board; // never handed out with the row
      snapshots.push(saved);
    }
    return snapshots;
  }

  /**
   * JOIN and LEAVE captures (when the board changed since the last snapshot) and the
   * TERMINATE capture of a lesson that ends (when it has a board), in the caller's transaction.
   */
  async onSessionChange(
    tx: EntityManager,
    session: SessionEntity,
    type: SnapshotType.JOIN | SnapshotType.LEAVE | SnapshotType.TERMINATE,
    userId: string | null,
  ): Promise<void> {
    if (session.boardVersion === 0) return;
    if (type !== SnapshotType.TERMINATE && (await this.lastBoardVersion(tx, session.id)) >= session.boardVersion) return;
    await this.capture(tx, session, await this.board.boardIn(tx, session), { type, createdBy: userId });
  }

  /** saveBoard: a MANUAL snapshot (canDraw), counted against the owner's quota in a solo session. */
  async save(auth: AuthContext, sessionId: string): Promise<BoardSnapshotEntity> {
    const actorId = auth.requireUserIdFor(sessionId);
    return this.store.change(sessionId, async (tx, session) => {
      const access = await this.access.require(actorId, sessionId, tx, session);
      authorize(access, "saveBoard");
      requireStatus(session.status, [SessionStatus.ACTIVE, SessionStatus.PAUSED], "save the board");
      requireSeated(access); // a board write needs a seat (RULES.md "Participants")
      const state = await this.board.boardIn(tx, session);
      const quotaOwnerId = session.type === SessionType.SOLO ? session.hostId : null;
      const snapshot = await this.capture(tx, session, state, { type: SnapshotType.MANUAL, createdBy: actorId, quotaOwnerId });
      return {
        result: snapshot,
        events: [{ type: "SNAPSHOT_MANUAL", userId: actorId, data: { snapshotVersion: snapshot.version, boardVersion: snapshot.boardVersion } }],
      };
    });
  }

  /**
   * restoreSnapshot: the board set to snapshot `version` as a new board version (a RESTORE
   * board event every subscriber receives), recorded as a RESTORE snapshot. Host or canClearBoard.
   */
  async restore(auth: AuthContext, sessionId: string, version: number): Promise<BoardSnapshotEntity> {
    const actorId = auth.requireUserIdFor(sessionId);
    const mayRestore = (access: SessionAccess) => authorize(access, "restoreSnapshot");
    // Checked before the snapshot is looked up, so its existence does not leak.
    mayRestore(await this.access.require(actorId, sessionId));
    const source = await this.boardOf(sessionId, version);
    if (!source) throw notFound("Snapshot");
    const written = await this.writeRestore(actorId, sessionId, restoreContent(source.state), mayRestore, {
      type: SnapshotType.RESTORE,
      createdBy: actorId,
      extraEvent: { type: "SNAPSHOT_RESTORE", userId: actorId, data: { fromSnapshotVersion: version } },
    });
    return written;
  }

  /**
   * createSoloSnapshot: the client's board, validated by the engine, becomes the solo board
   * (a RESTORE event) and a MANUAL snapshot counted against the owner's quota; over quota,
   * QUOTA_EXCEEDED and nothing is stored.
   */
  async createSolo(auth: AuthContext, sessionId: string, board: unknown): Promise<BoardSnapshotEntity> {
    const actorId = auth.requireUserIdFor(sessionId);
    const content = parseContent(board);
    const maySnapshot = (access: SessionAccess) => {
      if (access.session.type !== SessionType.SOLO) throw invalidInput("createSoloSnapshot is for solo sessions; use saveBoard.", { field: "sessionId" });
      authorize(access, "storeSoloSnapshot");
    };
    return this.writeRestore(actorId, sessionId, content, maySnapshot, { type: SnapshotType.MANUAL, createdBy: actorId, quota: true });
  }

  /** A RESTORE board event with `content`, then the snapshot of the board it made, in one transaction. */
  private async writeRestore(
    actorId: string,
    sessionId: string,
    content: BoardContent,
    authorize: (access: SessionAccess) => void,
    what: { type: SnapshotType; createdBy: string; quota?: boolean; extraEvent?: { type: "SNAPSHOT_RESTORE"; userId: string; data: Record<string, unknown> } },
  ): Promise<BoardSnapshotEntity> {
    const op: BoardOpInput = { clientOpId: `restore:${randomUUID()}`, type: "RESTORE", baseVersion: 0, data: content };
    const { extra } = await this.board.write(actorId, sessionId, [op], "LAST_WRITE_WINS", {
      authorize,
      extraEvents: what.extraEvent ? [what.extraEvent] : [],
      afterAppend: (tx, session, state, saved) => {
        const restored = saved.find((e) => e.boardVersion === state.version) ?? saved[saved.length - 1];
        return this.capture(tx, session, state, {
          type: what.type,
          createdBy: what.createdBy,
          seq: restored.seq,
          timestampMs: restored.timestampMs,
          quotaOwnerId: what.quota ? session.hostId : null,
        });
      },
    });
    return extra as BoardSnapshotEntity;
  }

  /** A page of the session's snapshots, oldest first (the caller may read the session). */
  async list(session: SessionEntity, first?: number | null, after?: string | null): Promise<Page<BoardSnapshotEntity>> {
    const size = pageSize(first, this.settings.maxPageSize);
    const afterVersion = decodeIntCursor(after, "v", session.id);
    const repo = this.db.getRepository(BoardSnapshotEntity);
    const rows = await repo
      .createQueryBuilder("b")
      .select(LISTED.map((column) => `b.${column}`))
      .where("b.session_id = :sessionId AND b.version > :afterVersion", { sessionId: session.id, afterVersion })
      .orderBy("b.version", "ASC")
      .limit(size + 1)
      .getMany();
    const totalCount = await repo.countBy({ sessionId: session.id });
    return {
      nodes: rows.slice(0, size).map((node) => ({ node, cursor: encodeIntCursor(session.id, "v", node.version) })),
      hasNextPage: rows.length > size,
      hasPreviousPage: afterVersion > 0,
      totalCount,
    };
  }

  /** How many snapshots each session has, in the order of `sessionIds` (one statement). */
  async countBySession(sessionIds: readonly string[]): Promise<number[]> {
    if (sessionIds.length === 0) return [];
    const rows: Array<{ session_id: string; n: string | number }> = await this.db.query(
      `SELECT session_id, count(*) AS n FROM board_snapshots WHERE session_id = ANY($1::uuid[]) GROUP BY session_id`,
      [sessionIds],
    );
    const counts = new Map(rows.map((r) => [r.session_id, Number(r.n)]));
    return sessionIds.map((id) => counts.get(id) ?? 0);
  }

  /** Snapshot `version` of the session, without its board, or null. */
  async get(session: SessionEntity, version: number): Promise<BoardSnapshotEntity | null> {
    if (!Number.isSafeInteger(version)) return null;
    return this.db.getRepository(BoardSnapshotEntity).findOne({ select: LISTED, where: { sessionId: session.id, version } });
  }

  /** The boards of snapshots by id (one query: the per-request loader's batch). */
  async boardsByIds(ids: readonly string[]): Promise<Array<BoardState | undefined>> {
    const rows: Array<{ id: string; board: string }> = await this.db.query(`SELECT id, board FROM board_snapshots WHERE id = ANY($1::uuid[])`, [ids]);
    const byId = new Map(rows.map((row) => [row.id, row.board]));
    return ids.map((id) => {
      const text = byId.get(id);
      return text === undefined ? undefined : (JSON.parse(text) as BoardState);
    });
  }

  /** The stored board of snapshot `version` of a session and the seq it reflects, or undefined. */
  async boardOf(sessionId: string, version: number): Promise<{ state: BoardState; seq: number } | undefined> {
    if (!Number.isSafeInteger(version)) return undefined;
    const [row] = (await this.db.query(`SELECT board, seq FROM board_snapshots WHERE session_id = $1 AND version = $2`, [sessionId, version])) as Array<{
      board: string;
      seq: number;
    }>;
    return row ? { state: JSON.parse(row.board) as BoardState, seq: Number(row.seq) } : undefined;
  }

  /** storageUsage: the signed-in user's solo snapshot bytes and quota. */
  async usage(auth: AuthContext): Promise<StorageUsage> {
    const userId = auth.requireUserId();
    return this.usageOf(this.db.manager, userId);
  }

  /**
   * The autosave job: a snapshot of every ACTIVE or PAUSED board whose first change since its
   * last snapshot is older than `quietMs`. Rechecked under each session's lock, so concurrent
   * runs save each board once.
   */
  async autosave(now: Date, quietMs: number): Promise<number> {
    const due: Array<{ id: string }> = await this.db.query(
      `SELECT s.id FROM classroom_sessions s
        CROSS JOIN LATERAL (SELECT COALESCE(MAX(b.board_version), 0) AS v FROM board_snapshots b WHERE b.session_id = s.id) last
        JOIN session_events e ON e.session_id = s.id AND e.board_version = last.v + 1
       WHERE s.status IN ('ACTIVE', 'PAUSED') AND s.board_version > last.v AND e.created_at < $1`,
      [new Date(now.getTime() - quietMs)],
    );
    let saved = 0;
    for (const { id } of due) {
      const took = await this.store.change(id, async (tx, session) => {
        if ((await this.lastBoardVersion(tx, session.id)) >= session.boardVersion) return { result: false };
        await this.capture(tx, session, await this.board.boardIn(tx, session), { type: SnapshotType.AUTO, createdBy: null });
        return { result: true };
      });
      if (took) saved++;
    }
    return saved;
  }

  /**
   * The retention job: AUTO snapshots of finished sessions that are not keyframes go, but the
   * latest snapshot of each session stays; solo sessions keep their last `soloKeepLast`
   * counted snapshots and the bytes of the others go back to their owners' usage.
   * Idempotent: a second run (or a concurrent one) finds nothing more to remove, and bytes are
   * given back only for rows this run deleted.
   */
  async thin(): Promise<{ thinned: number; collected: number }> {
    return this.db.transaction(async (tx) => {
      const thinned: unknown[] = await tx.query(
        `DELETE FROM board_snapshots b USING classroom_sessions s
          WHERE b.session_id = s.id AND s.status IN ('COMPLETED', 'TERMINATED', 'EXPIRED')
            AND b.type = 'AUTO' AND NOT b.keyframe AND b.quota_owner_id IS NULL
            AND b.version < (SELECT MAX(x.version) FROM board_snapshots x WHERE x.session_id = b.session_id)
          RETURNING b.id`,
      );
      const collected = returnedRows<{ owner: string; size: number }>(
        await tx.query(
          `DELETE FROM board_snapshots b USING (
           SELECT id FROM (
             SELECT id, row_number() OVER (PARTITION BY session_id ORDER BY version DESC) AS rank
               FROM board_snapshots WHERE quota_owner_id IS NOT NULL) ranked
            WHERE rank > $1) doomed
          WHERE b.id = doomed.id
          RETURNING b.quota_owner_id AS owner, b.size_bytes AS size`,
          [this.settings.soloKeepLast],
        ),
      );
      const freed = new Map<string, number>();
      for (const row of collected) freed.set(row.owner, (freed.get(row.owner) ?? 0) + Number(row.size));
      for (const [owner, bytes] of freed) {
        await tx.query(`UPDATE user_storage SET used_bytes = GREATEST(used_bytes - $2, 0) WHERE user_id = $1`, [owner, bytes]);
      }
      return { thinned: returnedRows(thinned).length, collected: collected.length };
    });
  }

  private async lastBoardVersion(tx: EntityManager, sessionId: string): Promise<number> {
    const [{ v }] = (await tx.query(`SELECT COALESCE(MAX(board_version), 0) AS v FROM board_snapshots WHERE session_id = $1`, [sessionId])) as Array<{
      v: number;
    }>;
    return Number(v);
  }

  /** Adds `bytes` to the owner's usage if it stays within the quota: check and increment in one statement. */
  private async charge(tx: EntityManager, ownerId: string, bytes: number): Promise<void> {
    const quota = this.settings.quotaBytes;
    const rows: unknown[] = await tx.query(
      `INSERT INTO user_storage AS u (user_id, used_bytes)
         SELECT $1::uuid, $2::bigint WHERE $2::bigint <= $3::bigint
       ON CONFLICT (user_id) DO UPDATE SET used_bytes = u.used_bytes + EXCLUDED.used_bytes
         WHERE u.used_bytes + EXCLUDED.used_bytes <= $3::bigint
       RETURNING used_bytes`,
      [ownerId, bytes, quota],
    );
    if (returnedRows(rows).length > 0) return;
    const usage = await this.usageOf(tx, ownerId);
    throw new DomainError(
      DomainErrorReason.QUOTA_EXCEEDED,
      `This snapshot needs ${bytes} bytes; ${usage.remainingBytes} of your ${usage.quotaBytes} bytes are left.`,
      { ...usage },
    );
  }

  private async usageOf(manager: EntityManager, userId: string): Promise<StorageUsage> {
    const [row] = (await manager.query(`SELECT used_bytes FROM user_storage WHERE user_id = $1`, [userId])) as Array<{ used_bytes: string | number }>;
    const usedBytes = row ? Number(row.used_bytes) : 0;
    const quotaBytes = this.settings.quotaBytes;
    return { usedBytes, quotaBytes, remainingBytes: Math.max(0, quotaBytes - usedBytes) };
  }
}

/** A board's content as a RESTORE op takes it; BAD_USER_INPUT when the engine refuses it. */
export function parseContent(board: unknown): BoardContent {
  try {
    return validateBoardContent(board);
  } catch (err) {
    if (err instanceof BoardValidationError) throw invalidInput(`The board is not valid: ${err.message}.`, { field: "board" });
    throw err;
  }
}

/** The content of a stored board, to restore it (objects keep their creator and drawing order). */
export function restoreContent(state: BoardState): BoardContent {
  const { layers, objects } = publicBoard(state);
  return { layers, objects };
}

/** The rows of a statement with RETURNING: TypeORM answers [rows, affected] for UPDATE and DELETE, the rows otherwise. */
function returnedRows<T>(result: unknown[]): T[] {
  if (result.length === 2 && Array.isArray(result[0]) && typeof result[1] === "number") return result[0] as T[];
  return result as T[];
}
