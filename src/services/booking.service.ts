import { In, type EntityManager } from "typeorm";
import { isUuid, type AccessPolicy } from "../auth/access";
import type { AuthContext } from "../auth/auth-context";
import { BookingEntity, BookingStatus } from "../entities/booking.entity";
import { UserEntity, UserRole } from "../entities/user.entity";
import { DomainError, DomainErrorReason, invalidInput, notFound } from "../domain/errors";
import { decodeTimeCursor, encodeCursor, pageSize, type Page } from "./pagination";
import type { SessionAppend, SessionStore } from "./session-store";
import type { SessionService } from "./session.service";
import type { LifecycleService } from "./lifecycle.service";
import { signedInUser } from "./actor";
import { allowedIn, requireStatus } from "./session-lifecycle";
import { lockSession } from "./timeline";
import { authorizeAccount, bookingRole, requireBookingRole, requireClassroomManager } from "../auth/account-policy";

export interface CreateBookingInput {
  studentId: string;
  classroomId?: string | null;
  scheduledStart: Date;
  scheduledEnd: Date;
}

/** Bookings that hold their slot: a new booking may not overlap one of them. */
const HOLDING_SLOT: readonly BookingStatus[] = [BookingStatus.PENDING, BookingStatus.CONFIRMED];

/**
 * Bookings: a tutor books a lesson for a student (PENDING), the tutor confirms it
 * (CONFIRMED, which creates the SCHEDULED lesson session with the student INVITED), either
 * of them cancels it before the lesson starts (CANCELLED, which terminates the session).
 * A tutor or a student never holds two overlapping PENDING/CONFIRMED bookings.
 */
export class BookingService {
  constructor(
    private readonly store: SessionStore,
    private readonly access: AccessPolicy,
    private readonly sessions: SessionService,
    private readonly lifecycle: LifecycleService,
    /** MAX_PAGE_SIZE: the largest `first`. */
    private readonly maxPageSize: number,
  ) {}

  private get db() {
    return this.store.db;
  }

  /**
   * A tutor books a lesson for a student: PENDING. BAD_USER_INPUT unless studentId names a
   * STUDENT and scheduledEnd is after scheduledStart; the classroom, when given, must be the
   * tutor's own (NOT_FOUND / FORBIDDEN like any classroom); CONFLICT (DOUBLE_BOOKING) when
   * the slot overlaps a PENDING or CONFIRMED booking of the tutor or of the student.
   */
  async create(auth: AuthContext, input: CreateBookingInput): Promise<BookingEntity> {
    const actor = await signedInUser(this.db.manager, auth.requireUserId());
    authorizeAccount(actor, "bookLesson");
    const { scheduledStart: start, scheduledEnd: end } = input;
    if (Number.isNaN(start.getTime()) || Number.isNaN(end.getTime()) || end.getTime() <= start.getTime()) {
      throw invalidInput("scheduledEnd must be after scheduledStart.", { field: "scheduledEnd" });
    }
    const student = isUuid(input.studentId) ? await this.db.manager.findOneBy(UserEntity, { id: input.studentId }) : null;
    if (student?.role !== UserRole.STUDENT) throw invalidInput("studentId must name a student.", { field: "studentId" });
    if (input.classroomId) {
      // A classroom's tutor never changes, so checking before the transaction is safe.
      requireClassroomManager(await this.access.classroomRole(actor.id, input.classroomId), "book lessons in it");
    }
    return this.db.transaction(async (tx) => {
      // Serializes bookings that involve the same tutor or student, so two overlapping ones
      // racing cannot both pass the check below. Locked in id order: no deadlock between two
      // bookings of the same pair. NO KEY UPDATE: foreign keys to users do not wait on it.
      await tx.query(`SELECT id FROM users WHERE id = ANY($1::uuid[]) ORDER BY id FOR NO KEY UPDATE`, [[actor.id, student.id]]);
      const clashes = await tx
        .getRepository(BookingEntity)
        .createQueryBuilder("b")
        .where("b.status IN (:...holding)", { holding: HOLDING_SLOT })
        .andWhere("(b.tutor_id = :tutorId OR b.student_id = :studentId)", { tutorId: actor.id, studentId: student.id })
        // Half-open slots: a lesson may start when the previous one ends.
        .andWhere("b.scheduled_start < :end AND b.scheduled_end > :start", { start, end })
        .getMany();
      const clash = clashes.find((b) => b.tutorId === actor.id) ?? clashes[0];
      if (clash) {
        const party = clash.tutorId === actor.id ? "TUTOR" : "STUDENT";
        const who = party === "TUTOR" ? "You already have" : "The student already has";
        throw new DomainError(DomainErrorReason.DOUBLE_BOOKING, `${who} a booking at this time.`, { party });
      }
      return tx.save(
        BookingEntity,
        tx.create(BookingEntity, {
          tutorId: actor.id,
          studentId: student.id,
          classroomId: input.classroomId ?? null,
          scheduledStart: start,
          scheduledEnd: end,
          status: BookingStatus.PENDING,
          sessionId: null,
        }),
      );
    });
  }

