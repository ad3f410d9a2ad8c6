import type { DataSource } from "typeorm";
import type { AuthContext } from "../auth/auth-context";
import { rateLimited } from "../domain/errors";
import type { RateLimiter } from "../infra/rate-limiter";
import { signedInUser } from "./actor";
import { EXPORT_PAGE_SIZE } from "./lesson-export.service";
import { connectedTimeSeconds } from "./seats";

const MINUTE = 60_000;

/**
 * A user's own data (GET /export/me, issue 18), as the parts of one JSON document, each a
 * list read a page at a time while it is written: nothing is held whole in memory.
 */
export interface PersonalExport {
  filename: string;
  /** The document's scalar head: when, and the profile. */
  head: Record<string, unknown>;
  /** Each list of the document by its key, as pages. */
  lists: Array<[key: string, pages: AsyncIterable<unknown[]>]>;
}

type Row = Record<string, unknown>;

/** What GET /export/me holds: the signed-in user's profile, sessions, chat, solo snapshots' metadata, push subscriptions. */
export class PersonalExportService {
  constructor(
    private readonly db: DataSource,
    private readonly limiter: RateLimiter,
  ) {}

  /**
   * The signed-in user's data (an access token: UNAUTHENTICATED otherwise), at most one
   * export a minute per user on every instance (RATE_LIMITED with retryAfterMs).
   */
  async open(auth: AuthContext): Promise<PersonalExport> {
    const user = await signedInUser(this.db.manager, auth.requireUserId());
    const decision = await this.limiter.hit(`export-me:user:${user.id}`, 1, MINUTE);
    if (!decision.allowed) throw rateLimited(decision.retryAfterMs);
    const id = user.id;
    return {
      filename: `my-data-${id}.json`,
      head: {
        exportedAt: new Date().toISOString(),
        profile: { id, email: user.email, displayName: user.displayName, role: user.role, createdAt: user.createdAt.toISOString() },
      },
      lists: [
        ["sessions", this.sessions(id)],
        ["chatMessages", this.chatMessages(id)],
        ["soloSnapshots", this.soloSnapshots(id)],
        ["pushSubscriptions", this.pushSubscriptions(id)],
      ],
    };
  }

  /** The sessions the user is a participant of, with role, status and attendance. */
  private async *sessions(userId: string): AsyncGenerator<unknown[]> {
    yield* this.keyset(
      `SELECT p.id AS key, s.id AS session_id, s.title, s.type, s.status AS session_status, s.actual_start, s.actual_end,
              p.role, p.status, p.joined_at, p.left_at, p.join_count, p.reconnect_count, p.connected_seconds, p.connected_since
         FROM session_participants p JOIN classroom_sessions s ON s.id = p.session_id
        WHERE p.user_id = $1 AND p.id > $2 ORDER BY p.id LIMIT $3`,
      userId,
      (r) => ({
        sessionId: r.session_id,
        title: r.title,
        type: r.type,
        sessionStatus: r.session_status,
        actualStart: iso(r.actual_start),
        actualEnd: iso(r.actual_end),
        role: r.role,
        status: r.status,
        joinedAt: iso(r.joined_at),
        leftAt: iso(r.left_at),
        joinCount: r.join_count,
        reconnectCount: r.reconnect_count,
        totalTimeSeconds: connectedTimeSeconds(r.connected_seconds as number, r.connected_since as Date | string | null),
      }),
    );
  }

  /**
   * Their chat messages in every session they took part in, in (session, seq) order: read by
   * that key (the timeline's own index), among the sessions they are a participant of.
   */
  private async *chatMessages(userId: string): AsyncGenerator<unknown[]> {
    let after = { sessionId: "00000000-0000-0000-0000-000000000000", seq: 0 };
    for (;;) {
      const rows = (await this.db.query(
        `SELECT e.session_id, e.seq, e.timestamp_ms, e.data, e.created_at
           FROM session_events e
          WHERE e.session_id IN (SELECT p.session_id FROM session_participants p WHERE p.user_id = $1)
            AND (e.session_id, e.seq) > ($2::uuid, $3::int) AND e.user_id = $1 AND e.type = 'CHAT_MESSAGE'
          ORDER BY e.session_id, e.seq LIMIT $4`,
        [userId, after.sessionId, after.seq, EXPORT_PAGE_SIZE],
      )) as Row[];
      if (rows.length === 0) return;
      const last = rows[rows.length - 1];
      after = { sessionId: last.session_id as string, seq: last.seq as number };
      yield rows.map((r) => ({ sessionId: r.session_id, seq: r.seq, timestampMs: Number(r.timestamp_ms), data: json(r.data), createdAt: iso(r.created_at) }));
      if (rows.length < EXPORT_PAGE_SIZE) return;
    }
  }

  /** Metadata of the snapshots counted against their storage (solo snapshots); not the boards themselves. */
  private async *soloSnapshots(userId: string): AsyncGenerator<unknown[]> {
    yield* this.keyset(
      `SELECT id AS key, session_id, version, type, size_bytes, board_version, created_at
         FROM board_snapshots WHERE quota_owner_id = $1 AND id > $2 ORDER BY id LIMIT $3`,
      userId,
      (r) => ({
        sessionId: r.session_id,
        version: r.version,
        type: r.type,
        sizeBytes: r.size_bytes,
        boardVersion: r.board_version,
        createdAt: iso(r.created_at),
      }),
    );
  }

  private async *pushSubscriptions(userId: string): AsyncGenerator<unknown[]> {
    yield* this.keyset(
      `SELECT id AS key, device_id, endpoint, expires_at, failure_count, created_at
         FROM push_subscriptions WHERE user_id = $1 AND id > $2 ORDER BY id LIMIT $3`,
      userId,
      (r) => ({
        id: r.key,
        deviceId: r.device_id,
        endpoint: r.endpoint,
        expiresAt: iso(r.expires_at),
        failureCount: r.failure_count,
        createdAt: iso(r.created_at),
      }),
    );
  }

  /** Pages of `sql` ($1 the user, $2 the last key read, $3 the page size), ordered by their uuid `key`. */
  private async *keyset(sql: string, userId: string, map: (row: Row) => unknown): AsyncGenerator<unknown[]> {
    let after = "00000000-0000-0000-0000-000000000000";
    for (;;) {
      const rows = (await this.db.query(sql, [userId, after, EXPORT_PAGE_SIZE])) as Row[];
      if (rows.length === 0) return;
      after = rows[rows.length - 1].key as string;
      yield rows.map(map);
      if (rows.length < EXPORT_PAGE_SIZE) return;
    }
  }
}

function iso(value: unknown): string | null {
  return value === null || value === undefined ? null : new Date(value as string).toISOString();
}

function json(value: unknown): unknown {
  return typeof value === "string" ? (JSON.parse(value) as unknown) : value;
}
