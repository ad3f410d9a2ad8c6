import { type DataSource, type EntityManager } from "typeorm";
import { queryPrepared } from "../db/prepared";
import { entityFromRow, selectColumns, type SqlCondition, type SqlRow } from "../db/raw-rows";
import { ClassroomEntity, ClassroomMemberEntity } from "../entities/classroom.entity";
import {
  ParticipantEntity,
  ParticipantRole,
  ParticipantStatus,
  RolePermissionsEntity,
  SEATED,
  type PermissionKey,
  type Permissions,
} from "../entities/participant.entity";
import { SessionEventEntity } from "../entities/session-event.entity";
import { SessionEntity, type SessionStatus } from "../entities/session.entity";
import { UserEntity, UserRole } from "../entities/user.entity";
import { effectivePermissions } from "./permissions";
import { requireReach, requireReport, type SessionAccess } from "./session-policy";
import type { ClassroomRole } from "./account-policy";

/**
 * What access is decided on, read from the database: a user's SessionAccess to a session (one
 * statement), classroom roles, the sessions and classrooms a user may read (as SQL agreeing
 * with the policies), the role defaults. The decisions themselves are the pure functions of
 * session-policy.ts and account-policy.ts (RULES.md "Who has access to a session"): every one
 * denies by default. Mutations and subscriptions on a session the user cannot reach at all
 * answer NOT_FOUND, so existence never leaks; queries answer null.
 */
export class AccessPolicy {
  private roleDefaults?: Promise<Map<ParticipantRole, Permissions>>;

  constructor(private readonly db: DataSource) {}

  /**
   * The role defaults of RULES.md, as stored in role_permissions (read once per instance).
   * Read through `manager`: inside a transaction on the embedded database (one connection) a
   * read through the DataSource would wait for that transaction, which waits for it.
   */
  async defaultsFor(role: ParticipantRole, manager: EntityManager = this.db.manager): Promise<Permissions> {
    this.roleDefaults ??= manager.find(RolePermissionsEntity).then((rows) => new Map(rows.map((r) => [r.role, r.permissions])));
    this.roleDefaults.catch(() => (this.roleDefaults = undefined));
    const defaults = (await this.roleDefaults).get(role);
    if (!defaults) throw new Error(`no role_permissions row for ${role}`);
    return defaults;
  }

  /** What decides `actorId`'s access to the session, or undefined when it does not exist. */
  async load(actorId: string, sessionId: string, manager: EntityManager = this.db.manager, session?: SessionEntity): Promise<SessionAccess | undefined> {
    if (session) return (await this.read(actorId, session, manager, [])).access;
    if (!isUuid(sessionId)) return undefined;
    // The session row and what decides access in one statement.
    const sql = `SELECT ${selectColumns(manager, SessionEntity, "s", "s_")}, ${accessColumns("s.classroom_id")}
      FROM classroom_sessions s
      LEFT JOIN users u ON u.id = $1
      LEFT JOIN session_participants p ON p.session_id = s.id AND p.user_id = $1
      WHERE s.id = $2`;
    const params = [actorId, sessionId];
    // Prepared unless it runs inside the caller's transaction.
    const rows: Array<SqlRow> = manager === this.db.manager ? await queryPrepared(this.db, sql, params) : await manager.query(sql, params);
    if (!rows[0]) return undefined;
    return this.accessFrom(actorId, entityFromRow(manager, SessionEntity, rows[0], "s_"), rows[0], manager);
  }

  /**
   * The actor's row, participant and classroom membership (and, for `clientOpIds`, the
   * actor's board events stored under them) in one statement. Run after the session's lock
   * was granted, it sees what the lock's previous holder committed.
   */
  private async read(
    actorId: string,
    session: SessionEntity,
    manager: EntityManager,
    clientOpIds: readonly string[],
  ): Promise<{ access: SessionAccess; repeats: SessionEventEntity[] }> {
    const rows = (await manager.query(clientOpIds.length > 0 ? ACCESS_AND_REPEATS_SQL : ACCESS_SQL, [
      actorId,
      session.id,
      session.classroomId,
      ...(clientOpIds.length > 0 ? [clientOpIds] : []),
    ])) as Array<SqlRow>;
    const row = rows[0];
    const access = await this.accessFrom(actorId, session, row, manager);
    const repeats = ((row.repeats ?? []) as Array<SqlRow>).map((e) =>
      Object.assign(new SessionEventEntity(), {
        id: e.id,
        sessionId: session.id,
        seq: e.seq,
        timestampMs: Number(e.timestamp_ms),
        type: e.type,
        userId: e.user_id,
        data: e.data,
        clientOpId: e.client_op_id,
        boardVersion: e.board_version,
        createdAt: new Date(Number(e.created_ms)),
      }),
    );
    return { access, repeats };
  }

