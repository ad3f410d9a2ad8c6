import { randomInt } from "node:crypto";
import { In, type EntityManager } from "typeorm";
import { isUuid, readableSessions, type AccessPolicy } from "../auth/access";
import { queryPrepared } from "../db/prepared";
import { entityFromRow, selectColumns, typeormParam } from "../db/raw-rows";
import { isUniqueViolation } from "../db/errors";
import type { AuthContext } from "../auth/auth-context";
import type { SignedToken, TokenService } from "../auth/tokens";
import { SnapshotType } from "../entities/board-snapshot.entity";
import { BookingEntity } from "../entities/booking.entity";
import { isSeated, ParticipantEntity, ParticipantRole, ParticipantStatus, SEATED } from "../entities/participant.entity";
import { SessionEntity, SessionStatus, SessionType } from "../entities/session.entity";
import { UserEntity } from "../entities/user.entity";
import type { Config } from "../config";
import type { RateLimiter } from "../infra/rate-limiter";
import { DomainError, DomainErrorReason, invalidInput, rateLimited } from "../domain/errors";
import { decodeTimeCursor, encodeCursor, pageSize, type Page } from "./pagination";
import { allowedIn, nextStatus, requireStatus, type SessionAction } from "./session-lifecycle";
import type { SessionStore } from "./session-store";
import type { SnapshotService } from "./snapshot.service";
import { dbNow, type NewSessionEvent, type SessionEventType } from "./timeline";
import { lockSession } from "./timeline";
import { authorizeAccount, requireClassroomManager } from "../auth/account-policy";
import { authorize, canRead, may, requireNotKicked } from "../auth/session-policy";

export interface CreateSessionInput {
  title?: string | null;
  type: SessionType;
  classroomId?: string | null;
  scheduledStart?: Date | null;
  scheduledEnd?: Date | null;
  maxParticipants?: number | null;
  isRecorded?: boolean | null;
  settings?: Record<string, unknown> | null;
}

export type UpdateSessionInput = Omit<CreateSessionInput, "type" | "classroomId">;

export interface SessionFilter {
  /** Only this classroom's sessions (Classroom.sessions). */
  classroomId?: string | null;
  statuses?: SessionStatus[] | null;
  types?: SessionType[] | null;
  from?: Date | null;
  to?: Date | null;
}

export interface JoinResult {
  session: SessionEntity;
  participant: ParticipantEntity;
  token: SignedToken;
}

const CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"; // no 0/O, 1/I
const CODE_LENGTH = 10; // 50 bits: with 10 wrong tries a minute (WRONG_CODE_RATE_PER_USER), guessing is hopeless
const HOUR = 3_600_000;
const MINUTE = 60_000;

/** What sessions are configured with (src/config.ts): HARDENING.md's rate limits and the page size. */
export type SessionLimits = Pick<Config["rateLimits"], "soloSessionsPerUserPerHour" | "sessionsPerUserPerHour" | "wrongAccessCodesPerUserPerMinute"> &
  Pick<Config["limits"], "maxPageSize">;

const statusEvent: Record<SessionAction, SessionEventType | undefined> = {
  hostJoin: undefined,
  start: "SESSION_START",
  pause: "SESSION_PAUSE",
  resume: "SESSION_RESUME",
  complete: "SESSION_END",
  terminate: "SESSION_TERMINATE",
  expire: "SESSION_EXPIRE",
};

/**
 * Classroom sessions: creation, the lifecycle state machine, joining and leaving, and the
 * session lists. Every change runs through SessionStore (lock, timeline, publish after commit)
 * and every permission through AccessPolicy.
 */
export class SessionService {
  constructor(
    private readonly store: SessionStore,
    private readonly access: AccessPolicy,
    private readonly tokens: TokenService,
    private readonly limiter: RateLimiter,
    private readonly limits: SessionLimits,
    /** JOIN, LEAVE and TERMINATE snapshots of the board (H2), taken in the change's transaction. */
    private readonly snapshots?: Pick<SnapshotService, "onSessionChange">,
  ) {}

  private get db() {
    return this.store.db;
  }

