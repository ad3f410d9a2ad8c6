import type { DataSource } from "typeorm";
import { DomainError, DomainErrorReason } from "../domain/errors";
import { SessionType, type SessionEntity } from "../entities/session.entity";
import { VideoProviderError, type VideoProvider } from "../infra/video-provider";
import type { TimelineMessage } from "../realtime/messages";
import { FINAL_STATUSES } from "./session-lifecycle";
import type { SessionStore } from "./session-store";

/** ClassroomSession.videoRoom. */
export interface VideoRoomView {
  provider: string;
  name: string;
  url: string;
}

export interface VideoRoomsOptions {
  /** SESSION_MAX_DURATION: a room outlives the longest lesson by an hour, then the provider deletes it itself. */
  sessionMaxDurationMs: number;
  /** VIDEO_RETRY_BASE_MS: wait before retrying a failed create or delete, doubled after each failure (at most an hour). */
  retryBaseMs: number;
}

type RoomState = "CREATING" | "READY" | "DELETING" | "DELETED";
export interface RoomRow {
  session_id: string;
  name: string;
  url: string | null;
  state: RoomState;
  attempts: number;
  last_error: string | null;
  expires_at: Date | string;
  next_attempt_at: Date | string;
}

const HOUR_MS = 3_600_000;
const DAY_MS = 24 * HOUR_MS;
const LIVE = ["SCHEDULED", "WAITING", "ACTIVE", "PAUSED"];
const ROOM_COLUMNS = "session_id, name, url, state, attempts, last_error, expires_at, next_attempt_at";

/** The provider's room name of a session: one per session, so creating it again finds the same room. */
export const roomName = (sessionId: string) => `cls-${sessionId}`;

/** UNAVAILABLE with what failed: the lesson goes on, the room is retried in the background. */
export function providerUnavailable(what: string, err: unknown, retryAfterMs: number): DomainError {
  const why = err instanceof Error ? err.message : String(err);
  return new DomainError(DomainErrorReason.VIDEO_PROVIDER_UNAVAILABLE, `The video provider is unavailable (${why}); ${what}`, {
    retryable: true,
    retryAfterMs,
  });
}

/**
 * Video rooms at the provider (W7, VIDEO_PROVIDER). A session other than a solo workspace
 * gets one room, named after it, when it is created or started; the room is deleted when
 * the session completes, terminates, expires or is deleted (tokens and recording:
 * VideoCallService).
 *
 * The row in session_video_rooms is written before the provider is asked, and the room is
 * created by name (the provider answers the existing room to a retry), so neither a crash
 * nor two instances make a second room or leave one behind: the video-rooms job finishes
 * what a request could not (provider down, process gone), with exponential backoff.
 * With `p2p` nothing here runs and no request leaves the server.
 */
export class VideoRooms {
  /** Creations under way on this instance, so concurrent readers of one session wait for one request. */
  private readonly creating = new Map<string, Promise<RoomRow | undefined>>();

  constructor(
    private readonly db: DataSource,
    private readonly provider: VideoProvider,
    private readonly options: VideoRoomsOptions,
  ) {}

  get enabled(): boolean {
    return this.provider.hostsRooms;
  }

  /**
   * Creates a session's room when it is created or started, and deletes it when it ends, in
   * the background after the commit (a failure is left to the job). Answers the function
   * that stops watching.
   */
  watch(store: Pick<SessionStore, "onCommit">): () => void {
    return store.onCommit((sessionId, events) => {
      if (!this.enabled) return;
      for (const event of events) {
        const work = this.onEvent(sessionId, event);
        if (work) work.catch(() => undefined); // recorded on the row; the job retries
      }
    });
  }

  private onEvent(sessionId: string, event: TimelineMessage): Promise<unknown> | undefined {
    if (event.type === "SESSION_CREATED" || event.type === "SESSION_START") return this.ensure(sessionId);
    if (event.type.startsWith("SESSION_") && FINAL_STATUSES.includes(event.data?.status as never)) return this.release(sessionId);
    return undefined;
  }

