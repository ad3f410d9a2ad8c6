import type { MigrationInterface, QueryRunner } from "typeorm";

/**
 * Board snapshots compressed with lz4 where the server has it (PostgreSQL 14+ built with
 * lz4, as Debian's is): a keyframe of a large board is several MB of JSON, written under the
 * session's lock, and the default pglz compression cost the database more than the write's
 * own statements (issue 12). Where lz4 is missing (PGlite), the column keeps the default.
 */
export class SnapshotCompression1763798400000 implements MigrationInterface {
  name = "SnapshotCompression1763798400000";

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      DO $$
      BEGIN
        ALTER TABLE board_snapshots ALTER COLUMN board SET COMPRESSION lz4;
      EXCEPTION WHEN OTHERS THEN
        RAISE NOTICE 'lz4 is not available: board snapshots keep the default compression';
      END $$`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`
      DO $$
      BEGIN
        ALTER TABLE board_snapshots ALTER COLUMN board SET COMPRESSION pglz;
      EXCEPTION WHEN OTHERS THEN
        NULL;
      END $$`);
  }
}