  /** A tutor (or admin) creates a session: SCHEDULED with a start time, else WAITING; SESSION_RATE_PER_USER an hour. */
  async create(auth: AuthContext, input: CreateSessionInput): Promise<SessionEntity> {
    const actor = await this.actor(auth);
    authorizeAccount(actor, "createSession");
    if (input.type === SessionType.SOLO) throw invalidInput("Use createSoloSession for a solo workspace.");
    const limit = await this.limiter.hit(`create-session:${actor.id}`, this.limits.sessionsPerUserPerHour, HOUR);
    if (!limit.allowed) throw rateLimited(limit.retryAfterMs);
    if (input.classroomId) {
      requireClassroomManager(await this.access.classroomRole(actor.id, input.classroomId), "schedule its sessions");
    }
    const fields = validateFields(input);
    return this.insert(actor.id, {
      ...fields,
      type: input.type,
      classroomId: input.classroomId ?? null,
      status: fields.scheduledStart ? SessionStatus.SCHEDULED : SessionStatus.WAITING,
    });
  }

  /** A solo workspace: one participant (SOLO, the owner), ACTIVE from creation; SOLO_SESSION_RATE_PER_USER an hour. */
  async createSolo(auth: AuthContext, title?: string | null): Promise<SessionEntity> {
    const actor = await this.actor(auth);
    const fields = validateFields({ title, maxParticipants: 1 });
    const limit = await this.limiter.hit(`create-solo:${actor.id}`, this.limits.soloSessionsPerUserPerHour, HOUR);
    if (!limit.allowed) throw rateLimited(limit.retryAfterMs);
    return this.insert(actor.id, { ...fields, type: SessionType.SOLO, status: SessionStatus.ACTIVE, classroomId: null }, ParticipantRole.SOLO);
  }

  /**
   * The lesson session of a booking being confirmed, inside the caller's transaction (which
   * holds the booking's lock): SCHEDULED, the student INVITED, linked both ways.
   */
  async createForBooking(tx: EntityManager, booking: BookingEntity): Promise<{ session: SessionEntity; events: NewSessionEvent[] }> {
    const session = await this.insertRow(tx, booking.tutorId, {
      type: SessionType.LESSON,
      status: SessionStatus.SCHEDULED,
      classroomId: booking.classroomId,
      bookingId: booking.id,
      scheduledStart: booking.scheduledStart,
      scheduledEnd: booking.scheduledEnd,
      title: null,
      maxParticipants: 10,
      isRecorded: true,
      settings: {},
    });
    await tx.insert(ParticipantEntity, {
      sessionId: session.id,
      userId: booking.studentId,
      role: ParticipantRole.STUDENT,
      status: ParticipantStatus.INVITED,
    });
    return { session, events: [{ type: "SESSION_CREATED", userId: booking.tutorId, data: { status: session.status, bookingId: booking.id } }] };
  }

  /**
   * A cancelled booking's lesson, inside the caller's transaction (which holds the booking's
   * lock): locks the session and terminates it if it has not started; a lesson under way or
   * finished is left to its host. Answers the locked session and the events to append.
   */
  async terminateForBooking(tx: EntityManager, sessionId: string, actorId: string): Promise<{ session: SessionEntity; events: NewSessionEvent[] }> {
    const session = await lockSession(tx, sessionId);
    if (!allowedIn.cancelWithBooking.includes(session.status)) return { session, events: [] };
    return { session, events: await this.applyTransition(tx, session, "terminate", actorId, { reason: "BOOKING_CANCELLED" }) };
  }

  /** Sessions by id that `viewerId` may read, in the order asked (undefined otherwise); the loaders' batch. */
  async readableByIds(viewerId: string, ids: readonly string[]): Promise<Array<SessionEntity | undefined>> {
    const readable = await this.access.readableSessionIds(viewerId, ids);
    const rows = readable.size ? await this.db.getRepository(SessionEntity).findBy({ id: In([...readable]) }) : [];
    const byId = new Map(rows.map((s) => [s.id, s]));
    return ids.map((id) => byId.get(id));
  }

