import type { MigrationInterface, QueryRunner } from "typeorm";

/**
 * The client op id index led by (session, op id), the user last: the same uniqueness, but a
 * lookup of a batch's op ids can use it only for what makes it selective. Led by (session,
 * user), it tied in the planner with session_events_user_idx, and on a table without
 * statistics (a fresh database, PGlite) the planner took that one and filtered every event
 * the user ever wrote in the session: a board write that cost O(lesson) (issue 12).
 */
export class ClientOpLookup1763802000000 implements MigrationInterface {
  name = "ClientOpLookup1763802000000";

  async up(q: QueryRunner): Promise<void> {
    await q.query(`DROP INDEX session_events_client_op_key`);
    await q.query(`
      CREATE UNIQUE INDEX session_events_client_op_key ON session_events (session_id, client_op_id, user_id)
      WHERE client_op_id IS NOT NULL`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP INDEX session_events_client_op_key`);
    await q.query(`
      CREATE UNIQUE INDEX session_events_client_op_key ON session_events (session_id, user_id, client_op_id)
      WHERE client_op_id IS NOT NULL`);
  }
}
