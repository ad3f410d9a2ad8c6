import { type DataSource, type EntityManager } from "typeorm";
import { queryPrepared } from "../db/prepared";
import { entityFromRow, selectColumns, type SqlCondition, type SqlRow } from "../db/raw-rows";
import type { BookingEntity } from "../entities/booking.entity";
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
import { forbidden, notFound } from "../services/errors";
import { effectivePermissions } from "./permissions";

/** What a user is to a classroom; undefined (elsewhere) means no access at all. */
export type ClassroomRole = "tutor" | "member" | "admin";
/** What a user is to a booking; undefined (elsewhere) means no access at all. */
export type BookingRole = "tutor" | "student" | "admin";

/** Everything that decides what one user may do in one session, loaded once. */
export interface SessionAccess {
  session: SessionEntity;
  actorId: string;
  isAdmin: boolean;
  isHost: boolean;
  /** Tutor or member of the session's classroom. */
  inClassroom: boolean;
  participant?: ParticipantEntity;
  kicked: boolean;
  /** Effective permissions: the participant's role defaults overlaid with its grants. */
  permissions: Permissions;
}

/**
 * The one place where access is decided (RULES.md "Who has access to a session"). Every
 * check denies by default. Mutations and subscriptions on a session the user cannot reach
 * at all answer NOT_FOUND, so existence never leaks; queries answer null.
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

  /** Whether the session is visible at all: admins always; KICKED overrides everything else. */
  canRead(access: SessionAccess): boolean {
    if (access.isAdmin) return true;
    if (access.kicked) return false;
    return access.isHost || access.participant !== undefined || access.inClassroom;
  }

  /**
   * For mutations and subscriptions: the access, or NOT_FOUND when the session does not exist
   * or the user has no access at all; FORBIDDEN for a kicked user (they know it exists).
   */
  async require(actorId: string, sessionId: string, manager?: EntityManager, session?: SessionEntity): Promise<SessionAccess> {
    const access = await this.load(actorId, sessionId, manager, session);
    if (!access) throw notFound("Session");
    return this.decide(access);
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
    return { access: this.decide(access), repeats };
  }

  /** The access if it lets the user act on the session: NOT_FOUND without access, FORBIDDEN when kicked. */
  private decide(access: SessionAccess): SessionAccess {
    if (access.kicked && !access.isAdmin) throw forbidden("You were removed from this session.");
    if (!this.canRead(access)) throw notFound("Session");
    return access;
  }

  /** FORBIDDEN unless the user hosts the session. */
  requireHost(access: SessionAccess, what: string): void {
    if (!access.isHost) throw forbidden(`Only the host can ${what}.`);
  }

  /** FORBIDDEN unless the user hosts the session or holds `permission` in it. */
  requireHostOr(access: SessionAccess, permission: PermissionKey, what: string): void {
    if (access.isHost) return;
    if (!access.participant || !access.permissions[permission]) {
      throw forbidden(`You need the ${permission} permission to ${what}.`);
    }
  }

  /** Whether the user holds `permission` as a participant (the host included). */
  holds(access: SessionAccess, permission: PermissionKey): boolean {
    return access.permissions[permission] && (access.participant !== undefined || access.isHost);
  }

  /** FORBIDDEN unless the user holds `permission` as a participant (the host included). */
  requirePermission(access: SessionAccess, permission: PermissionKey, what: string): void {
    if (!this.holds(access, permission)) throw forbidden(`You need the ${permission} permission to ${what}.`);
  }

  /**
   * Replay (H3): everyone who may read a recorded session; with isRecorded false, the host
   * (and admins) only (RULES.md "Who has access to a session").
   */
  canReplay(access: SessionAccess): boolean {
    return access.isAdmin || access.isHost || (access.session.isRecorded && this.canRead(access));
  }

  /** FORBIDDEN unless canReplay. */
  requireReplay(access: SessionAccess): void {
    if (!this.canReplay(access)) throw forbidden("This session is not recorded: only its host can replay it.");
  }

  /**
   * Export downloads: the host, admins, and readers holding canExport (every role's default;
   * a participant's grants can take it away).
   */
  requireExport(access: SessionAccess): void {
    if (access.isAdmin || access.isHost) return;
    if (!this.canRead(access) || !access.permissions.canExport) throw forbidden("You need the canExport permission to export this board.");
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

  /** Whether the role from classroomRole may read the classroom (tutor, member, admin). */
  canReadClassroom(role: ClassroomRole | undefined): role is ClassroomRole {
    return role !== undefined;
  }

  /**
   * For mutations managing a classroom (adding members, scheduling into it): NOT_FOUND when
   * the user cannot see it at all, FORBIDDEN for a member (they know it exists).
   */
  requireClassroomManager(role: ClassroomRole | undefined, what: string): void {
    if (!this.canReadClassroom(role)) throw notFound("Classroom");
    if (role === "member") throw forbidden(`Only the classroom's tutor can ${what}.`);
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

  /**
   * The actor's part in a booking: its tutor, its student, an admin, or undefined (no access:
   * queries answer null, mutations NOT_FOUND). Classroom members do not see bookings.
   */
  bookingRole(actor: Pick<UserEntity, "id" | "role">, booking: Pick<BookingEntity, "tutorId" | "studentId">): BookingRole | undefined {
    if (booking.tutorId === actor.id) return "tutor";
    if (booking.studentId === actor.id) return "student";
    return actor.role === UserRole.ADMIN ? "admin" : undefined;
  }

  /**
   * For booking mutations: NOT_FOUND without access, FORBIDDEN when the actor's part is not
   * one of `allowed`; answers the part.
   */
  requireBookingRole(actor: Pick<UserEntity, "id" | "role">, booking: BookingEntity, allowed: readonly BookingRole[], what: string): BookingRole {
    const role = this.bookingRole(actor, booking);
    if (!role) throw notFound("Booking");
    if (!allowed.includes(role)) throw forbidden(`Only the booking's tutor can ${what}.`);
    return role;
  }

  /** Ids of the sessions among `sessionIds` that `actorId` may read (one query). */
  async readableSessionIds(actorId: string, sessionIds: readonly string[]): Promise<Set<string>> {
    const ids = sessionIds.filter(isUuid);
    if (ids.length === 0) return new Set();
    const rows = await queryPrepared<{ id: string }>(
      this.db,
      `SELECT s.id FROM classroom_sessions s
        WHERE s.id = ANY($2::uuid[])
          AND (EXISTS (SELECT 1 FROM users a WHERE a.id = $1 AND a.role = 'ADMIN') OR (${READABLE_CONDITION}))`,
      [actorId, ids],
    );
    return new Set(rows.map((r) => r.id));
  }

  /**
   * Whether `actorId` may read `session`'s lesson report: its host (a host is never kicked),
   * known from the row at hand, or an admin, which takes one query (RULES.md "Who has access").
   */
  async mayReport(actorId: string, session: Pick<SessionEntity, "hostId">): Promise<boolean> {
    if (session.hostId === actorId) return true;
    const rows: unknown[] = await this.db.query(`SELECT 1 FROM users WHERE id = $1 AND role = 'ADMIN'`, [actorId]);
    return rows.length > 0;
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
 * Sessions user $1 may read, as SQL: host, participant (not KICKED), classroom tutor or
 * member, and never a session they were kicked from. Used for lists, so they agree with
 * AccessPolicy.canRead.
 */
const READABLE_CONDITION = `
  NOT EXISTS (SELECT 1 FROM session_participants k
              WHERE k.session_id = s.id AND k.user_id = $1 AND k.status = 'KICKED')
    AND (s.host_id = $1
      OR EXISTS (SELECT 1 FROM session_participants p WHERE p.session_id = s.id AND p.user_id = $1)
      OR EXISTS (SELECT 1 FROM classrooms c WHERE c.id = s.classroom_id AND c.tutor_id = $1)
      OR EXISTS (SELECT 1 FROM classroom_members m WHERE m.classroom_id = s.classroom_id AND m.user_id = $1))`;
export const READABLE_SESSIONS_SQL = `SELECT s.id FROM classroom_sessions s WHERE ${READABLE_CONDITION}`;

/** The session_participants columns, prefixed p_, as participantFromRow reads them. */
const PARTICIPANT_COLUMNS = `p.id AS p_id, p.session_id AS p_session_id, p.user_id AS p_user_id, p.role AS p_role,
  p.status AS p_status, p.joined_at AS p_joined_at, p.left_at AS p_left_at, p.peer_id AS p_peer_id,
  p.audio_enabled AS p_audio_enabled, p.video_enabled AS p_video_enabled, p.screen_sharing AS p_screen_sharing,
  p.connection_quality AS p_connection_quality, p.hand_raised AS p_hand_raised, p.permission_grants AS p_permission_grants,
  p.join_count AS p_join_count, p.reconnect_count AS p_reconnect_count, p.connected_seconds AS p_connected_seconds,
  p.connected_since AS p_connected_since, p.created_at AS p_created_at, p.updated_at AS p_updated_at`;

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