  /** The host changes a session that has not started yet. */
  async update(auth: AuthContext, id: string, input: UpdateSessionInput): Promise<SessionEntity> {
    const actorId = auth.requireUserIdFor(id);
    return this.store.change(id, async (tx, session) => {
      const access = await this.access.require(actorId, id, tx, session);
      authorize(access, "update");
      requireStatus(session.status, allowedIn.edit, "change the session");
      const fields = validateFields({ ...pick(session), ...definedOnly(input) });
      if (fields.maxParticipants < (await this.seatsTaken(tx, session.id))) {
        throw invalidInput("maxParticipants is below the number of participants already in the session.");
      }
      Object.assign(session, fields);
      if (session.status === SessionStatus.SCHEDULED && !session.scheduledStart) session.status = SessionStatus.WAITING;
      await tx.save(SessionEntity, session);
      return { result: session };
    });
  }

  /** The host deletes a session that has not started and has no board events. */
  async delete(auth: AuthContext, id: string): Promise<boolean> {
    const actorId = auth.requireUserIdFor(id);
    return this.db.transaction(async (tx) => {
      const access = await this.access.require(actorId, id, tx);
      authorize(access, "delete");
      requireStatus(access.session.status, allowedIn.edit, "delete the session");
      if (access.session.boardVersion > 0) {
        throw new DomainError(DomainErrorReason.INVALID_STATE, "A session with board events cannot be deleted.");
      }
      await tx.update(BookingEntity, { sessionId: id }, { sessionId: null });
      await tx.delete(SessionEntity, { id });
      return true;
    });
  }

  /** The session if the user may read it, else null (existence never leaks). */
  async get(auth: AuthContext, id: string): Promise<SessionEntity | null> {
    const actorId = auth.requireUserIdFor(id);
    const access = await this.access.load(actorId, id);
    return access && canRead(access) ? access.session : null;
  }

  /** The sessions the user may read, newest first, filtered, as a keyset page. */
  async list(auth: AuthContext, filter: SessionFilter = {}, first?: number | null, after?: string | null): Promise<Page<SessionEntity>> {
    const actorId = (await this.actor(auth)).id;
    const limit = pageSize(first, this.limits.maxPageSize);
    const qb = this.db.getRepository(SessionEntity).createQueryBuilder("s");
    qb.where(readableSessions(actorId, { admins: true })(typeormParam(qb, "readable")));
    if (filter.statuses?.length) qb.andWhere("s.status IN (:...statuses)", { statuses: filter.statuses });
    if (filter.types?.length) qb.andWhere("s.type IN (:...types)", { types: filter.types });
    if (filter.classroomId) qb.andWhere("s.classroom_id = :classroomId", { classroomId: filter.classroomId });
    if (filter.from) qb.andWhere("COALESCE(s.scheduled_start, s.created_at) >= :from", { from: filter.from });
    if (filter.to) qb.andWhere("COALESCE(s.scheduled_start, s.created_at) < :to", { to: filter.to });
    const totalCount = await qb.clone().getCount();
    const cursor = after ? decodeTimeCursor(after) : undefined;
    // Ordered by created_at at the cursor's precision (ms; Postgres keeps µs), so a session
    // created in the same millisecond as a page's last one is not skipped.
    const createdMs = "date_trunc('milliseconds', s.created_at)";
    if (cursor) qb.andWhere(`(${createdMs}, s.id) < (:at, :id)`, { at: new Date(cursor.at), id: cursor.id });
    const rows = await qb
      .orderBy(createdMs, "DESC")
      .addOrderBy("s.id", "DESC")
      .take(limit + 1)
      .getMany();
    return {
      nodes: rows.slice(0, limit).map((node) => ({ node, cursor: encodeCursor({ at: node.createdAt.getTime(), id: node.id }) })),
      hasNextPage: rows.length > limit,
      hasPreviousPage: Boolean(cursor),
      totalCount,
    };
  }

  /**
   * Joins a session the user has access to (again while joined: a fresh session token). A
   * seat is needed (CONFLICT SESSION_FULL when none is free); the host joining a SCHEDULED
   * session opens it (WAITING).
   */
  async join(auth: AuthContext, id: string): Promise<JoinResult> {
    const actor = await this.actor(auth, id);
    const { session, participant } = await this.store.change(id, async (tx, locked) => {
      await this.access.require(actor.id, id, tx, locked);
      return this.seat(tx, locked, actor.id);
    });
    return { session, participant, token: this.tokens.signSession(actor, session.id) };
  }