  /** The access a row of accessColumns gives `actorId` in `session`. */
  private async accessFrom(actorId: string, session: SessionEntity, row: SqlRow, manager: EntityManager): Promise<SessionAccess> {
    const participant = row.p_id === null ? undefined : entityFromRow(manager, ParticipantEntity, row, "p_");
    const isHost = session.hostId === actorId;
    const role = participant?.role ?? (isHost ? ParticipantRole.HOST : ParticipantRole.VIEWER);
    const permissions = effectivePermissions(await this.defaultsFor(role, manager), participant?.permissionGrants ?? {});
    return {
      session,
      actorId,
      isAdmin: row.actor_role === UserRole.ADMIN,
      isHost,
      inClassroom: row.in_classroom === true,
      participant,
      kicked: participant?.status === ParticipantStatus.KICKED,
      permissions,
    };
  }

  /**
   * The fast path of frequent participant actions (cursor moves): one statement that answers
   * the session's status when `actorId` holds a seat in it (a seated participant always has
   * access), undefined otherwise; callers then take the full `require` for the exact error.
   */
  async seatedIn(actorId: string, sessionId: string): Promise<{ sessionStatus: SessionStatus } | undefined> {
    if (!isUuid(sessionId)) return undefined;
    const rows: Array<{ status: SessionStatus }> = await this.db.query(
      `SELECT s.status FROM classroom_sessions s JOIN session_participants p ON p.session_id = s.id
        WHERE s.id = $1 AND p.user_id = $2 AND p.status = ANY($3::text[])`,
      [sessionId, actorId, [...SEATED]],
    );
    return rows[0] ? { sessionStatus: rows[0].status } : undefined;
  }

  /**
   * The board write's fast path (BoardService), as a condition on the session row `s` that
   * holds when `actorId` holds every one of `permissions` as a seated participant (JOINING,
   * CONNECTED or RECONNECTING; the host included, so a host without a participant row holds
   * no seat): what `require`, `requireSeated` and `holds` decide, read in the write's own
   * statement. When it does not hold, the locked path decides the exact error.
   */
  holdsAllCondition(actorId: string, permissions: readonly PermissionKey[]): SqlCondition {
    return (param) => `EXISTS (
        SELECT 1 FROM session_participants p
          JOIN role_permissions rp ON rp.role = p.role
         WHERE p.session_id = s.id AND p.user_id = ${param(actorId)} AND p.status = ANY(${param([...SEATED])}::text[])
           AND NOT EXISTS (SELECT 1 FROM unnest(${param(permissions)}::text[]) AS k(key)
                            WHERE NOT COALESCE(CASE WHEN jsonb_typeof(p.permission_grants -> k.key) = 'boolean'
                                                    THEN (p.permission_grants ->> k.key)::boolean END,
                                               (rp.permissions ->> k.key)::boolean, false)))`;
  }

  /**
   * For mutations and subscriptions: the access, or NOT_FOUND when the session does not exist
   * or the user has no access at all; FORBIDDEN for a kicked user (they know it exists).
   */
  async require(actorId: string, sessionId: string, manager?: EntityManager, session?: SessionEntity): Promise<SessionAccess> {
    return requireReach(await this.load(actorId, sessionId, manager, session));
  }

  /**
   * `require` for a board write under the lock of `session`, with the actor's board events
   * already stored under `clientOpIds` (the batch's repeats), read by the same statement:
   * one round trip fewer while the session row is locked.
   */
  async requireForBoardWrite(
    actorId: string,
    session: SessionEntity,
    tx: EntityManager,
    clientOpIds: readonly string[],
  ): Promise<{ access: SessionAccess; repeats: SessionEventEntity[] }> {
    const { access, repeats } = await this.read(actorId, session, tx, clientOpIds);
    return { access: requireReach(access), repeats };
  }

