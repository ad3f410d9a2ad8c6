import type { EntityManager } from "typeorm";
import { DomainError, DomainErrorReason } from "../domain/errors";

/** What an erased account is called wherever the lessons it took part in still name it. */
export const DELETED_USER_NAME = "Deleted user";

/**
 * Erases `userId`'s personal data inside the caller's transaction (deleteAccount, issue 18),
 * after locking their row: INVALID_STATE while a lesson they host is not final (SCHEDULED,
 * WAITING, ACTIVE, PAUSED), and nothing is written then. Removed: email, password hash and
 * display name (the row stays, named DELETED_USER_NAME, so timelines, boards and reports
 * that refer to it stay whole and show a deleted user, never someone else), push
 * subscriptions and notifications, sync checkpoints, telemetry, classroom memberships,
 * pending bookings (cancelled), and solo sessions with their snapshots, events and the
 * storage they counted. Tokens issued before `validAfter` are refused (tokens_valid_after);
 * the caller announces it once committed.
 */
export async function eraseAccount(tx: EntityManager, userId: string, validAfter: Date): Promise<void> {
  await tx.query(`SELECT id FROM users WHERE id = $1 FOR UPDATE`, [userId]);
  await requireNoLiveLesson(tx, userId);
  // Solo sessions are the user's alone: they go with their events, snapshots and checkpoints (ON DELETE CASCADE).
  await tx.query(`DELETE FROM classroom_sessions WHERE host_id = $1 AND type = 'SOLO'`, [userId]);
  await tx.query(`DELETE FROM user_storage WHERE user_id = $1`, [userId]);
  await tx.query(`DELETE FROM push_subscriptions WHERE user_id = $1`, [userId]);
  await tx.query(`DELETE FROM push_notifications WHERE user_id = $1`, [userId]);
  await tx.query(`DELETE FROM sync_checkpoints WHERE user_id = $1`, [userId]);
  await tx.query(`DELETE FROM sync_pushes WHERE user_id = $1`, [userId]);
  await tx.query(`DELETE FROM telemetry_events WHERE user_id = $1`, [userId]);
  await tx.query(`DELETE FROM classroom_members WHERE user_id = $1`, [userId]);
  await tx.query(`UPDATE bookings SET status = 'CANCELLED', updated_at = now() WHERE status = 'PENDING' AND (tutor_id = $1 OR student_id = $1)`, [userId]);
  await tx.query(`UPDATE users SET email = NULL, password_hash = NULL, display_name = $2, deleted_at = $3, tokens_valid_after = $3 WHERE id = $1`, [
    userId,
    DELETED_USER_NAME,
    validAfter,
  ]);
}

/** INVALID_STATE while `userId` hosts a lesson (not a solo workspace) that has not ended: SCHEDULED, WAITING, ACTIVE or PAUSED. */
export async function requireNoLiveLesson(manager: EntityManager, userId: string): Promise<void> {
  const live = (await manager.query(
    `SELECT id FROM classroom_sessions
      WHERE host_id = $1 AND type <> 'SOLO' AND status IN ('SCHEDULED', 'WAITING', 'ACTIVE', 'PAUSED') LIMIT 1`,
    [userId],
  )) as unknown[];
  if (live.length > 0) {
    throw new DomainError(
      DomainErrorReason.INVALID_STATE,
      "You host a lesson that has not ended: complete, terminate or delete it before deleting your account.",
    );
  }
}