  /** Joins with an access code; past WRONG_CODE_RATE_PER_USER (10) wrong codes a minute, RATE_LIMITED. */
  async joinByCode(auth: AuthContext, code: string): Promise<JoinResult> {
    const actor = await this.actor(auth);
    // Over the limit, even a right code is refused: otherwise guessing would go on.
    const wrongCodes = `wrong-code:${actor.id}`;
    const allowed = await this.limiter.peek(wrongCodes, this.limits.wrongAccessCodesPerUserPerMinute, MINUTE);
    if (!allowed.allowed) throw rateLimited(allowed.retryAfterMs);
    const normalized = code.trim().toUpperCase();
    const found = /^[A-Z0-9]{4,16}$/.test(normalized)
      ? await this.db.getRepository(SessionEntity).findOneBy({ accessCode: normalized, status: In([...allowedIn.join]) })
      : null;
    if (!found) {
      const limit = await this.limiter.hit(wrongCodes, this.limits.wrongAccessCodesPerUserPerMinute, MINUTE);
      if (!limit.allowed) throw rateLimited(limit.retryAfterMs);
      throw new DomainError(DomainErrorReason.NOT_FOUND, "No session has this access code.");
    }
    const { session, participant } = await this.store.change(found.id, async (tx, locked) => {
      const access = await this.access.load(actor.id, found.id, tx, locked);
      requireNotKicked(access?.participant);
      return this.seat(tx, locked, actor.id);
    });
    return { session, participant, token: this.tokens.signSession(actor, session.id) };
  }

  /**
   * The user leaves their seat: LEFT, seat freed, screen share and hand cleared. Not seated
   * (never joined, left already, disconnected): INVALID_STATE, nothing recorded.
   */
  async leave(auth: AuthContext, id: string): Promise<ParticipantEntity> {
    const actorId = auth.requireUserIdFor(id);
    return this.store.change(id, async (tx, session) => {
      const access = await this.access.require(actorId, id, tx, session);
      const participant = access.participant;
      if (!isSeated(participant)) {
        throw new DomainError(DomainErrorReason.INVALID_STATE, "You are not in this session.", { status: access.participant?.status ?? null });
      }
      const cleared = await this.vacate(tx, participant, ParticipantStatus.LEFT);
      await this.snapshots?.onSessionChange(tx, session, SnapshotType.LEAVE, actorId);
      return { result: participant, events: [participantEvent("PARTICIPANT_LEAVE", participant, { status: participant.status }), ...cleared] };
    });
  }

  /** Moves the session along its lifecycle; who may do it is RULES.md's table. */
  async transition(auth: AuthContext, id: string, action: Exclude<SessionAction, "hostJoin" | "expire">, reason?: string | null): Promise<SessionEntity> {
    const actorId = auth.requireUserIdFor(id);
    return this.store.change(id, async (tx, session) => {
      const access = await this.access.require(actorId, id, tx, session);
      authorize(access, action);
      const events = await this.applyTransition(tx, session, action, actorId, reason ? { reason: reason.slice(0, 500) } : {});
      return { result: session, events };
    });
  }

  /**
   * The expiry job (RULES.md lifecycle): SCHEDULED/WAITING sessions past their scheduled end
   * + `graceMs`, and WAITING ones without a scheduled end `maxDurationMs` after creation,
   * become EXPIRED; ACTIVE/PAUSED lessons `maxDurationMs` after they started are completed
   * (SESSION_END, reason MAX_DURATION), so a forgotten lesson does not stay writable forever.
   * Solo workspaces are ACTIVE until their owner completes them. Each with its timeline
   * event; every session is re-checked under its lock, so concurrent runs end it once.
   */
  async expireStale(now: Date, graceMs: number, maxDurationMs: number): Promise<{ expired: number; completed: number }> {
    const longAgo = new Date(now.getTime() - maxDurationMs);
    const stale: Array<{ id: string }> = await this.db.query(
      `SELECT id FROM classroom_sessions
        WHERE status IN ('SCHEDULED', 'WAITING') AND scheduled_end < $1
           OR status = 'WAITING' AND scheduled_end IS NULL AND created_at < $2
           OR status IN ('ACTIVE', 'PAUSED') AND type <> 'SOLO' AND actual_start < $2`,
      [new Date(now.getTime() - graceMs), longAgo],
    );
    const outcome = { expired: 0, completed: 0 };
    for (const { id } of stale) {
      const ended = await this.store.change(id, async (tx, session) => {
        // Re-checked under the lock: the host may have started or ended it meanwhile.
        const pending = session.status === SessionStatus.SCHEDULED || session.status === SessionStatus.WAITING;
        if (
          pending &&
          (session.scheduledEnd
            ? session.scheduledEnd.getTime() < now.getTime() - graceMs
            : session.status === SessionStatus.WAITING && session.createdAt < longAgo)
        ) {
          return { result: "expired" as const, events: await this.applyTransition(tx, session, "expire", null, {}) };
        }
        const running = session.status === SessionStatus.ACTIVE || session.status === SessionStatus.PAUSED;
        if (running && session.type !== SessionType.SOLO && session.actualStart && session.actualStart < longAgo) {
          return { result: "completed" as const, events: await this.applyTransition(tx, session, "complete", null, { reason: "MAX_DURATION" }) };
        }
        return { result: undefined };
      });
      if (ended) outcome[ended] += 1;
    }
    return outcome;
  }