  /**
   * The sessions' rooms for ClassroomSession.videoRoom: null with p2p, for a solo workspace
   * and once a session is over. The rooms that exist take one statement; a missing one is
   * created now (its entry is UNAVAILABLE when the provider fails: the job keeps trying).
   */
  async rooms(sessions: ReadonlyArray<Pick<SessionEntity, "id" | "type" | "status">>): Promise<Array<VideoRoomView | null | Error>> {
    const wanted = sessions.filter((s) => this.enabled && s.type !== SessionType.SOLO && !FINAL_STATUSES.includes(s.status));
    if (wanted.length === 0) return sessions.map(() => null);
    const rows: RoomRow[] = await this.db.query(`SELECT ${ROOM_COLUMNS} FROM session_video_rooms WHERE session_id = ANY($1::uuid[])`, [
      wanted.map((s) => s.id),
    ]);
    const known = new Map(rows.map((row) => [row.session_id, row]));
    const view = (row: RoomRow | undefined) => (row?.state === "READY" && row.url ? { provider: this.provider.name, name: row.name, url: row.url } : null);
    return Promise.all(
      sessions.map(async (session) => {
        if (!wanted.includes(session)) return null;
        const row = known.get(session.id);
        if (row && row.state !== "CREATING") return view(row);
        return this.ensure(session.id, true).then(view, (err: Error) => err);
      }),
    );
  }

  /**
   * Makes sure the live session has its room: the row first (CREATING), then the provider.
   * Answers the row (undefined when the session is gone or over); `strict` throws UNAVAILABLE
   * when the provider fails, otherwise the failure is only recorded for the job. A reader
   * (`due` false) does not ask a provider that failed before its next attempt is due: it is
   * told the last error at once.
   */
  ensure(sessionId: string, strict = false, due = !strict): Promise<RoomRow | undefined> {
    let running = this.creating.get(sessionId);
    if (!running) {
      running = this.create(sessionId, due).finally(() => this.creating.delete(sessionId));
      this.creating.set(sessionId, running);
    }
    return running.catch((err) => {
      if (strict)
        throw providerUnavailable(
          "the room is created as soon as it is back; the lesson and its whiteboard go on meanwhile.",
          err,
          this.options.retryBaseMs || 1000,
        );
      return undefined;
    });
  }

  private async create(sessionId: string, due: boolean): Promise<RoomRow | undefined> {
    const existing = await this.row(sessionId);
    if (existing && existing.state !== "CREATING") return existing; // the common case: one statement
    const [session]: Array<{
      type: string;
      status: string;
      max_participants: number;
      scheduled_start: Date | null;
      settings: Record<string, unknown>;
      is_recorded: boolean;
    }> = await this.db.query(`SELECT type, status, max_participants, scheduled_start, settings, is_recorded FROM classroom_sessions WHERE id = $1`, [
      sessionId,
    ]);
    if (!session || session.type === SessionType.SOLO || !LIVE.includes(session.status)) return undefined;
    const start = Math.max(Date.now(), session.scheduled_start ? new Date(session.scheduled_start).getTime() : 0);
    const expiresAt = new Date(start + this.options.sessionMaxDurationMs + HOUR_MS);
    if (!existing) {
      await this.db.query(
        `INSERT INTO session_video_rooms (session_id, provider, name, state, expires_at) VALUES ($1, $2, $3, 'CREATING', $4) ON CONFLICT (session_id) DO NOTHING`,
        [sessionId, this.provider.name, roomName(sessionId), expiresAt],
      );
    }
    const row = existing ?? (await this.row(sessionId));
    if (!row || row.state !== "CREATING") return row;
    if (!due && row.attempts > 0 && new Date(row.next_attempt_at).getTime() > Date.now()) throw new VideoProviderError(row.last_error ?? "failed");
    try {
      const room = await this.provider.createRoom({
        name: row.name,
        expiresAt: new Date(row.expires_at),
        maxParticipants: session.max_participants,
        screenShare: session.settings?.screenShare !== false,
        recording: session.is_recorded,
      });
      // Still CREATING: a session that ended meanwhile marked it DELETING, and the job deletes it.
      // Through a CTE: TypeORM answers a bare UPDATE … RETURNING with [rows, count] on pg.
      const [ready]: RoomRow[] = await this.db.query(
        `WITH u AS (UPDATE session_video_rooms SET state = 'READY', url = $2, attempts = 0, last_error = NULL, updated_at = now()
          WHERE session_id = $1 AND state = 'CREATING' RETURNING ${ROOM_COLUMNS}) SELECT * FROM u`,
        [sessionId, room.url],
      );
      return ready ?? (await this.row(sessionId));
    } catch (err) {
      await this.failed(sessionId, err);
      throw err;
    }
  }

