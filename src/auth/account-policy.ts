import type { BookingEntity } from "../entities/booking.entity";
import { UserRole, type UserEntity } from "../entities/user.entity";
import { DomainError, DomainErrorReason, forbidden, notFound } from "../domain/errors";
import { evaluated } from "./policy-evaluations";

/**
 * What a user may do by their account's role, and in the classrooms and bookings they are
 * part of (RULES.md "Users", "Session lifecycle": who creates; the booking rules). Pure
 * decisions, like session-policy.ts; AccessPolicy reads what they decide on.
 */

/** Operations an account's role decides, with the roles that may run them. */
export const ACCOUNT_OPERATIONS = {
  createSession: { roles: [UserRole.TUTOR, UserRole.ADMIN], denied: "Only tutors can create sessions." },
  createClassroom: { roles: [UserRole.TUTOR, UserRole.ADMIN], denied: "Only tutors can create classrooms." },
  // Admins are not tutors: a booking's tutor hosts the lesson.
  bookLesson: { roles: [UserRole.TUTOR], denied: "Only tutors can book lessons." },
  // What clients report may hold anyone's device details and errors: operators only (W3).
  readTelemetry: { roles: [UserRole.ADMIN], denied: "Only admins can read telemetry." },
  // Statistics of the lessons one hosted (issue 18): students host none.
  teachingStats: { roles: [UserRole.TUTOR, UserRole.ADMIN], denied: "Only tutors can read teaching statistics." },
} satisfies Record<string, { roles: readonly UserRole[]; denied: string }>;

export type AccountOperation = keyof typeof ACCOUNT_OPERATIONS;

/** FORBIDDEN unless the actor's role may run `operation`. */
export function authorizeAccount(actor: Pick<UserEntity, "role">, operation: AccountOperation): void {
  const rule: { roles: readonly UserRole[]; denied: string } = ACCOUNT_OPERATIONS[operation];
  if (!evaluated(rule.roles.includes(actor.role))) throw forbidden(rule.denied);
}

/** Anyone may register as TUTOR or STUDENT; ADMIN is FORBIDDEN (operators make admins). */
export function requireRegistrableRole(role: UserRole): void {
  if (!evaluated(role !== UserRole.ADMIN)) {
    throw new DomainError(DomainErrorReason.ADMIN_REGISTRATION, "Admins cannot register; an operator makes them with `npm run admin -- <email>`.");
  }
}

/** What a user is to a classroom; undefined means no access at all. */
export type ClassroomRole = "tutor" | "member" | "admin";

/** Whether the role from AccessPolicy.classroomRole may read the classroom (tutor, member, admin). */
export function canReadClassroom(role: ClassroomRole | undefined): role is ClassroomRole {
  return evaluated(role !== undefined);
}

/**
 * For acts that manage a classroom (adding members, scheduling or booking into it): NOT_FOUND
 * when the user cannot see it at all, FORBIDDEN for a member (they know it exists).
 */
export function requireClassroomManager(role: ClassroomRole | undefined, what: string): void {
  const refusal = role === undefined ? notFound("Classroom") : role === "member" ? forbidden(`Only the classroom's tutor can ${what}.`) : undefined;
  if (!evaluated(refusal === undefined)) throw refusal;
}

/** What a user is to a booking; undefined means no access at all. */
export type BookingRole = "tutor" | "student" | "admin";

/**
 * The actor's part in a booking: its tutor, its student, an admin, or undefined (no access:
 * queries answer null, mutations NOT_FOUND). Classroom members do not see bookings.
 */
export function bookingRole(actor: Pick<UserEntity, "id" | "role">, booking: Pick<BookingEntity, "tutorId" | "studentId">): BookingRole | undefined {
  const role = partIn(booking, actor);
  evaluated(role !== undefined);
  return role;
}

function partIn(booking: Pick<BookingEntity, "tutorId" | "studentId">, actor: Pick<UserEntity, "id" | "role">): BookingRole | undefined {
  if (booking.tutorId === actor.id) return "tutor";
  if (booking.studentId === actor.id) return "student";
  return actor.role === UserRole.ADMIN ? "admin" : undefined;
}

/**
 * For booking mutations: NOT_FOUND without access, FORBIDDEN when the actor's part is not one
 * of `allowed`; answers the part.
 */
export function requireBookingRole(
  actor: Pick<UserEntity, "id" | "role">,
  booking: Pick<BookingEntity, "tutorId" | "studentId">,
  allowed: readonly BookingRole[],
  what: string,
): BookingRole {
  const role = partIn(booking, actor);
  const refusal = !role ? notFound("Booking") : !allowed.includes(role) ? forbidden(`Only the booking's tutor can ${what}.`) : undefined;
  if (!evaluated(refusal === undefined)) throw refusal;
  return role as BookingRole;
}