  /** Participants of many sessions at once (the loaders' batch), in joining order, and their users. */
  async participantsOf(sessionIds: readonly string[]): Promise<{ participants: ParticipantEntity[][]; users: UserEntity[] }> {
    const ids = sessionIds.filter(isUuid);
    const manager = this.db.manager;
    // Their users in the same statement (a participant list is nearly always shown with names),
    // as far as the API shows a user: never their password hash.
    const rows = ids.length
      ? await queryPrepared(
          this.db,
          `SELECT ${selectColumns(manager, ParticipantEntity, "p", "p_")},
                  u.id AS u_id, u.email AS u_email, u.display_name AS u_display_name, u.role AS u_role, u.created_at AS u_created_at
             FROM session_participants p JOIN users u ON u.id = p.user_id
            WHERE p.session_id = ANY($1::uuid[])
            ORDER BY p.created_at, p.id`,
          [ids],
        )
      : [];
    const participants = rows.map((row) => entityFromRow(manager, ParticipantEntity, row, "p_"));
    const users = new Map(rows.map((row) => [row.u_id as string, row]));
    return {
      participants: sessionIds.map((id) => participants.filter((p) => p.sessionId === id)),
      users: [...users.values()].map((row) => entityFromRow(manager, UserEntity, row, "u_")),
    };
  }

  /** Participants by id, in the order asked (undefined for unknown ids). */
  async participantsByIds(ids: readonly string[]): Promise<Array<ParticipantEntity | undefined>> {
    const rows = ids.length ? await this.db.getRepository(ParticipantEntity).findBy({ id: In([...ids]) }) : [];
    const byId = new Map(rows.map((p) => [p.id, p]));
    return ids.map((id) => byId.get(id));
  }

  /** The session's access code, for those allowed to invite (host or canInvite); else null. */
  async accessCodeFor(auth: AuthContext, session: SessionEntity): Promise<string | null> {
    const actorId = auth.userId;
    if (!actorId) return null;
    // The host, known from the row at hand, costs no query.
    if (session.hostId === actorId) return session.accessCode;
    const access = await this.access.load(actorId, session.id, undefined, session);
    return access && canRead(access) && may(access, "seeAccessCode") ? session.accessCode : null;
  }

  // ---------------------------------------------------------------- internals

  /** The signed-in user; with `sessionId`, a session token of that session is enough. */
  private async actor(auth: AuthContext, sessionId?: string): Promise<UserEntity> {
    const id = sessionId ? auth.requireUserIdFor(sessionId) : auth.requireUserId();
    const user = await this.db.getRepository(UserEntity).findOneBy({ id });
    if (!user) throw new DomainError(DomainErrorReason.NOT_AUTHENTICATED, "Your account no longer exists.");
    return user;
  }

  private async insert(
    hostId: string,
    fields: Omit<Partial<SessionEntity>, "id"> & Pick<SessionEntity, "type" | "status">,
    hostRole: ParticipantRole = ParticipantRole.HOST,
  ): Promise<SessionEntity> {
    return this.store.create(async (tx) => {
      const session = await this.insertRow(tx, hostId, fields);
      const solo = hostRole === ParticipantRole.SOLO;
      await tx.insert(ParticipantEntity, {
        sessionId: session.id,
        userId: hostId,
        role: hostRole,
        status: solo ? ParticipantStatus.JOINING : ParticipantStatus.INVITED,
        joinCount: solo ? 1 : 0,
        joinedAt: solo ? session.actualStart : null,
      });
      const events: NewSessionEvent[] = [{ type: "SESSION_CREATED", userId: hostId, data: { status: session.status } }];
      if (solo) events.push({ type: "SESSION_START", userId: hostId, data: { status: session.status } });
      return { session, result: session, events };
    });
  }

