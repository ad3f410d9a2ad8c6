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
import { activeDurationSeconds } from "../services/session-lifecycle";
import type { JoinResult } from "../services/seat.service";
import type { RequestContext } from "./context";
import { ViewerDependent } from "../schema/viewer-dependent";
import { AFTER_ARG, FIRST_ARG } from "../schema/descriptions";

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
  @Query(() => ClassroomSession, {
    nullable: true,
    description:
      "A session by id, for its readers: its host, its participants (but KICKED ones), its classroom's tutor and members, admins. Null for anyone else and for an unknown id, never an error, so existence does not leak.",
  })
  async session(@Arg("id", () => ID) id: string, @Ctx() ctx: RequestContext): Promise<SessionEntity | null> {
    const session = await ctx.services.sessions.get(ctx.auth, id);
    if (session) ctx.readableSessions.add(session.id);
    return session;
  }

  @Query(() => SessionConnection, {
    description:
      "The sessions you can read, newest first: those you host or have a participant row in, and those of your classrooms (admins: every session); never one you were kicked from. BAD_USER_INPUT for a page over 100 or a forged cursor.",
  })
  async mySessions(
    @Ctx() ctx: RequestContext,
    @Arg("filter", () => SessionFilter, { nullable: true, description: "Only the sessions matching it." }) filter?: SessionFilter,
    @Arg("first", () => Int, { nullable: true, description: FIRST_ARG }) first?: number,
    @Arg("after", () => String, { nullable: true, description: AFTER_ARG }) after?: string,
  ) {
    return toConnection(await ctx.services.sessions.list(ctx.auth, filter ?? {}, first, after));
  }

  @Query(() => Permissions, { description: "Effective permissions of a role before per-participant grants. Any signed-in user." })
  rolePermissions(@Arg("role", () => ParticipantRole, { description: "The role whose defaults to show." }) role: ParticipantRole, @Ctx() ctx: RequestContext) {
    ctx.auth.requireUserId();
    return ctx.services.access.defaultsFor(role);
  }

  @Mutation(() => ClassroomSession, {
    description:
      "Creates a session you host (your participant row is INVITED until you join): SCHEDULED with a scheduledStart, else WAITING. Tutors and admins only (FORBIDDEN); BAD_USER_INPUT for invalid fields; NOT_FOUND or FORBIDDEN for a classroom you cannot see or do not tutor; RATE_LIMITED past SESSION_RATE_PER_USER (30 an hour).",
  })
  createSession(@Arg("input") input: CreateSessionInput, @Ctx() ctx: RequestContext): Promise<SessionEntity> {
    return ctx.services.sessions.create(ctx.auth, input);
  }

  @Mutation(() => ClassroomSession, {
    description:
      "Changes a session before it starts: its host only (FORBIDDEN), while SCHEDULED or WAITING (INVALID_STATE). NOT_FOUND without access; BAD_USER_INPUT for invalid fields or a maxParticipants below the seats taken.",
  })
  updateSession(@Arg("id", () => ID) id: string, @Arg("input") input: UpdateSessionInput, @Ctx() ctx: RequestContext): Promise<SessionEntity> {
    return ctx.services.sessions.update(ctx.auth, id, input);
  }

  @Mutation(() => Boolean, {
    description:
      "Deletes a session and its history; answers true. Its host only (FORBIDDEN), while SCHEDULED or WAITING and without board events (INVALID_STATE otherwise); NOT_FOUND without access. A booking of it stays, without a session.",
  })
  deleteSession(@Arg("id", () => ID) id: string, @Ctx() ctx: RequestContext): Promise<boolean> {
    return ctx.services.sessions.delete(ctx.auth, id);
  }

  @Mutation(() => ClassroomSession, {
    description:
      "Opens a solo workspace for the signed-in user (any role): ACTIVE at once, with you as its only participant (role SOLO). BAD_USER_INPUT for a title over 200 characters; RATE_LIMITED past SOLO_SESSION_RATE_PER_USER (60 an hour).",
  })
  createSoloSession(
    @Ctx() ctx: RequestContext,
    @Arg("title", () => String, { nullable: true, description: "At most 200 characters; omitted or blank: none." }) title?: string,
  ): Promise<SessionEntity> {
    return ctx.services.sessions.createSolo(ctx.auth, title);
  }

  @Mutation(() => JoinSessionPayload, {
    description:
      "Takes a seat in a session you can read and answers a session token for the realtime connection; joining again while seated only returns a fresh token. The host joining a SCHEDULED session opens it (WAITING). NOT_FOUND without access, FORBIDDEN when kicked, INVALID_STATE unless SCHEDULED, WAITING, ACTIVE or PAUSED, CONFLICT (`extensions.reason` SESSION_FULL) when no seat is free.",
  })
  async joinSession(@Arg("id", () => ID) id: string, @Ctx() ctx: RequestContext): Promise<JoinSessionPayload> {
    return joinPayload(await ctx.services.seats.join(ctx.auth, id));
  }

  @Mutation(() => JoinSessionPayload, {
    description:
      "Joins the live session with this access code, whoever you are (the code grants access); otherwise like joinSession. NOT_FOUND for a code no live session has; RATE_LIMITED (`retryAfterMs`) after 10 wrong codes in a minute, and then even a right one waits; FORBIDDEN when kicked from it; INVALID_STATE and CONFLICT like joinSession.",
  })
  async joinSessionByCode(
    @Arg("accessCode", { description: "The session's accessCode; case and surrounding spaces do not matter." }) accessCode: string,
    @Ctx() ctx: RequestContext,
  ): Promise<JoinSessionPayload> {
    return joinPayload(await ctx.services.seats.joinByCode(ctx.auth, accessCode));
  }

  @Mutation(() => Participant, {
    description:
      "Gives up your seat: LEFT, your screen share and raised hand cleared (and recorded), your presence and signals streams completed. INVALID_STATE when you hold no seat (nothing is recorded); NOT_FOUND without access, FORBIDDEN when kicked.",
  })
  leaveSession(@Arg("id", () => ID) id: string, @Ctx() ctx: RequestContext): Promise<ParticipantEntity> {
    return ctx.services.seats.leave(ctx.auth, id);
  }

  @Mutation(() => ClassroomSession, {
    description:
      "Starts the lesson: SCHEDULED or WAITING becomes ACTIVE (actualStart set). Its host only (FORBIDDEN); INVALID_STATE from any other status; NOT_FOUND without access.",
  })
  startSession(@Arg("id", () => ID) id: string, @Ctx() ctx: RequestContext): Promise<SessionEntity> {
    return ctx.services.lifecycle.transition(ctx.auth, id, "start");
  }

  @Mutation(() => ClassroomSession, {
    description:
      "ACTIVE becomes PAUSED: board writes, cursors and signals wait for resumeSession. The host or a participant holding canPause (FORBIDDEN otherwise); INVALID_STATE unless ACTIVE, and for a solo workspace (ACTIVE until completed); NOT_FOUND without access.",
  })
  pauseSession(@Arg("id", () => ID) id: string, @Ctx() ctx: RequestContext): Promise<SessionEntity> {
    return ctx.services.lifecycle.transition(ctx.auth, id, "pause");
  }

  @Mutation(() => ClassroomSession, {
    description:
      "PAUSED becomes ACTIVE again. The host or a participant holding canPause (FORBIDDEN otherwise); INVALID_STATE unless PAUSED; NOT_FOUND without access.",
  })
  resumeSession(@Arg("id", () => ID) id: string, @Ctx() ctx: RequestContext): Promise<SessionEntity> {
    return ctx.services.lifecycle.transition(ctx.auth, id, "resume");
  }

  @Mutation(() => ClassroomSession, {
    description:
      "Ends the lesson: ACTIVE or PAUSED becomes COMPLETED (actualEnd set); everyone seated leaves and every subscription to it ends. Its host only (FORBIDDEN); INVALID_STATE from any other status; NOT_FOUND without access.",
  })
  completeSession(@Arg("id", () => ID) id: string, @Ctx() ctx: RequestContext): Promise<SessionEntity> {
    return ctx.services.lifecycle.transition(ctx.auth, id, "complete");
  }

  @Mutation(() => ClassroomSession, {
    description:
      "Ends the session early: SCHEDULED, WAITING, ACTIVE or PAUSED becomes TERMINATED (actualEnd set); everyone seated leaves and every subscription to it ends. The host or a participant holding canTerminate (FORBIDDEN otherwise); INVALID_STATE once it has ended, and for a solo workspace (its owner completes it); NOT_FOUND without access.",
  })
  terminateSession(
    @Arg("id", () => ID) id: string,
    @Ctx() ctx: RequestContext,
    @Arg("reason", () => String, { nullable: true, description: "Kept on the SESSION_TERMINATE timeline event (its first 500 characters)." }) reason?: string,
  ): Promise<SessionEntity> {
    return ctx.services.lifecycle.transition(ctx.auth, id, "terminate", reason);
  }

  @FieldResolver(() => User, { description: "The user who created it (for a booked lesson, the booking's tutor)." })
  async host(@Root() session: SessionEntity, @Ctx() ctx: RequestContext): Promise<UserEntity> {
    return (await ctx.loaders.userById.load(session.hostId)) as UserEntity;
  }

  @FieldResolver(() => Classroom, {
    nullable: true,
    description: "The classroom it was scheduled in; null without one, or for a viewer who is not the classroom's tutor, a member or an admin.",
  })
  @ViewerDependent()
  async classroom(@Root() session: SessionEntity, @Ctx() ctx: RequestContext): Promise<ClassroomEntity | null> {
    return session.classroomId ? ((await ctx.loaders.classroomById.load(session.classroomId)) ?? null) : null;
  }

  @FieldResolver(() => Booking, {
    nullable: true,
    description: "The booking it was created for; null without one, or for a viewer who is not the booking's tutor, its student or an admin.",
  })
  @ViewerDependent()
  async booking(@Root() session: SessionEntity, @Ctx() ctx: RequestContext): Promise<BookingEntity | null> {
    return session.bookingId ? ((await ctx.loaders.bookingById.load(session.bookingId)) ?? null) : null;
  }

  @FieldResolver(() => Int, { description: "Seconds spent ACTIVE, pauses excluded, the running interval included." })
  totalDurationSeconds(@Root() session: SessionEntity): number {
    return activeDurationSeconds(session);
  }

  @FieldResolver(() => String, {
    nullable: true,
    description:
      "The code for joinSessionByCode. Only visible to the host and to users allowed to invite (participants holding canInvite); null for anyone else and for solo workspaces.",
  })
  @ViewerDependent()
  accessCode(@Root() session: SessionEntity, @Ctx() ctx: RequestContext): Promise<string | null> {
    return ctx.services.sessions.accessCodeFor(ctx.auth, session);
  }

  @FieldResolver(() => [Participant], {
    description: "Everyone with a participant row, in the order they were added, whatever their status (INVITED, LEFT and KICKED included).",
  })
  async participants(
    @Root() session: SessionEntity,
    @Ctx() ctx: RequestContext,
    @Arg("statuses", () => [ParticipantStatus], { nullable: true, description: "Only participants in one of these statuses; omitted or empty: all." })
    statuses?: ParticipantStatus[],
  ): Promise<ParticipantEntity[]> {
    const all = await ctx.loaders.participantsBySession.load(session.id);
    return statuses?.length ? all.filter((p) => statuses.includes(p.status)) : all;
  }
}