  /** Marks the session's room for deletion and deletes it (a failure is left to the job). */
  async release(sessionId: string): Promise<void> {
    const [row]: RoomRow[] = await this.db.query(
      `WITH u AS (UPDATE session_video_rooms SET state = 'DELETING', attempts = 0, next_attempt_at = now(), updated_at = now()
        WHERE session_id = $1 AND state IN ('CREATING', 'READY') RETURNING ${ROOM_COLUMNS}) SELECT * FROM u`,
      [sessionId],
    );
    if (row) await this.delete(row);
  }

  private async delete(row: RoomRow): Promise<boolean> {
    try {
      await this.provider.deleteRoom(row.name);
      await this.db.query(`UPDATE session_video_rooms SET state = 'DELETED', last_error = NULL, updated_at = now() WHERE session_id = $1`, [row.session_id]);
      return true;
    } catch (err) {
      await this.failed(row.session_id, err);
      return false;
    }
  }

  /** Counts a failed attempt and puts the next one off: base × 2^(attempts − 1), at most an hour. */
  private async failed(sessionId: string, err: unknown): Promise<void> {
    const message = (err instanceof VideoProviderError || err instanceof Error ? err.message : String(err)).slice(0, 300);
    await this.db.query(
      `UPDATE session_video_rooms
          SET attempts = attempts + 1, last_error = $2, updated_at = now(),
              next_attempt_at = now() + make_interval(secs => least($3::float8 * power(2, attempts), 3600000) / 1000)
        WHERE session_id = $1`,
      [sessionId, message, this.options.retryBaseMs],
    );
  }

  private async row(sessionId: string): Promise<RoomRow | undefined> {
    const [row]: RoomRow[] = await this.db.query(`SELECT ${ROOM_COLUMNS} FROM session_video_rooms WHERE session_id = $1`, [sessionId]);
    return row;
  }

  /**
   * The video-rooms job: rooms whose creation failed are created; rooms of sessions that are
   * over or deleted are deleted, again after a failure; a room past its
   * expiry is given up (the provider has deleted it), so nothing is retried forever; a live
   * session the hooks missed (a crash right after its commit) gets its room. Deleted rooms are
   * forgotten after 30 days, webhook event ids after 7. Answers what it did.
   */
  async retryDue(now: Date, limit = 100): Promise<{ created: number; deleted: number; failed: number }> {
    const counts = { created: 0, deleted: 0, failed: 0 };
    if (!this.enabled) return counts;
    // Rooms of sessions that are over or deleted (deleteSession records no event to hear).
    await this.db.query(
      `UPDATE session_video_rooms r SET state = 'DELETING', attempts = 0, next_attempt_at = $1, updated_at = now()
        WHERE r.state IN ('CREATING', 'READY')
          AND NOT EXISTS (SELECT 1 FROM classroom_sessions s WHERE s.id = r.session_id AND s.status = ANY($2))`,
      [now, LIVE],
    );
    await this.db.query(`UPDATE session_video_rooms SET state = 'DELETED', updated_at = now() WHERE state = 'DELETING' AND expires_at < $1`, [now]);
    const due: RoomRow[] = await this.db.query(
      `SELECT ${ROOM_COLUMNS} FROM session_video_rooms WHERE state IN ('CREATING', 'DELETING') AND next_attempt_at <= $1 ORDER BY next_attempt_at LIMIT $2`,
      [now, limit],
    );
    const missing: Array<{ id: string }> = await this.db.query(
      `SELECT s.id FROM classroom_sessions s
        WHERE s.status = ANY($1) AND s.type <> 'SOLO'
          AND NOT EXISTS (SELECT 1 FROM session_video_rooms r WHERE r.session_id = s.id)
        LIMIT $2`,
      [LIVE, limit],
    );
    for (const row of due) {
      if (row.state === "DELETING") counts[(await this.delete(row)) ? "deleted" : "failed"] += 1;
      else counts[(await this.ensure(row.session_id))?.state === "READY" ? "created" : "failed"] += 1;
    }
    for (const { id } of missing) counts[(await this.ensure(id))?.state === "READY" ? "created" : "failed"] += 1;
    // Kept a while for the record, then dropped: webhook ids outlive the provider's retries by far.
    await this.db.query(`DELETE FROM session_video_rooms WHERE state = 'DELETED' AND updated_at < $1`, [new Date(now.getTime() - 30 * DAY_MS)]);
    await this.db.query(`DELETE FROM video_webhook_events WHERE received_at < $1`, [new Date(now.getTime() - 7 * DAY_MS)]);
    return counts;
  }
}
