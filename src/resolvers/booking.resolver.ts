import { Arg, Ctx, FieldResolver, ID, Int, Mutation, Query, Resolver, Root } from "type-graphql";
import { BookingStatus, type BookingEntity } from "../entities/booking.entity";
import type { ClassroomEntity } from "../entities/classroom.entity";
import type { SessionEntity } from "../entities/session.entity";
import type { UserEntity } from "../entities/user.entity";
import { Booking, BookingConnection, CreateBookingInput } from "../schema/booking.type";
import { Classroom } from "../schema/classroom.type";
import { toConnection } from "../schema/page.type";
import { ClassroomSession } from "../schema/session.type";
import { User } from "../schema/user.type";
import { AFTER_ARG, FIRST_ARG } from "../schema/descriptions";
import type { RequestContext } from "./context";

/** Bookings: thin over BookingService; related objects batch through the request's loaders. */
@Resolver(() => Booking)
export class BookingResolver {
  @Query(() => Booking, { nullable: true, description: "A booking by id, for its tutor, its student and admins; null for anyone else and for an unknown id." })
  booking(@Arg("id", () => ID) id: string, @Ctx() ctx: RequestContext): Promise<BookingEntity | null> {
    return ctx.services.bookings.get(ctx.auth, id);
  }

  @Query(() => BookingConnection, {
    description: "Your bookings, as tutor or as student, the earliest scheduledStart first. BAD_USER_INPUT for a page over 100 or a forged cursor.",
  })
  async myBookings(
    @Ctx() ctx: RequestContext,
    @Arg("statuses", () => [BookingStatus], { nullable: true, description: "Only bookings in one of these statuses; omitted or empty: all." })
    statuses?: BookingStatus[],
    @Arg("first", () => Int, { nullable: true, description: FIRST_ARG }) first?: number,
    @Arg("after", () => String, { nullable: true, description: AFTER_ARG }) after?: string,
  ) {
    return toConnection(await ctx.services.bookings.list(ctx.auth, statuses, first, after));
  }

  @Mutation(() => Booking, {
    description:
      "Books a lesson for a student: PENDING until confirmed. Tutors only (FORBIDDEN, admins too); BAD_USER_INPUT when studentId is not a student or the end is not after the start; NOT_FOUND or FORBIDDEN for the classroom (see CreateBookingInput); CONFLICT (`extensions.reason` DOUBLE_BOOKING, `party` TUTOR or STUDENT) when the slot overlaps a PENDING or CONFIRMED booking of the tutor or of the student.",
  })
  createBooking(@Arg("input") input: CreateBookingInput, @Ctx() ctx: RequestContext): Promise<BookingEntity> {
    return ctx.services.bookings.create(ctx.auth, input);
  }

  @Mutation(() => Booking, {
    description:
      "Confirming a booking creates its SCHEDULED lesson session: the tutor hosts it, the student is INVITED (joinSession then works without a code). Its tutor or an admin (FORBIDDEN for the student); INVALID_STATE when CANCELLED; a CONFIRMED one is answered unchanged. NOT_FOUND without access.",
  })
  confirmBooking(@Arg("id", () => ID) id: string, @Ctx() ctx: RequestContext): Promise<BookingEntity> {
    return ctx.services.bookings.confirm(ctx.auth, id);
  }

  @Mutation(() => Booking, {
    description:
      "Cancels a PENDING or CONFIRMED booking; a confirmed one's lesson session is TERMINATED with it. Its tutor, its student or an admin; INVALID_STATE once cancelled or when its lesson has started; FORBIDDEN for a student kicked from that lesson. NOT_FOUND without access.",
  })
  cancelBooking(@Arg("id", () => ID) id: string, @Ctx() ctx: RequestContext): Promise<BookingEntity> {
    return ctx.services.bookings.cancel(ctx.auth, id);
  }

  @FieldResolver(() => User, { description: "The tutor who booked it; they host the lesson." })
  async tutor(@Root() booking: BookingEntity, @Ctx() ctx: RequestContext): Promise<UserEntity> {
    return (await ctx.loaders.userById.load(booking.tutorId)) as UserEntity;
  }

  @FieldResolver(() => User, { description: "The student it is for." })
  async student(@Root() booking: BookingEntity, @Ctx() ctx: RequestContext): Promise<UserEntity> {
    return (await ctx.loaders.userById.load(booking.studentId)) as UserEntity;
  }

  @FieldResolver(() => Classroom, {
    nullable: true,
    description: "The classroom it was booked in; null without one, or for a viewer who is not the classroom's tutor, a member or an admin.",
  })
  async classroom(@Root() booking: BookingEntity, @Ctx() ctx: RequestContext): Promise<ClassroomEntity | null> {
    return booking.classroomId ? ((await ctx.loaders.classroomById.load(booking.classroomId)) ?? null) : null;
  }

  @FieldResolver(() => ClassroomSession, {
    nullable: true,
    description: "The lesson session created when the booking was confirmed; null before, or for a viewer who cannot read it (a kicked student).",
  })
  async session(@Root() booking: BookingEntity, @Ctx() ctx: RequestContext): Promise<SessionEntity | null> {
    return booking.sessionId ? ((await ctx.loaders.sessionById.load(booking.sessionId)) ?? null) : null;
  }
}
