import type { MigrationInterface, QueryRunner } from "typeorm";

/**
 * Board events are timeline events with a client op id (idempotency: unique per session and
 * user) and the board version they produced (contiguous per session: how a gap is noticed).
 */
export class BoardEvents1763784000000 implements MigrationInterface {
  name = "BoardEvents1763784000000";

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE session_events ADD COLUMN client_op_id varchar(64), ADD COLUMN board_version integer`);
    await q.query(`
      CREATE UNIQUE INDEX session_events_client_op_key ON session_events (session_id, user_id, client_op_id)
      WHERE client_op_id IS NOT NULL`);
    await q.query(`
      CREATE UNIQUE INDEX session_events_board_version_key ON session_events (session_id, board_version)
      WHERE board_version IS NOT NULL`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP INDEX session_events_board_version_key`);
    await q.query(`DROP INDEX session_events_client_op_key`);
    await q.query(`ALTER TABLE session_events DROP COLUMN board_version, DROP COLUMN client_op_id`);
  }
}
