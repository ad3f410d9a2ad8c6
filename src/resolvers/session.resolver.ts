import { Arg, Ctx, FieldResolver, ID, Int, Mutation, Query, Resolver, Root } from "type-graphql";
import type { BookingEntity } from "../entities/booking.entity";
import type { ClassroomEntity } from "../entities/classroom.entity";
import type { ParticipantEntity } from "../entities/participant.entity";
import { ParticipantRole, ParticipantStatus } from "../entities/participant.entity";
import type { SessionEntity } from "../entities/session.entity";
import type { UserEntity } from "../entities/user.entity";
import { Booking } from "../schema/booking.type";
import { Classroom } from "../schema/classroom.type";
import { toConnection } from "../schema/page.type";
import { JoinSessionPayload, Participant, Permissions } from "../schema/participant.type";
import { ClassroomSession, CreateSessionInput, SessionConnection, SessionFilter, UpdateSessionInput } from "../schema/session.type";
import { User } from "../schema/user.type";
import { activeDurationSeconds } from "../services/history.service";
import type { JoinResult } from "../services/seat.service";
import type { RequestContext } from "./context";
import { ViewerDependent } from "../schema/viewer-dependent";

function joinPayload(result: JoinResult): JoinSessionPayload {
  return {
    session: result.session,
    participant: result.participant,
    sessionToken: result.token.token,
    sessionTokenExpiresAt: result.token.expiresAt,
  };
}

/** Sessions: thin over SessionService; field resolvers batch through the request's loaders. */
@Resolver(() => ClassroomSession)
export class SessionResolver {
  @Query(() => ClassroomSession, { nullable: true })
  async session(@Arg("id", () => ID) id: string, @Ctx() ctx: RequestContext): Promise<SessionEntity | null> {
    const session = await ctx.services.sessions.get(ctx.auth, id);
    if (session) ctx.readableSessions.add(session.id);
    return session;
  }

  @Query(() => SessionConnection)
  async mySessions(
    @Ctx() ctx: RequestContext,
    @Arg("filter", () => SessionFilter, { nullable: true }) filter?: SessionFilter,
    @Arg("first", () => Int, { nullable: true }) first?: number,
    @Arg("after", () => String, { nullable: true }) after?: string,
  ) {
    return toConnection(await ctx.services.sessions.list(ctx.auth, filter ?? {}, first, after));
  }

  @Query(() => Permissions, { description: "Effective permissions of a role before per-participant grants." })
  rolePermissions(@Arg("role", () => ParticipantRole) role: ParticipantRole, @Ctx() ctx: RequestContext) {
    ctx.auth.requireUserId();
    return ctx.services.access.defaultsFor(role);
  }

  @Mutation(() => ClassroomSession)
  createSession(@Arg("input") input: CreateSessionInput, @Ctx() ctx: RequestContext): Promise<SessionEntity> {
    return ctx.services.sessions.create(ctx.auth, input);
  }

  @Mutation(() => ClassroomSession, { description: "SCHEDULED or WAITING sessions only." })
  updateSession(@Arg("id", () => ID) id: string, @Arg("input") input: UpdateSessionInput, @Ctx() ctx: RequestContext): Promise<SessionEntity> {
    return ctx.services.sessions.update(ctx.auth, id, input);
  }

  @Mutation(() => Boolean, { description: "SCHEDULED or WAITING sessions with no board events only." })
  deleteSession(@Arg("id", () => ID) id: string, @Ctx() ctx: RequestContext): Promise<boolean> {
    return ctx.services.sessions.delete(ctx.auth, id);
  }

  @Mutation(() => ClassroomSession)
  createSoloSession(@Ctx() ctx: RequestContext, @Arg("title", () => String, { nullable: true }) title?: string): Promise<SessionEntity> {
    return ctx.services.sessions.createSolo(ctx.auth, title);
  }

  @Mutation(() => JoinSessionPayload, { description: "Joining again while joined returns a fresh session token." })
  async joinSession(@Arg("id", () => ID) id: string, @Ctx() ctx: RequestContext): Promise<JoinSessionPayload> {
    return joinPayload(await ctx.services.seats.join(ctx.auth, id));
  }

