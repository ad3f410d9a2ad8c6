import type { MigrationInterface, QueryRunner } from "typeorm";

/**
 * Telemetry events (W3): what clients POST to /api/v1/logs/telemetry, kept
 * TELEMETRY_RETENTION_DAYS by the telemetry-retention job. `event` is the event as sent
 * (checked, bounded by the 32 KiB body); the other columns are copied out of it when present,
 * for the admins' filters. received_at is written at millisecond precision, the precision of
 * the pagination cursor. No client address is stored (privacy); user_id only when the request
 * carried a valid access token, and it goes with the account (ON DELETE SET NULL).
 */
export class TelemetryEvents1763805600000 implements MigrationInterface {
  name = "TelemetryEvents1763805600000";

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE telemetry_events (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        received_at timestamptz NOT NULL DEFAULT date_trunc('milliseconds', now()),
        user_id uuid REFERENCES users(id) ON DELETE SET NULL,
        type varchar(100),
        level varchar(32),
        client_timestamp timestamptz,
        platform varchar(50),
        app_version varchar(50),
        session_id uuid,
        event jsonb NOT NULL
      )`);
    // The admins' newest-first pages (keyset on received_at, id) and the retention job's deletes.
    await q.query(`CREATE INDEX telemetry_events_received_idx ON telemetry_events (received_at, id)`);
    await q.query(`CREATE INDEX telemetry_events_type_idx ON telemetry_events (type, received_at)`);
    // The userId filter, and the SET NULL when an account is deleted.
    await q.query(`CREATE INDEX telemetry_events_user_idx ON telemetry_events (user_id, received_at) WHERE user_id IS NOT NULL`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE telemetry_events`);
  }
}
