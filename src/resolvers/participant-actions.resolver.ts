import { Arg, Ctx, FieldResolver, ID, Int, Mutation, Resolver, Root, Subscription } from "type-graphql";
import { ParticipantRole, type ParticipantEntity } from "../entities/participant.entity";
import { MediaStateInput, Participant, PermissionsInput } from "../schema/participant.type";
import { SystemEvent } from "../schema/system-event.type";
import { systemEventStep, type SystemEventView } from "../services/system-events";
import type { RequestContext } from "./context";

/** Participant mutations and the session's system events. */
@Resolver(() => SystemEvent)
export class ParticipantActionsResolver {
  @Mutation(() => Participant)
  kickParticipant(
    @Arg("sessionId", () => ID) sessionId: string,
    @Arg("userId", () => ID) userId: string,
    @Ctx() ctx: RequestContext,
    @Arg("reason", () => String, { nullable: true }) reason?: string,
  ): Promise<ParticipantEntity> {
    return ctx.services.participants.kick(ctx.auth, sessionId, userId, reason);
  }

  @Mutation(() => Participant)
  updateMediaState(
    @Arg("sessionId", () => ID) sessionId: string,
    @Arg("input") input: MediaStateInput,
    @Ctx() ctx: RequestContext,
  ): Promise<ParticipantEntity> {
    return ctx.services.participants.updateMedia(ctx.auth, sessionId, input);
  }

  @Mutation(() => Participant)
  updateParticipantPermissions(
    @Arg("sessionId", () => ID) sessionId: string,
    @Arg("userId", () => ID) userId: string,
    @Arg("permissions") permissions: PermissionsInput,
    @Ctx() ctx: RequestContext,
  ): Promise<ParticipantEntity> {
    return ctx.services.participants.updatePermissions(ctx.auth, sessionId, userId, { ...permissions });
  }

  @Mutation(() => Participant)
  changeParticipantRole(
    @Arg("sessionId", () => ID) sessionId: string,
    @Arg("userId", () => ID) userId: string,
    @Arg("role", () => ParticipantRole) role: ParticipantRole,
    @Ctx() ctx: RequestContext,
  ): Promise<ParticipantEntity> {
    return ctx.services.participants.changeRole(ctx.auth, sessionId, userId, role);
  }

  @Subscription(() => SystemEvent, {
    description:
      "With afterSeq, the recorded events after it come first, like boardEvents. Ends after the session's final status (COMPLETED, TERMINATED, EXPIRED).",
    subscribe: ({ args, context }) => {
      const ctx = context as RequestContext;
      return ctx.services.feed.watch(ctx.auth, args.sessionId as string, args.afterSeq as number | null | undefined, systemEventStep, ctx.openStream);
    },
  })
  systemEvents(
    @Root() event: SystemEventView,
    @Arg("sessionId", () => ID) _sessionId: string,
    @Arg("afterSeq", () => Int, { nullable: true }) _afterSeq?: number,
  ): SystemEventView {
    return event;
  }

  @FieldResolver(() => Participant, { nullable: true })
  async participant(@Root() event: SystemEventView, @Ctx() ctx: RequestContext): Promise<ParticipantEntity | null> {
    if (!event.participantId) return null;
    return (await ctx.loaders.participantById.load(event.participantId)) ?? null;
  }
}
