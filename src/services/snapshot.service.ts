import { randomUUID } from "node:crypto";
import type { AccessPolicy } from "../auth/access";
import type { AuthContext } from "../auth/auth-context";
import { BoardValidationError, publicBoard, validateBoardContent, type BoardContent, type BoardOpInput, type BoardState } from "../board";
import { BoardSnapshotEntity, SnapshotType } from "../entities/board-snapshot.entity";
import { SessionEntity, SessionStatus, SessionType } from "../entities/session.entity";
import type { BoardService } from "./board.service";
import type { SnapshotRecorder } from "./snapshot-recorder";
import type { StorageQuota, StorageUsage } from "./storage-quota";
import { invalidInput, notFound } from "../domain/errors";
import { decodeIntCursor, encodeIntCursor, pageSize, type Page } from "./pagination";
import { requireStatus } from "./session-lifecycle";
import type { SessionStore } from "./session-store";
import { authorize, requireSeated, type SessionAccess } from "../auth/session-policy";

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
 * What users do with board snapshots (H2): saveBoard, restoreSnapshot (a new board version:
 * history is never rewritten), solo snapshots under quota (W1), and reading them. Storing a
 * snapshot is SnapshotRecorder's; the captures nobody asks for are BoardCaptures'.
 */
export class SnapshotService {
  constructor(
    private readonly store: SessionStore,
    private readonly access: AccessPolicy,
    private readonly board: BoardService,
    private readonly recorder: SnapshotRecorder,
    private readonly quota: StorageQuota,
    /** MAX_PAGE_SIZE: the largest `first` of a snapshot page. */
    private readonly maxPageSize: number,
  ) {}

  private get db() {
    return this.store.db;
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
      const snapshot = await this.recorder.capture(tx, session, state, { type: SnapshotType.MANUAL, createdBy: actorId, quotaOwnerId });
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
        return this.recorder.capture(tx, session, state, {
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
    const size = pageSize(first, this.maxPageSize);
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
    return this.quota.usageOf(this.db.manager, userId);
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
