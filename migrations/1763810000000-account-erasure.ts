import type { MigrationInterface, QueryRunner } from "typeorm";

/**
 * Account erasure (deleteAccount, issue 18). An erased user keeps their row, so the lessons'
 * timelines, boards and reports that name them stay whole, but loses what identifies them:
 * email and password hash become NULL (the unique email index holds NULLs apart, so the email
 * can be registered again) and deleted_at says when.
 */
export class AccountErasure1763810000000 implements MigrationInterface {
  name = "AccountErasure1763810000000";

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE users ALTER COLUMN email DROP NOT NULL, ALTER COLUMN password_hash DROP NOT NULL, ADD COLUMN deleted_at timestamptz`);
    await q.query(`ALTER TABLE users ADD CONSTRAINT users_erased_check CHECK (deleted_at IS NULL OR (email IS NULL AND password_hash IS NULL))`);
    await q.query(`ALTER TABLE users ADD CONSTRAINT users_live_check CHECK (deleted_at IS NOT NULL OR (email IS NOT NULL AND password_hash IS NOT NULL))`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DELETE FROM users WHERE deleted_at IS NOT NULL`);
    await q.query(`ALTER TABLE users DROP CONSTRAINT users_live_check, DROP CONSTRAINT users_erased_check, DROP COLUMN deleted_at`);
    await q.query(`ALTER TABLE users ALTER COLUMN email SET NOT NULL, ALTER COLUMN password_hash SET NOT NULL`);
  }
}