  /** Classrooms: the tutor and members may read; only the tutor (or an admin) manages. */
  async classroomRole(actorId: string, classroomId: string): Promise<ClassroomRole | undefined> {
    if (!isUuid(classroomId)) return undefined;
    const [classroom, actor] = await Promise.all([
      this.db.manager.findOneBy(ClassroomEntity, { id: classroomId }),
      this.db.manager.findOneBy(UserEntity, { id: actorId }),
    ]);
    if (!classroom) return undefined;
    if (classroom.tutorId === actorId) return "tutor";
    if (actor?.role === UserRole.ADMIN) return "admin";
    const member = await this.db.manager.existsBy(ClassroomMemberEntity, { classroomId, userId: actorId });
    return member ? "member" : undefined;
  }

  /** Ids of the classrooms among `classroomIds` that `actorId` may read (one query). */
  async readableClassroomIds(actorId: string, classroomIds: readonly string[]): Promise<Set<string>> {
    const ids = classroomIds.filter(isUuid);
    if (ids.length === 0) return new Set();
    const rows: Array<{ id: string }> = await this.db.query(
      `SELECT c.id FROM classrooms c
        WHERE c.id = ANY($2::uuid[])
          AND (c.tutor_id = $1
            OR EXISTS (SELECT 1 FROM users u WHERE u.id = $1 AND u.role = 'ADMIN')
            OR EXISTS (SELECT 1 FROM classroom_members m WHERE m.classroom_id = c.id AND m.user_id = $1))`,
      [actorId, ids],
    );
    return new Set(rows.map((r) => r.id));
  }

  /** Ids of the sessions among `sessionIds` that `actorId` may read (one query). */
  async readableSessionIds(actorId: string, sessionIds: readonly string[]): Promise<Set<string>> {
    const ids = sessionIds.filter(isUuid);
    if (ids.length === 0) return new Set();
    const params: unknown[] = [ids];
    const readable = readableSessions(actorId, { admins: true })((value) => `$${params.push(value)}`);
    const rows = await queryPrepared<{ id: string }>(this.db, `SELECT s.id FROM classroom_sessions s WHERE s.id = ANY($1::uuid[]) AND ${readable}`, params);
    return new Set(rows.map((r) => r.id));
  }

  /**
   * FORBIDDEN unless `actorId` may read `session`'s lesson report (session-policy mayReport):
   * the host is known from the row at hand; whether the actor is an admin takes one query.
   */
  async requireReport(actorId: string, session: Pick<SessionEntity, "hostId">): Promise<void> {
    const isAdmin = session.hostId === actorId ? false : (await this.db.query(`SELECT 1 FROM users WHERE id = $1 AND role = 'ADMIN'`, [actorId])).length > 0;
    requireReport({ id: actorId, isAdmin }, session);
  }

  /**
   * Of `userIds`, those whose email `viewerId` may see (RULES.md "Users"): their own, every
   * one for an admin, and those who joined a session the viewer hosts. Joining is the user's
   * own act (join_count > 0); an invitation (a confirmed booking's INVITED row) or a
   * classroom membership reveals nothing. One query for a whole page of users (the loaders'
   * batch), none when the viewer only asks about themself.
   */
  async emailVisibleIds(viewerId: string, userIds: readonly string[]): Promise<Set<string>> {
    const visible = new Set(userIds.filter((id) => id === viewerId));
    const others = userIds.filter((id) => id !== viewerId && isUuid(id));
    if (others.length === 0) return visible;
    const rows: Array<{ id: string }> = await this.db.query(
      `SELECT u.id FROM users u
        WHERE u.id = ANY($2::uuid[])
          AND (EXISTS (SELECT 1 FROM users a WHERE a.id = $1 AND a.role = 'ADMIN')
            OR EXISTS (SELECT 1 FROM session_participants p JOIN classroom_sessions s ON s.id = p.session_id
                        WHERE p.user_id = u.id AND p.join_count > 0 AND s.host_id = $1))`,
      [viewerId, others],
    );
    for (const row of rows) visible.add(row.id);
    return visible;
  }
}

