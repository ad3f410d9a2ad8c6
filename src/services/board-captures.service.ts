import type { EntityManager } from "typeorm";
import { returnedRows } from "../db/raw-rows";
import { SnapshotType } from "../entities/board-snapshot.entity";
import type { SessionEntity } from "../entities/session.entity";
import type { BoardService } from "./board.service";
import type { SnapshotRecorder } from "./snapshot-recorder";
import type { SessionStore } from "./session-store";
import type { StorageQuota } from "./storage-quota";

/**
 * The snapshots nobody asks for (H2): the JOIN, LEAVE and TERMINATE captures of a session's
 * changes, the autosave job's, and the retention job that thins them out again.
 */
export class BoardCaptures {
  constructor(
    private readonly store: SessionStore,
    private readonly board: BoardService,
    private readonly recorder: SnapshotRecorder,
    private readonly quota: StorageQuota,
    /** SOLO_SNAPSHOT_KEEP_LAST. */
    private readonly soloKeepLast: number,
  ) {}

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
    if (type !== SnapshotType.TERMINATE && (await this.recorder.lastBoardVersion(tx, session.id)) >= session.boardVersion) return;
    await this.recorder.capture(tx, session, await this.board.boardIn(tx, session), { type, createdBy: userId });
  }

  /**
   * The autosave job: a snapshot of every ACTIVE or PAUSED board whose first change since its
   * last snapshot is older than `quietMs`. Rechecked under each session's lock, so concurrent
   * runs save each board once.
   */
  async autosave(now: Date, quietMs: number): Promise<number> {
    const due: Array<{ id: string }> = await this.store.db.query(
      `SELECT s.id FROM classroom_sessions s
        CROSS JOIN LATERAL (SELECT COALESCE(MAX(b.board_version), 0) AS v FROM board_snapshots b WHERE b.session_id = s.id) last
        JOIN session_events e ON e.session_id = s.id AND e.board_version = last.v + 1
       WHERE s.status IN ('ACTIVE', 'PAUSED') AND s.board_version > last.v AND e.created_at < $1`,
      [new Date(now.getTime() - quietMs)],
    );
    let saved = 0;
    for (const { id } of due) {
      const took = await this.store.change(id, async (tx, session) => {
        if ((await this.recorder.lastBoardVersion(tx, session.id)) >= session.boardVersion) return { result: false };
        await this.recorder.capture(tx, session, await this.board.boardIn(tx, session), { type: SnapshotType.AUTO, createdBy: null });
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
    return this.store.db.transaction(async (tx) => {
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
          [this.soloKeepLast],
        ),
      );
      const freed = new Map<string, number>();
      for (const row of collected) freed.set(row.owner, (freed.get(row.owner) ?? 0) + Number(row.size));
      await this.quota.giveBack(tx, freed);
      return { thinned: returnedRows(thinned).length, collected: collected.length };
    });
  }
}