  /** Inserts the row with a fresh access code (unique among live sessions). */
  private async insertRow(tx: EntityManager, hostId: string, fields: Omit<Partial<SessionEntity>, "id">): Promise<SessionEntity> {
    const active = fields.status === SessionStatus.ACTIVE;
    for (let attempt = 0; ; attempt++) {
      const accessCode = fields.type === SessionType.SOLO ? null : newAccessCode();
      try {
        // A savepoint, so a code collision does not abort the surrounding transaction.
        return await tx.transaction(async (inner) => {
          const now = active ? await dbNow(inner) : null;
          const session = inner.create(SessionEntity, { ...fields, hostId, accessCode, actualStart: now, activeSince: now });
          return inner.save(SessionEntity, session);
        });
      } catch (err) {
        if (attempt < 5 && isUniqueViolation(err, "classroom_sessions_live_code_key")) continue;
        throw err;
      }
    }
  }

  /** Gives the user a seat under the session lock (the caller holds it). */
  private async seat(tx: EntityManager, session: SessionEntity, userId: string) {
    requireStatus(session.status, allowedIn.join, "join");
    const events: NewSessionEvent[] = [];
    const isHost = session.hostId === userId;
    if (isHost && session.status === SessionStatus.SCHEDULED) {
      events.push(...(await this.applyTransition(tx, session, "hostJoin", userId, {})));
    }
    let participant = await tx.findOneBy(ParticipantEntity, { sessionId: session.id, userId });
    requireNotKicked(participant);
    if (!isSeated(participant)) {
      if ((await this.seatsTaken(tx, session.id)) >= session.maxParticipants) {
        throw new DomainError(DomainErrorReason.SESSION_FULL, "The session is full.", { maxParticipants: session.maxParticipants });
      }
      participant ??= tx.create(ParticipantEntity, {
        sessionId: session.id,
        userId,
        role: isHost ? ParticipantRole.HOST : session.type === SessionType.SOLO ? ParticipantRole.SOLO : ParticipantRole.STUDENT,
        status: ParticipantStatus.INVITED,
        joinCount: 0,
      });
      participant.status = ParticipantStatus.JOINING;
      participant.joinCount += 1;
      participant.joinedAt = await dbNow(tx);
      participant.leftAt = null;
      participant = await tx.save(ParticipantEntity, participant);
      events.push(participantEvent("PARTICIPANT_JOIN", participant, { role: participant.role, status: participant.status }));
      await this.snapshots?.onSessionChange(tx, session, SnapshotType.JOIN, userId);
    }
    return { result: { session, participant }, events };
  }

  private async seatsTaken(tx: EntityManager, sessionId: string): Promise<number> {
    return tx.countBy(ParticipantEntity, { sessionId, status: In([...SEATED]) });
  }

  /**
   * Leaves a seat: `status` (LEFT, KICKED, DISCONNECTED), connected time closed, screen
   * share and raised hand cleared. Answers the timeline events of what was cleared
   * (SCREEN_SHARE_STOP, HAND_LOWER, with `cause` the new status: RULES.md "Participants"),
   * for the caller to record after the event of the change itself.
   */
  async vacate(tx: EntityManager, participant: ParticipantEntity, status: ParticipantStatus): Promise<NewSessionEvent[]> {
    const now = await dbNow(tx);
    const cleared: NewSessionEvent[] = [];
    if (participant.screenSharing) cleared.push(participantEvent("SCREEN_SHARE_STOP", participant, { cause: status }));
    if (participant.handRaised) cleared.push(participantEvent("HAND_LOWER", participant, { cause: status }));
    closeConnectedTime(participant, now);
    participant.status = status;
    participant.leftAt = now;
    participant.screenSharing = false;
    participant.handRaised = false;
    await tx.save(ParticipantEntity, participant);
    return cleared;
  }