  /**
   * The tutor (or an admin) confirms a PENDING booking: CONFIRMED, and its SCHEDULED lesson
   * session is created in the same transaction, the student INVITED, linked both ways.
   * Exactly once: the booking row is locked, and confirming a CONFIRMED booking answers it
   * unchanged. A CANCELLED one is INVALID_STATE; the student gets FORBIDDEN.
   */
  async confirm(auth: AuthContext, id: string): Promise<BookingEntity> {
    const actorId = auth.requireUserId();
    return this.store.transaction(async (tx) => {
      const actor = await signedInUser(tx, actorId);
      const booking = await this.lock(tx, id);
      requireBookingRole(actor, booking, ["tutor", "admin"], "confirm the booking");
      if (booking.status === BookingStatus.CONFIRMED) return { result: booking };
      if (booking.status !== BookingStatus.PENDING) throw invalidState(booking, "confirm");
      const { session, events } = await this.sessions.createForBooking(tx, booking);
      booking.status = BookingStatus.CONFIRMED;
      booking.sessionId = session.id;
      await tx.save(BookingEntity, booking);
      return { result: booking, appends: [{ session, events }] };
    });
  }

  /**
   * The tutor or the student (or an admin) cancels a PENDING or CONFIRMED booking. A
   * confirmed booking's session is terminated with it, so only while it has not started
   * (SCHEDULED or WAITING; later INVALID_STATE: the lesson is its host's to end), and never
   * by a student kicked from it (FORBIDDEN). Cancelling twice is INVALID_STATE.
   */
  async cancel(auth: AuthContext, id: string): Promise<BookingEntity> {
    const actorId = auth.requireUserId();
    return this.store.transaction(async (tx) => {
      const actor = await signedInUser(tx, actorId);
      const booking = await this.lock(tx, id);
      requireBookingRole(actor, booking, ["tutor", "student", "admin"], "cancel the booking");
      if (booking.status === BookingStatus.CANCELLED) throw invalidState(booking, "cancel");
      const appends: SessionAppend[] = [];
      if (booking.sessionId) {
        // Lock order booking → session, as everywhere a booking and its session change together.
        const session = await lockSession(tx, booking.sessionId);
        // FORBIDDEN for a kicked student: cancelling would end the lesson they were removed from.
        await this.access.require(actor.id, session.id, tx, session);
        requireStatus(session.status, allowedIn.cancelWithBooking, "cancel the booking");
        appends.push(await this.lifecycle.terminateForBooking(tx, session.id, actor.id));
      }
      booking.status = BookingStatus.CANCELLED;
      await tx.save(BookingEntity, booking);
      return { result: booking, appends };
    });
  }

  /** The booking if the user may read it (its tutor, its student, an admin), else null. */
  async get(auth: AuthContext, id: string): Promise<BookingEntity | null> {
    const actorId = auth.requireUserId();
    const [found] = await this.readableByIds(actorId, [id]);
    return found ?? null;
  }

  /**
   * The user's bookings as tutor or as student, optionally by status, ordered by
   * scheduledStart then id, as a keyset page (page size over 100: BAD_USER_INPUT).
   */
  async list(auth: AuthContext, statuses?: BookingStatus[] | null, first?: number | null, after?: string | null): Promise<Page<BookingEntity>> {
    const actorId = auth.requireUserId();
    const limit = pageSize(first, this.maxPageSize);
    const cursor = after ? decodeTimeCursor(after) : undefined;
    const qb = this.db.getRepository(BookingEntity).createQueryBuilder("b").where("(b.tutor_id = :actorId OR b.student_id = :actorId)", { actorId });
    if (statuses?.length) qb.andWhere("b.status IN (:...statuses)", { statuses });
    const totalCount = await qb.clone().getCount();
    if (cursor) qb.andWhere("(b.scheduled_start, b.id) > (:at, :id)", { at: new Date(cursor.at), id: cursor.id });
    const rows = await qb
      .orderBy("b.scheduled_start", "ASC")
      .addOrderBy("b.id", "ASC")
      .take(limit + 1)
      .getMany();
    return {
      nodes: rows.slice(0, limit).map((node) => ({ node, cursor: encodeCursor({ at: node.scheduledStart.getTime(), id: node.id }) })),
      hasNextPage: rows.length > limit,
      hasPreviousPage: Boolean(cursor),
      totalCount,
    };
  }

  /** Bookings by id that `viewerId` may read, in the order asked (undefined otherwise); the loaders' batch. */
  async readableByIds(viewerId: string, ids: readonly string[]): Promise<Array<BookingEntity | undefined>> {
    const valid = ids.filter(isUuid);
    if (valid.length === 0) return ids.map(() => undefined);
    const [viewer, rows] = await Promise.all([
      this.db.manager.findOneBy(UserEntity, { id: viewerId }),
      this.db.manager.findBy(BookingEntity, { id: In(valid) }),
    ]);
    const byId = new Map(rows.filter((b) => viewer && bookingRole(viewer, b)).map((b) => [b.id, b]));
    return ids.map((id) => byId.get(id));
  }

  // ---------------------------------------------------------------- internals

  /** Reads through `manager`: inside a transaction on PGlite, a read outside it would wait forever. */

  /** Locks the booking row until the transaction ends (NOT_FOUND when there is none). */
  private async lock(tx: EntityManager, id: string): Promise<BookingEntity> {
    const booking = isUuid(id) ? await tx.getRepository(BookingEntity).findOne({ where: { id }, lock: { mode: "pessimistic_write" } }) : null;
    if (!booking) throw notFound("Booking");
    return booking;
  }
}

function invalidState(booking: BookingEntity, action: string): DomainError {
  return new DomainError(DomainErrorReason.INVALID_STATE, `Cannot ${action} a booking that is ${booking.status}.`, {
    status: booking.status,
  });
}