/**
 * The sessions `actorId` may read, as a condition on the session row `s` (RULES.md "Who has
 * access to a session", for lists and batches): host, participant (not KICKED), classroom
 * tutor or member, and never a session they were kicked from; with `admins`, every session
 * for an admin. The same rule as session-policy canRead, which the policy test holds it to.
 */
export function readableSessions(actorId: string, options: { admins?: boolean } = {}): SqlCondition {
  return (param) => {
    const actor = param(actorId);
    const rule = `(NOT EXISTS (SELECT 1 FROM session_participants k
                     WHERE k.session_id = s.id AND k.user_id = ${actor} AND k.status = 'KICKED')
        AND (s.host_id = ${actor}
          OR EXISTS (SELECT 1 FROM session_participants p WHERE p.session_id = s.id AND p.user_id = ${actor})
          OR EXISTS (SELECT 1 FROM classrooms c WHERE c.id = s.classroom_id AND c.tutor_id = ${actor})
          OR EXISTS (SELECT 1 FROM classroom_members m WHERE m.classroom_id = s.classroom_id AND m.user_id = ${actor})))`;
    return options.admins ? `(EXISTS (SELECT 1 FROM users a WHERE a.id = ${actor} AND a.role = 'ADMIN') OR ${rule})` : rule;
  };
}

/** The session_participants columns, prefixed p_, as participantFromRow reads them. */
const PARTICIPANT_COLUMNS = `p.id AS p_id, p.session_id AS p_session_id, p.user_id AS p_user_id, p.role AS p_role,
  p.status AS p_status, p.joined_at AS p_joined_at, p.left_at AS p_left_at, p.peer_id AS p_peer_id,
  p.audio_enabled AS p_audio_enabled, p.video_enabled AS p_video_enabled, p.screen_sharing AS p_screen_sharing,
  p.connection_quality AS p_connection_quality, p.hand_raised AS p_hand_raised, p.permission_grants AS p_permission_grants,
  p.join_count AS p_join_count, p.reconnect_count AS p_reconnect_count, p.connected_seconds AS p_connected_seconds,
  p.connected_since AS p_connected_since, p.in_call_since AS p_in_call_since, p.call_seconds AS p_call_seconds,
  p.recording_consent AS p_recording_consent, p.created_at AS p_created_at, p.updated_at AS p_updated_at`;

/** The columns access is decided on: $1 the actor, $2 the session, `classroom` its classroom (or null), over u and p. */
const accessColumns = (classroom: string) => `
  u.role AS actor_role,
  EXISTS (SELECT 1 FROM classrooms c WHERE c.id = ${classroom} AND (c.tutor_id = $1
    OR EXISTS (SELECT 1 FROM classroom_members m WHERE m.classroom_id = c.id AND m.user_id = $1))) AS in_classroom,
  ${PARTICIPANT_COLUMNS}`;
const ACCESS_COLUMNS = accessColumns("$3");

/** One row always: the participant's columns are null when the actor has none. */
const ACCESS_FROM = `
  FROM (VALUES (1)) AS one
  LEFT JOIN users u ON u.id = $1
  LEFT JOIN session_participants p ON p.session_id = $2 AND p.user_id = $1`;

/** What decides access, in one statement. */
const ACCESS_SQL = `SELECT ${ACCESS_COLUMNS} ${ACCESS_FROM}`;

/** ACCESS_SQL and, as a JSON array, the actor's events in session $2 whose client op id is in $4. */
const ACCESS_AND_REPEATS_SQL = `
  SELECT ${ACCESS_COLUMNS},
    (SELECT json_agg(json_build_object('id', e.id, 'seq', e.seq, 'timestamp_ms', e.timestamp_ms, 'type', e.type,
              'user_id', e.user_id, 'data', e.data, 'client_op_id', e.client_op_id, 'board_version', e.board_version,
              'created_ms', floor(extract(epoch FROM e.created_at) * 1000)))
       FROM session_events e
      -- The user compared outside the index: the lookup takes session_events_client_op_key by
      -- (session, op id) whatever the statistics say, never the user's every event.
      WHERE e.session_id = $2 AND e.client_op_id = ANY($4::text[]) AND e.user_id IS NOT DISTINCT FROM $1) AS repeats
  ${ACCESS_FROM}`;

export function isUuid(value: string): boolean {
  return /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(value);
}
