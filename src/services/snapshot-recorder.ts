import type { EntityManager } from "typeorm";
import { boardBytes, type BoardState } from "../board";
import { BoardSnapshotEntity, SnapshotType } from "../entities/board-snapshot.entity";
import { SEATED } from "../entities/participant.entity";
import type { SessionEventEntity } from "../entities/session-event.entity";
import type { SessionEntity } from "../entities/session.entity";
import type { KeyframeRecorder, SerializedBoard } from "./board-events";
import type { StorageQuota } from "./storage-quota";

/** What a capture records besides the board. */
export interface Capture {
  type: SnapshotType;
  createdBy: string | null;
  keyframe?: boolean;
  /** The timeline position the board reflects; the session's clock by default. */
  seq?: number;
  timestampMs?: number;
  /** Counted against this user's storage quota (solo snapshots). */
  quotaOwnerId?: string | null;
}

/**
 * Stores board snapshots (H2): the keyframes of the write path and every other capture, each
 * under the session lock in the transaction of the change it belongs to, so its seq and board
 * version agree with the timeline; a solo snapshot's bytes charged to its owner's quota.
 *
 * Keyframes are taken at every multiple of SNAPSHOT_EVERY_EVENTS board versions (inside a
 * batch too), whatever other snapshots exist: retention removes those others, and a seek must
 * still find a stored board at most SNAPSHOT_EVERY_EVENTS versions back.
 */
export class SnapshotRecorder implements KeyframeRecorder {
  constructor(
    private readonly quota: StorageQuota,
    /** SNAPSHOT_EVERY_EVENTS. */
    private readonly every: number,
  ) {}

  /** KeyframeRecorder: a keyframe at every multiple of SNAPSHOT_EVERY_EVENTS. */
  get everyEvents(): number {
    return this.every;
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
      if (what.quotaOwnerId) await this.quota.charge(tx, what.quotaOwnerId, sizeBytes);
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

  /** The board version of the session's latest snapshot (0 without one). */
  async lastBoardVersion(tx: EntityManager, sessionId: string): Promise<number> {
    const [{ v }] = (await tx.query(`SELECT COALESCE(MAX(board_version), 0) AS v FROM board_snapshots WHERE session_id = $1`, [sessionId])) as Array<{
      v: number;
    }>;
    return Number(v);
  }
}
