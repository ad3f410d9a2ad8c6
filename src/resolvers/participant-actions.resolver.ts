import { Arg, Ctx, ID, Mutation, Resolver } from "type-graphql";
import { ParticipantRole, type ParticipantEntity } from "../entities/participant.entity";
import { MediaStateInput, Participant, PermissionsInput } from "../schema/participant.type";
import type { SessionEventEntity } from "../entities/session-event.entity";
import { TimelineEvent } from "../schema/timeline.type";
import type { RequestContext } from "./context";

/** What participants do in a session and what is done to them: kicks, media, grants, roles, chat, raised hands. */
@Resolver()
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

  @Mutation(() => TimelineEvent, {
    description:
      "Sends a chat message: recorded on the timeline (the CHAT_MESSAGE event answered) and delivered as a systemEvent. Needs a seat (a VIEWER's too) in a WAITING, ACTIVE or PAUSED session (INVALID_STATE otherwise); BAD_USER_INPUT for a text outside 1–2000 characters or a clientMessageId outside 1–64; a repeated clientMessageId answers the original message and records, announces nothing; NOT_FOUND without access, FORBIDDEN when kicked.",
  })
  sendChatMessage(
    @Arg("sessionId", () => ID) sessionId: string,
    @Arg("text", { description: "1 to 2000 characters, surrounding spaces trimmed." }) text: string,
    @Ctx() ctx: RequestContext,
    @Arg("clientMessageId", () => String, {
      nullable: true,
      description:
        "The client's id for this message (1–64 characters), for retries: the same id from the same user in the same session answers the original message and records nothing new.",
    })
    clientMessageId?: string,
  ): Promise<SessionEventEntity> {
    return ctx.services.participants.sendChat(ctx.auth, sessionId, text, clientMessageId);
  }

  @Mutation(() => Participant, {
    description:
      "Raises or lowers your hand, recorded as HAND_RAISE or HAND_LOWER (nothing when it already is). Needs a seat (a VIEWER's too) in a WAITING, ACTIVE or PAUSED session (INVALID_STATE otherwise); NOT_FOUND without access, FORBIDDEN when kicked.",
  })
  raiseHand(
    @Arg("sessionId", () => ID) sessionId: string,
    @Arg("raised", { description: "true raises your hand, false lowers it." }) raised: boolean,
    @Ctx() ctx: RequestContext,
  ): Promise<ParticipantEntity> {
    return ctx.services.participants.raiseHand(ctx.auth, sessionId, raised);
  }
}
