import type { MigrationInterface, QueryRunner } from "typeorm";

/**
 * classroom_sessions.reminded_start: the scheduled start a "lesson starting soon" reminder was
 * sent for. The lesson-reminders job claims a lesson by setting it in one UPDATE, so the
 * in-app notice goes out once per lesson and start time (a rescheduled lesson reminds again).
 * The partial index keeps its once-a-minute scan to the lessons not yet started.
 */
export class LessonReminders1763809600000 implements MigrationInterface {
  name = "LessonReminders1763809600000";

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE classroom_sessions ADD COLUMN reminded_start timestamptz`);
    await q.query(`CREATE INDEX classroom_sessions_upcoming_idx ON classroom_sessions (scheduled_start) WHERE status IN ('SCHEDULED', 'WAITING')`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP INDEX classroom_sessions_upcoming_idx`);
    await q.query(`ALTER TABLE classroom_sessions DROP COLUMN reminded_start`);
  }
}
