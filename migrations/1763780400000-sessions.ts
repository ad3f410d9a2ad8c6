import type { MigrationInterface, QueryRunner } from "typeorm";

/**
 * Classrooms, bookings, classroom sessions, their participants, the role permission
 * defaults (RULES.md) and the session timeline.
 */
export class Sessions1763780400000 implements MigrationInterface {
  name = "Sessions1763780400000";

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE classrooms (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        name varchar(200) NOT NULL,
        tutor_id uuid NOT NULL REFERENCES users(id),
        created_at timestamptz NOT NULL DEFAULT now()
      )`);
    await q.query(`CREATE INDEX classrooms_tutor_idx ON classrooms (tutor_id)`);
    await q.query(`
      CREATE TABLE classroom_members (
        classroom_id uuid NOT NULL REFERENCES classrooms(id) ON DELETE CASCADE,
        user_id uuid NOT NULL REFERENCES users(id),
        added_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (classroom_id, user_id)
      )`);
    await q.query(`CREATE INDEX classroom_members_user_idx ON classroom_members (user_id)`);

    await q.query(`
      CREATE TABLE classroom_sessions (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        title varchar(200),
        type varchar(16) NOT NULL CHECK (type IN ('LESSON', 'SOLO', 'GROUP', 'DEMO')),
        status varchar(16) NOT NULL
          CHECK (status IN ('SCHEDULED', 'WAITING', 'ACTIVE', 'PAUSED', 'COMPLETED', 'TERMINATED', 'EXPIRED')),
        host_id uuid NOT NULL REFERENCES users(id),
        classroom_id uuid REFERENCES classrooms(id),
        scheduled_start timestamptz,
        scheduled_end timestamptz,
        actual_start timestamptz,
        actual_end timestamptz,
        -- ACTIVE time so far, without the interval running since active_since
        active_seconds integer NOT NULL DEFAULT 0,
        active_since timestamptz,
        access_code varchar(16),
        max_participants integer NOT NULL DEFAULT 10 CHECK (max_participants BETWEEN 1 AND 500),
        is_recorded boolean NOT NULL DEFAULT true,
        settings jsonb NOT NULL DEFAULT '{}',
        -- the timeline's clock, advanced under the row lock (RULES.md "Time")
        last_seq integer NOT NULL DEFAULT 0,
        last_event_ms bigint NOT NULL DEFAULT 0,
        board_version integer NOT NULL DEFAULT 0,
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now(),
        CHECK (scheduled_end IS NULL OR scheduled_start IS NULL OR scheduled_end > scheduled_start)
      )`);
    await q.query(`CREATE INDEX classroom_sessions_host_idx ON classroom_sessions (host_id, created_at DESC)`);
    await q.query(`CREATE INDEX classroom_sessions_classroom_idx ON classroom_sessions (classroom_id, created_at DESC)`);
    // Codes are unique among sessions that can still be joined.
    await q.query(`
      CREATE UNIQUE INDEX classroom_sessions_live_code_key ON classroom_sessions (access_code)
      WHERE status IN ('SCHEDULED', 'WAITING', 'ACTIVE', 'PAUSED')`);
    await q.query(`
      CREATE INDEX classroom_sessions_expiry_idx ON classroom_sessions (scheduled_end)
      WHERE status IN ('SCHEDULED', 'WAITING')`);

    await q.query(`
      CREATE TABLE bookings (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        tutor_id uuid NOT NULL REFERENCES users(id),
        student_id uuid NOT NULL REFERENCES users(id),
        classroom_id uuid REFERENCES classrooms(id),
        scheduled_start timestamptz NOT NULL,
        scheduled_end timestamptz NOT NULL,
        status varchar(16) NOT NULL CHECK (status IN ('PENDING', 'CONFIRMED', 'CANCELLED')),
        session_id uuid UNIQUE REFERENCES classroom_sessions(id),
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now(),
        CHECK (scheduled_end > scheduled_start)
      )`);
    await q.query(`CREATE INDEX bookings_tutor_idx ON bookings (tutor_id, scheduled_start)`);
    await q.query(`CREATE INDEX bookings_student_idx ON bookings (student_id, scheduled_start)`);
    await q.query(`ALTER TABLE classroom_sessions ADD COLUMN booking_id uuid UNIQUE REFERENCES bookings(id)`);

    await q.query(`
      CREATE TABLE session_participants (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        session_id uuid NOT NULL REFERENCES classroom_sessions(id) ON DELETE CASCADE,
        user_id uuid NOT NULL REFERENCES users(id),
        role varchar(16) NOT NULL CHECK (role IN ('HOST', 'STUDENT', 'VIEWER', 'SOLO')),
        status varchar(16) NOT NULL
          CHECK (status IN ('INVITED', 'JOINING', 'CONNECTED', 'RECONNECTING', 'DISCONNECTED', 'LEFT', 'KICKED')),
        joined_at timestamptz,
        left_at timestamptz,
        peer_id varchar(64),
        audio_enabled boolean NOT NULL DEFAULT false,
        video_enabled boolean NOT NULL DEFAULT false,
        screen_sharing boolean NOT NULL DEFAULT false,
        connection_quality varchar(32),
        hand_raised boolean NOT NULL DEFAULT false,
        -- per-participant grants overlaid on the role's defaults
        permission_grants jsonb NOT NULL DEFAULT '{}',
        join_count integer NOT NULL DEFAULT 0,
        reconnect_count integer NOT NULL DEFAULT 0,
        -- CONNECTED time so far, without the interval running since connected_since
        connected_seconds integer NOT NULL DEFAULT 0,
        connected_since timestamptz,
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now(),
        UNIQUE (session_id, user_id)
      )`);
    await q.query(`CREATE INDEX session_participants_user_idx ON session_participants (user_id)`);
    // One screen sharer per session, enforced by the database under any concurrency.
    await q.query(`
      CREATE UNIQUE INDEX session_participants_one_screen_key ON session_participants (session_id)
      WHERE screen_sharing`);

    await q.query(`
      CREATE TABLE role_permissions (
        role varchar(16) PRIMARY KEY CHECK (role IN ('HOST', 'STUDENT', 'VIEWER', 'SOLO')),
        permissions jsonb NOT NULL
      )`);
    const drawing = { canDraw: true, canErase: true, canAddLayers: true, canUploadImages: true };
    const media = { canToggleVideo: true, canToggleAudio: true, canShareScreen: true };
    const none = {
      canDraw: false,
      canErase: false,
      canAddLayers: false,
      canDeleteLayers: false,
      canReorderLayers: false,
      canUploadImages: false,
      canExport: true,
      canClearBoard: false,
      canToggleVideo: false,
      canToggleAudio: false,
      canShareScreen: false,
      canInvite: false,
      canKick: false,
      canTerminate: false,
      canPause: false,
    };
    const layers = { canDeleteLayers: true, canReorderLayers: true, canClearBoard: true };
    const control = { canInvite: true, canKick: true, canTerminate: true, canPause: true };
    const defaults = {
      HOST: { ...none, ...drawing, ...media, ...layers, ...control },
      STUDENT: { ...none, ...drawing, ...media },
      VIEWER: { ...none },
      SOLO: { ...none, ...drawing, ...media, ...layers },
    };
    for (const [role, permissions] of Object.entries(defaults)) {
      await q.query(`INSERT INTO role_permissions (role, permissions) VALUES ($1, $2)`, [role, JSON.stringify(permissions)]);
    }

    await q.query(`
      CREATE TABLE session_events (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        session_id uuid NOT NULL REFERENCES classroom_sessions(id) ON DELETE CASCADE,
        seq integer NOT NULL,
        timestamp_ms bigint NOT NULL,
        type varchar(32) NOT NULL,
        user_id uuid REFERENCES users(id),
        data jsonb NOT NULL DEFAULT '{}',
        created_at timestamptz NOT NULL DEFAULT now(),
        CONSTRAINT session_events_seq_key UNIQUE (session_id, seq)
      )`);
    await q.query(`CREATE INDEX session_events_time_idx ON session_events (session_id, timestamp_ms)`);
    await q.query(`CREATE INDEX session_events_type_idx ON session_events (session_id, type, timestamp_ms)`);
    await q.query(`CREATE INDEX session_events_user_idx ON session_events (session_id, user_id, timestamp_ms)`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE session_events`);
    await q.query(`DROP TABLE role_permissions`);
    await q.query(`DROP TABLE session_participants`);
    await q.query(`ALTER TABLE classroom_sessions DROP COLUMN booking_id`);
    await q.query(`DROP TABLE bookings`);
    await q.query(`DROP TABLE classroom_sessions`);
    await q.query(`DROP TABLE classroom_members`);
    await q.query(`DROP TABLE classrooms`);
  }
}
