import type { MigrationInterface, QueryRunner } from "typeorm";

/**
 * Board snapshots (H2): the board at a board version and timeline seq, numbered per session.
 * `board` is the engine's full state as JSON text (meta included, so a replay can go on from
 * it exactly); size_bytes is its UTF-8 length. Keyframes (AUTO snapshots at every
 * SNAPSHOT_EVERY_EVENTS versions) bound a seek and are never removed by retention.
 * quota_owner_id marks snapshots counted against a user's storage (solo snapshots, W1), whose
 * bytes user_storage sums.
 */
export class BoardSnapshots1763787600000 implements MigrationInterface {
  name = "BoardSnapshots1763787600000";

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE board_snapshots (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        session_id uuid NOT NULL REFERENCES classroom_sessions(id) ON DELETE CASCADE,
        version integer NOT NULL CHECK (version > 0),
        board_version integer NOT NULL CHECK (board_version >= 0),
        seq integer NOT NULL CHECK (seq >= 0),
        timestamp_ms bigint NOT NULL,
        type varchar(16) NOT NULL CHECK (type IN ('AUTO', 'JOIN', 'LEAVE', 'TERMINATE', 'MANUAL', 'RESTORE')),
        keyframe boolean NOT NULL DEFAULT false,
        created_by uuid REFERENCES users(id),
        participant_count integer NOT NULL DEFAULT 0,
        size_bytes integer NOT NULL,
        quota_owner_id uuid REFERENCES users(id),
        board text NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now(),
        CONSTRAINT board_snapshots_version_key UNIQUE (session_id, version)
      )`);
    // Seeks: the nearest snapshot at or before a seq.
    await q.query(`CREATE INDEX board_snapshots_seq_idx ON board_snapshots (session_id, seq, board_version)`);
    await q.query(`
      CREATE TABLE user_storage (
        user_id uuid PRIMARY KEY REFERENCES users(id),
        used_bytes bigint NOT NULL DEFAULT 0 CHECK (used_bytes >= 0)
      )`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE user_storage`);
    await q.query(`DROP TABLE board_snapshots`);
  }
}
