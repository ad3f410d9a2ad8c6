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
    await q.query(setCompression("lz4"));
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(setCompression("pglz"));
  }
}

/** The board column's compression set to `method`, or left as it is where the server lacks it. */
function setCompression(method: "lz4" | "pglz"): string {
  return `
    DO $$
    BEGIN
      ALTER TABLE board_snapshots ALTER COLUMN board SET COMPRESSION ${method};
    EXCEPTION WHEN OTHERS THEN
      RAISE NOTICE '${method} compression is not available: board snapshots keep theirs';
    END $$`;
}
