import type { MigrationInterface, QueryRunner } from "typeorm";

export class Users1763776800000 implements MigrationInterface {
  name = "Users1763776800000";

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE users (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        email varchar(254) NOT NULL,
        password_hash varchar(255) NOT NULL,
        display_name varchar(100) NOT NULL,
        role varchar(16) NOT NULL CHECK (role IN ('TUTOR', 'STUDENT', 'ADMIN')),
        created_at timestamptz NOT NULL DEFAULT now()
      )`);
    await q.query(`CREATE UNIQUE INDEX users_email_key ON users (email)`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE users`);
  }
}
