import { randomInt } from "node:crypto";
import type { EntityManager } from "typeorm";
import { authorizeAccount, requireClassroomManager } from "../auth/account-policy";
import { readableSessions, type AccessPolicy } from "../auth/access";
import type { AuthContext } from "../auth/auth-context";
import { authorize, canRead, may } from "../auth/session-policy";
import type { Config } from "../config";
import { typeormParam } from "../db/raw-rows";
import { isUniqueViolation } from "../db/errors";
import { DomainError, DomainErrorReason, invalidInput, rateLimited } from "../domain/errors";
import { BookingEntity } from "../entities/booking.entity";
import { ParticipantEntity, ParticipantRole, ParticipantStatus } from "../entities/participant.entity";
import { SessionEntity, SessionStatus, SessionType } from "../entities/session.entity";
import type { RateLimiter } from "../infra/rate-limiter";
import { signedInUser } from "./actor";
import { decodeTimeCursor, encodeCursor, pageSize, type Page } from "./pagination";
import { seatsTaken } from "./seats";
import { allowedIn, requireStatus } from "./session-lifecycle";
import type { SessionStore } from "./session-store";
import { dbNow, type NewSessionEvent } from "./timeline";

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

const CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"; // no 0/O, 1/I
const CODE_LENGTH = 10; // 50 bits: with 10 wrong tries a minute (WRONG_CODE_RATE_PER_USER), guessing is hopeless
const HOUR = 3_600_000;

/** What sessions are configured with (src/config.ts): HARDENING.md's rate limits and the page size. */
export type SessionLimits = Pick<Config["rateLimits"], "soloSessionsPerUserPerHour" | "sessionsPerUserPerHour"> & Pick<Config["limits"], "maxPageSize">;

/**
 * Classroom sessions: creating, changing and deleting them, reading one and the lists. Seats
 * are SeatService's, the lifecycle LifecycleService's, the loaders' batches SessionBatches'.
 * Every change runs through SessionStore (lock, timeline, publish after commit) and every
 * permission through the policies of src/auth.
 */
export class SessionService {
  constructor(
    private readonly store: SessionStore,
    private readonly access: AccessPolicy,
    private readonly limiter: RateLimiter,
    private readonly limits: SessionLimits,
  ) {}

  private get db() {
    return this.store.db;
  }

  /** A tutor (or admin) creates a session: SCHEDULED with a start time, else WAITING; SESSION_RATE_PER_USER an hour. */
  async create(auth: AuthContext, input: CreateSessionInput): Promise<SessionEntity> {
    const actor = await signedInUser(this.db.manager, auth.requireUserId());
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
    const actor = await signedInUser(this.db.manager, auth.requireUserId());
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

  /** The host changes a session that has not started yet. */
  async update(auth: AuthContext, id: string, input: UpdateSessionInput): Promise<SessionEntity> {
    const actorId = auth.requireUserIdFor(id);
    return this.store.change(id, async (tx, session) => {
      const access = await this.access.require(actorId, id, tx, session);
      authorize(access, "update");
      requireStatus(session.status, allowedIn.edit, "change the session");
      const fields = validateFields({ ...pick(session), ...definedOnly(input) });
      if (fields.maxParticipants < (await seatsTaken(tx, session.id))) {
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
    const actorId = (await signedInUser(this.db.manager, auth.requireUserId())).id;
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
