import type { MigrationInterface, QueryRunner } from "typeorm";

/**
 * A timeline event is a board event (type BOARD_*) exactly when it carries a board version:
 * the board write path is the only writer of either. The lesson report counts board events
 * by type in the one aggregate it shares with the counts by type; the constraint keeps that
 * count equal to the events with a version.
 */
export class BoardEventVersions1763794800000 implements MigrationInterface {
  name = "BoardEventVersions1763794800000";

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      ALTER TABLE session_events ADD CONSTRAINT session_events_board_version_check
        CHECK ((type LIKE 'BOARD\\_%') = (board_version IS NOT NULL))`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE session_events DROP CONSTRAINT session_events_board_version_check`);
  }
}
