import type { MigrationInterface, QueryRunner } from "typeorm";

/**
 * Offline sync (W4, issue 15). sync_checkpoints: the timeline seq each device of a user last
 * pulled in a session (syncPull without `since` resumes there). sync_pushes: the answer of
 * each syncPush, keyed by its clientOpIds, so a retried push answers the original payload
 * (conflicts and skipped ops included, which store no board event) and changes nothing.
 * Chat retries: at most one CHAT_MESSAGE per (session, user, clientMessageId), enforced by the
 * database so two racing retries cannot both be stored.
 */
export class OfflineSync1763809200000 implements MigrationInterface {
  name = "OfflineSync1763809200000";

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE sync_checkpoints (
        user_id uuid NOT NULL REFERENCES users(id) ON DELETE CASCADE,
        device_id varchar(128) NOT NULL,
        session_id uuid NOT NULL REFERENCES classroom_sessions(id) ON DELETE CASCADE,
        seq integer NOT NULL,
        updated_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (user_id, device_id, session_id)
      )`);
    await q.query(`CREATE INDEX sync_checkpoints_session_idx ON sync_checkpoints (session_id)`);
    await q.query(`
      CREATE TABLE sync_pushes (
        session_id uuid NOT NULL REFERENCES classroom_sessions(id) ON DELETE CASCADE,
        user_id uuid NOT NULL REFERENCES users(id) ON DELETE CASCADE,
        push_key char(64) NOT NULL,
        device_id varchar(128) NOT NULL,
        result jsonb NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (session_id, user_id, push_key)
      )`);
    await q.query(`CREATE INDEX sync_pushes_user_idx ON sync_pushes (user_id)`);
    await q.query(`
      CREATE UNIQUE INDEX session_events_client_message_key ON session_events (session_id, user_id, (data ->> 'clientMessageId'))
      WHERE type = 'CHAT_MESSAGE' AND data ? 'clientMessageId'`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP INDEX session_events_client_message_key`);
    await q.query(`DROP TABLE sync_pushes`);
    await q.query(`DROP TABLE sync_checkpoints`);
  }
}
