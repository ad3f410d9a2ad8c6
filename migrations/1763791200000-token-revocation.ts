import type { MigrationInterface, QueryRunner } from "typeorm";

/**
 * Ending a login (RULES.md "Users"): changePassword sets users.tokens_valid_after, and every
 * token of the user issued before it is refused; logout records the one token it revokes
 * until that token would have expired anyway.
 */
export class TokenRevocation1763791200000 implements MigrationInterface {
  name = "TokenRevocation1763791200000";

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE users ADD COLUMN tokens_valid_after timestamptz`);
    // Every instance reads the recent ones (src/auth/revocations.ts).
    await q.query(`CREATE INDEX users_tokens_valid_after_idx ON users (tokens_valid_after) WHERE tokens_valid_after IS NOT NULL`);
    await q.query(`
      CREATE TABLE revoked_tokens (
        token_id varchar(64) PRIMARY KEY,
        user_id uuid NOT NULL REFERENCES users(id) ON DELETE CASCADE,
        expires_at timestamptz NOT NULL
      )`);
    await q.query(`CREATE INDEX revoked_tokens_expires_idx ON revoked_tokens (expires_at)`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE revoked_tokens`);
    await q.query(`ALTER TABLE users DROP COLUMN tokens_valid_after`);
  }
}
