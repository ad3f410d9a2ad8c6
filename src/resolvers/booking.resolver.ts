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
import type { RequestContext } from "./context";

/** Bookings: thin over BookingService; related objects batch through the request's loaders. */
@Resolver(() => Booking)
export class BookingResolver {
  @Query(() => Booking, { nullable: true })
  booking(@Arg("id", () => ID) id: string, @Ctx() ctx: RequestContext): Promise<BookingEntity | null> {
    return ctx.services.bookings.get(ctx.auth, id);
  }

  @Query(() => BookingConnection)
  async myBookings(
    @Ctx() ctx: RequestContext,
    @Arg("statuses", () => [BookingStatus], { nullable: true }) statuses?: BookingStatus[],
    @Arg("first", () => Int, { nullable: true }) first?: number,
    @Arg("after", () => String, { nullable: true }) after?: string,
  ) {
    return toConnection(await ctx.services.bookings.list(ctx.auth, statuses, first, after));
  }

  @Mutation(() => Booking)
  createBooking(@Arg("input") input: CreateBookingInput, @Ctx() ctx: RequestContext): Promise<BookingEntity> {
    return ctx.services.bookings.create(ctx.auth, input);
  }

  @Mutation(() => Booking, { description: "Confirming a booking creates its SCHEDULED lesson session." })
  confirmBooking(@Arg("id", () => ID) id: string, @Ctx() ctx: RequestContext): Promise<BookingEntity> {
    return ctx.services.bookings.confirm(ctx.auth, id);
  }

  @Mutation(() => Booking)
  cancelBooking(@Arg("id", () => ID) id: string, @Ctx() ctx: RequestContext): Promise<BookingEntity> {
    return ctx.services.bookings.cancel(ctx.auth, id);
  }

  @FieldResolver(() => User)
  async tutor(@Root() booking: BookingEntity, @Ctx() ctx: RequestContext): Promise<UserEntity> {
    return (await ctx.loaders.userById.load(booking.tutorId)) as UserEntity;
  }

  @FieldResolver(() => User)
  async student(@Root() booking: BookingEntity, @Ctx() ctx: RequestContext): Promise<UserEntity> {
    return (await ctx.loaders.userById.load(booking.studentId)) as UserEntity;
  }

  @FieldResolver(() => Classroom, { nullable: true, description: "Null for a viewer who is not the classroom's tutor or member." })
  async classroom(@Root() booking: BookingEntity, @Ctx() ctx: RequestContext): Promise<ClassroomEntity | null> {
    return booking.classroomId ? ((await ctx.loaders.classroomById.load(booking.classroomId)) ?? null) : null;
  }

  @FieldResolver(() => ClassroomSession, { nullable: true, description: "The lesson session created when the booking was confirmed." })
  async session(@Root() booking: BookingEntity, @Ctx() ctx: RequestContext): Promise<SessionEntity | null> {
    return booking.sessionId ? ((await ctx.loaders.sessionById.load(booking.sessionId)) ?? null) : null;
  }
}
