import { Arg, Ctx, FieldResolver, ID, Int, Mutation, Resolver, Root, Subscription } from "type-graphql";
import { ParticipantRole, type ParticipantEntity } from "../entities/participant.entity";
import { MediaStateInput, Participant, PermissionsInput } from "../schema/participant.type";
import { SystemEvent } from "../schema/system-event.type";
import { systemEventStep, type SystemEventView } from "../services/system-events";
import { AFTER_SEQ_ARG } from "../schema/descriptions";
import type { RequestContext } from "./context";

/** Participant mutations and the session's system events. */
@Resolver(() => SystemEvent)
export class ParticipantActionsResolver {
  @Mutation(() => Participant, {
    description:
      "Removes a participant: KICKED, seat freed, screen share and raised hand cleared. They lose all access to the session, get a KICKED systemEvent, and their subscriptions to it end with FORBIDDEN. The host or a participant holding canKick (FORBIDDEN otherwise, and for kicking the host); BAD_USER_INPUT when userId is not a participant; NOT_FOUND without access. Kicking again changes nothing.",
  })
  kickParticipant(
    @Arg("sessionId", () => ID) sessionId: string,
    @Arg("userId", () => ID, { description: "The user to remove (their user id, not the participant id)." }) userId: string,
    @Ctx() ctx: RequestContext,
    @Arg("reason", () => String, { nullable: true, description: "Told to them as the KICKED event's message (its first 500 characters)." }) reason?: string,
  ): Promise<ParticipantEntity> {
    return ctx.services.participants.kick(ctx.auth, sessionId, userId, reason);
  }

  @Mutation(() => Participant, {
    description:
      "Sets your own media state, recording each change (MEDIA_*, SCREEN_SHARE_*). Needs a seat in a WAITING, ACTIVE or PAUSED session (INVALID_STATE otherwise); turning a medium on needs its permission (FORBIDDEN); a second screen sharer is CONFLICT; BAD_USER_INPUT for a connectionQuality over 32 characters. NOT_FOUND without access, FORBIDDEN when kicked.",
  })
  updateMediaState(
    @Arg("sessionId", () => ID) sessionId: string,
    @Arg("input") input: MediaStateInput,
    @Ctx() ctx: RequestContext,
  ): Promise<ParticipantEntity> {
    return ctx.services.participants.updateMedia(ctx.auth, sessionId, input);
  }

  @Mutation(() => Participant, {
    description:
      "Sets or removes a participant's grants over their role defaults; media they may no longer use is turned off (and recorded). The host or a participant holding canKick (FORBIDDEN otherwise, and for the host's own permissions); BAD_USER_INPUT when userId is not a participant; NOT_FOUND without access.",
  })
  updateParticipantPermissions(
    @Arg("sessionId", () => ID) sessionId: string,
    @Arg("userId", () => ID, { description: "The participant's user id." }) userId: string,
    @Arg("permissions", { description: "The grants to set (true, false) or remove (null)." }) permissions: PermissionsInput,
    @Ctx() ctx: RequestContext,
  ): Promise<ParticipantEntity> {
    return ctx.services.participants.updatePermissions(ctx.auth, sessionId, userId, { ...permissions });
  }

  @Mutation(() => Participant, {
    description:
      "Makes a participant a STUDENT or a VIEWER; media the new role may no longer use is turned off (and recorded). The host or a participant holding canKick (FORBIDDEN otherwise, and for the host's or a solo owner's role); BAD_USER_INPUT for any other role or a userId who is not a participant; NOT_FOUND without access.",
  })
  changeParticipantRole(
    @Arg("sessionId", () => ID) sessionId: string,
    @Arg("userId", () => ID, { description: "The participant's user id." }) userId: string,
    @Arg("role", () => ParticipantRole, { description: "STUDENT or VIEWER." }) role: ParticipantRole,
    @Ctx() ctx: RequestContext,
  ): Promise<ParticipantEntity> {
    return ctx.services.participants.changeRole(ctx.auth, sessionId, userId, role);
  }

  @Subscription(() => SystemEvent, {
    description:
      "What happens in a session, for anyone who can read it: status changes, participant updates, grants and roles, chat, and KICKED to a kicked user (whose stream then ends with FORBIDDEN). With afterSeq, the recorded events after it come first, like boardEvents. Ends after the session's final status (COMPLETED, TERMINATED, EXPIRED). NOT_FOUND without access, FORBIDDEN when kicked, RESYNC_REQUIRED more than BACKFILL_MAX (10 000) events behind or when the subscriber falls behind.",
    subscribe: ({ args, context }) => {
      const ctx = context as RequestContext;
      return ctx.services.feed.watch(ctx.auth, args.sessionId as string, args.afterSeq as number | null | undefined, systemEventStep, ctx.openStream);
    },
  })
  systemEvents(
    @Root() event: SystemEventView,
    @Arg("sessionId", () => ID) _sessionId: string,
    @Arg("afterSeq", () => Int, { nullable: true, description: AFTER_SEQ_ARG }) _afterSeq?: number,
  ): SystemEventView {
    return event;
  }

  @FieldResolver(() => Participant, {
    nullable: true,
    description: "The participant the event is about (joins, media, hands, grants, kicks, chat); null for status changes.",
  })
  async participant(@Root() event: SystemEventView, @Ctx() ctx: RequestContext): Promise<ParticipantEntity | null> {
    if (!event.participantId) return null;
    return (await ctx.loaders.participantById.load(event.participantId)) ?? null;
  }
}