  @Mutation(() => JoinSessionPayload)
  async joinSessionByCode(@Arg("accessCode") accessCode: string, @Ctx() ctx: RequestContext): Promise<JoinSessionPayload> {
    return joinPayload(await ctx.services.seats.joinByCode(ctx.auth, accessCode));
  }

  @Mutation(() => Participant)
  leaveSession(@Arg("id", () => ID) id: string, @Ctx() ctx: RequestContext): Promise<ParticipantEntity> {
    return ctx.services.seats.leave(ctx.auth, id);
  }

  @Mutation(() => ClassroomSession)
  startSession(@Arg("id", () => ID) id: string, @Ctx() ctx: RequestContext): Promise<SessionEntity> {
    return ctx.services.lifecycle.transition(ctx.auth, id, "start");
  }

  @Mutation(() => ClassroomSession)
  pauseSession(@Arg("id", () => ID) id: string, @Ctx() ctx: RequestContext): Promise<SessionEntity> {
    return ctx.services.lifecycle.transition(ctx.auth, id, "pause");
  }

  @Mutation(() => ClassroomSession)
  resumeSession(@Arg("id", () => ID) id: string, @Ctx() ctx: RequestContext): Promise<SessionEntity> {
    return ctx.services.lifecycle.transition(ctx.auth, id, "resume");
  }

  @Mutation(() => ClassroomSession)
  completeSession(@Arg("id", () => ID) id: string, @Ctx() ctx: RequestContext): Promise<SessionEntity> {
    return ctx.services.lifecycle.transition(ctx.auth, id, "complete");
  }

  @Mutation(() => ClassroomSession)
  terminateSession(
    @Arg("id", () => ID) id: string,
    @Ctx() ctx: RequestContext,
    @Arg("reason", () => String, { nullable: true }) reason?: string,
  ): Promise<SessionEntity> {
    return ctx.services.lifecycle.transition(ctx.auth, id, "terminate", reason);
  }

  @FieldResolver(() => User)
  async host(@Root() session: SessionEntity, @Ctx() ctx: RequestContext): Promise<UserEntity> {
    return (await ctx.loaders.userById.load(session.hostId)) as UserEntity;
  }

  @FieldResolver(() => Classroom, { nullable: true, description: "Null for a viewer who is not the classroom's tutor or member." })
  @ViewerDependent()
  async classroom(@Root() session: SessionEntity, @Ctx() ctx: RequestContext): Promise<ClassroomEntity | null> {
    return session.classroomId ? ((await ctx.loaders.classroomById.load(session.classroomId)) ?? null) : null;
  }

  @FieldResolver(() => Booking, { nullable: true, description: "Null for a viewer who is not the booking's tutor or student." })
  @ViewerDependent()
  async booking(@Root() session: SessionEntity, @Ctx() ctx: RequestContext): Promise<BookingEntity | null> {
    return session.bookingId ? ((await ctx.loaders.bookingById.load(session.bookingId)) ?? null) : null;
  }

  @FieldResolver(() => Int)
  totalDurationSeconds(@Root() session: SessionEntity): number {
    return activeDurationSeconds(session);
  }

  @FieldResolver(() => String, { nullable: true, description: "Only visible to the host and to users allowed to invite." })
  @ViewerDependent()
  accessCode(@Root() session: SessionEntity, @Ctx() ctx: RequestContext): Promise<string | null> {
    return ctx.services.sessions.accessCodeFor(ctx.auth, session);
  }

  @FieldResolver(() => [Participant])
  async participants(
    @Root() session: SessionEntity,
    @Ctx() ctx: RequestContext,
    @Arg("statuses", () => [ParticipantStatus], { nullable: true }) statuses?: ParticipantStatus[],
  ): Promise<ParticipantEntity[]> {
    const all = await ctx.loaders.participantsBySession.load(session.id);
    return statuses?.length ? all.filter((p) => statuses.includes(p.status)) : all;
  }
}