  /** Applies `action` to the locked session and answers the events it records. */
  private async applyTransition(
    tx: EntityManager,
    session: SessionEntity,
    action: SessionAction,
    actorId: string | null,
    data: Record<string, unknown>,
  ): Promise<NewSessionEvent[]> {
    const from = session.status;
    session.status = nextStatus(from, action);
    const now = await dbNow(tx);
    if (action === "start") {
      session.actualStart = now;
      session.activeSince = now;
    } else if (action === "resume") {
      session.activeSince = now;
    } else if (session.activeSince && (action === "pause" || action === "complete" || action === "terminate")) {
      session.activeSeconds += Math.max(0, Math.floor((now.getTime() - session.activeSince.getTime()) / 1000));
      session.activeSince = null;
    }
    if (action === "complete" || action === "terminate") await this.snapshots?.onSessionChange(tx, session, SnapshotType.TERMINATE, actorId);
    if (action === "complete" || action === "terminate" || action === "expire") {
      session.actualEnd = now;
      const seated = await tx.findBy(ParticipantEntity, { sessionId: session.id, status: In([...SEATED]) });
      // Not recorded one by one: the lesson's final status event says it all, and ends every
      // subscription (nothing may follow it on the timeline).
      for (const participant of seated) await this.vacate(tx, participant, ParticipantStatus.LEFT);
    }
    await tx.save(SessionEntity, session);
    const type = statusEvent[action];
    return type ? [{ type, userId: actorId, data: { ...data, status: session.status, from } }] : [];
  }
}

/** A participant's timeline event; data carries what subscribers need to find it. */
export function participantEvent(type: SessionEventType, participant: ParticipantEntity, data: Record<string, unknown> = {}): NewSessionEvent {
  return { type, userId: participant.userId, data: { ...data, participantId: participant.id, userId: participant.userId } };
}

/** Adds the CONNECTED interval running since connectedSince to the participant's total. */
export function closeConnectedTime(participant: ParticipantEntity, now: Date): void {
  if (!participant.connectedSince) return;
  participant.connectedSeconds += Math.max(0, Math.floor((now.getTime() - participant.connectedSince.getTime()) / 1000));
  participant.connectedSince = null;
}

function newAccessCode(): string {
  let code = "";
  for (let i = 0; i < CODE_LENGTH; i++) code += CODE_ALPHABET[randomInt(CODE_ALPHABET.length)];
  return code;
}

function pick(session: SessionEntity): UpdateSessionInput {
  const { title, scheduledStart, scheduledEnd, maxParticipants, isRecorded, settings } = session;
  return { title, scheduledStart, scheduledEnd, maxParticipants, isRecorded, settings };
}

function definedOnly<T extends object>(input: T): Partial<T> {
  return Object.fromEntries(Object.entries(input).filter(([, v]) => v !== undefined)) as Partial<T>;
}

/** Checks and normalizes the editable fields; BAD_USER_INPUT names the field at fault. */
function validateFields(input: UpdateSessionInput) {
  const title = input.title?.trim() || null;
  if (title && title.length > 200) throw invalidInput("title must be at most 200 characters.", { field: "title" });
  const maxParticipants = input.maxParticipants ?? 10;
  if (!Number.isInteger(maxParticipants) || maxParticipants < 1 || maxParticipants > 500) {
    throw invalidInput("maxParticipants must be between 1 and 500.", { field: "maxParticipants" });
  }
  const scheduledStart = input.scheduledStart ?? null;
  const scheduledEnd = input.scheduledEnd ?? null;
  if (scheduledEnd && !scheduledStart) throw invalidInput("scheduledEnd needs a scheduledStart.", { field: "scheduledEnd" });
  if (scheduledStart && scheduledEnd && scheduledEnd <= scheduledStart) {
    throw invalidInput("scheduledEnd must be after scheduledStart.", { field: "scheduledEnd" });
  }
  const settings = input.settings ?? {};
  if (typeof settings !== "object" || Array.isArray(settings)) throw invalidInput("settings must be a JSON object.", { field: "settings" });
  if (JSON.stringify(settings).length > 16_384) throw invalidInput("settings must be at most 16 KiB.", { field: "settings" });
  return { title, maxParticipants, scheduledStart, scheduledEnd, isRecorded: input.isRecorded ?? true, settings };
}
