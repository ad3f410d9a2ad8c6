import type { MigrationInterface, QueryRunner } from "typeorm";

/**
 * Connection quality history and signal counts (issue 18), so "my video kept freezing" can be
 * looked into. connection_quality_samples: a participant's reported connectionQuality over
 * time, at most one row per 10 s per participant (a change within 10 s of the last row
 * replaces its value). session_signal_counts: how many signals of each type a session
 * relayed; the signals themselves stay unrecorded (they carry network addresses). A counter
 * row per (session, type), incremented by whichever instance relays the signal.
 */
export class ConnectionQuality1763810100000 implements MigrationInterface {
  name = "ConnectionQuality1763810100000";

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE connection_quality_samples (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        session_id uuid NOT NULL REFERENCES classroom_sessions(id) ON DELETE CASCADE,
        user_id uuid NOT NULL REFERENCES users(id),
        -- null: the client cleared it
        quality varchar(32),
        at timestamptz NOT NULL DEFAULT now()
      )`);
    await q.query(`CREATE INDEX connection_quality_samples_idx ON connection_quality_samples (session_id, user_id, at)`);
    await q.query(`
      CREATE TABLE session_signal_counts (
        session_id uuid NOT NULL REFERENCES classroom_sessions(id) ON DELETE CASCADE,
        type varchar(32) NOT NULL,
        count integer NOT NULL CHECK (count >= 0),
        PRIMARY KEY (session_id, type)
      )`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE session_signal_counts`);
    await q.query(`DROP TABLE connection_quality_samples`);
  }
}
