import type { MigrationInterface, QueryRunner } from "typeorm";

/**
 * Video rooms at a provider (W7). session_video_rooms: one per session, written before the
 * provider is asked (state CREATING), so a room the provider made just before we crashed is
 * still known: the video-rooms job creates it again by name (the provider answers the same
 * room) or deletes it once the session is over. No foreign key: a deleted session's room must
 * still be deleted at the provider. video_webhook_events: the ids of provider events already
 * recorded, so a redelivery records nothing. Participants gain their time in the call.
 */
export class VideoRooms1763809800000 implements MigrationInterface {
  name = "VideoRooms1763809800000";

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE session_video_rooms (
        session_id uuid PRIMARY KEY,
        provider varchar(16) NOT NULL,
        name varchar(128) NOT NULL UNIQUE,
        url varchar(512),
        state varchar(16) NOT NULL CHECK (state IN ('CREATING', 'READY', 'DELETING', 'DELETED')),
        expires_at timestamptz NOT NULL,
        attempts integer NOT NULL DEFAULT 0,
        next_attempt_at timestamptz NOT NULL DEFAULT now(),
        last_error varchar(300),
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now()
      )`);
    // The job's work: rooms still to create or delete, by when they are due.
    await q.query(`CREATE INDEX session_video_rooms_due_idx ON session_video_rooms (next_attempt_at) WHERE state IN ('CREATING', 'DELETING')`);
    await q.query(`
      CREATE TABLE video_webhook_events (
        id varchar(200) PRIMARY KEY,
        type varchar(64) NOT NULL,
        received_at timestamptz NOT NULL DEFAULT now()
      )`);
    await q.query(`CREATE INDEX video_webhook_events_received_idx ON video_webhook_events (received_at)`);
    await q.query(
      `ALTER TABLE session_participants ADD COLUMN in_call_since timestamptz, ADD COLUMN call_seconds integer NOT NULL DEFAULT 0, ADD COLUMN recording_consent boolean`,
    );
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE session_participants DROP COLUMN in_call_since, DROP COLUMN call_seconds, DROP COLUMN recording_consent`);
    await q.query(`DROP TABLE video_webhook_events`);
    await q.query(`DROP TABLE session_video_rooms`);
  }
}
