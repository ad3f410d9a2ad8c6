import type { GraphQLResolveInfo } from "graphql";
import { Arg, Ctx, FieldResolver, ID, Info, Mutation, Resolver, Root } from "type-graphql";
import type { ParticipantEntity } from "../entities/participant.entity";
import type { SessionEventEntity } from "../entities/session-event.entity";
import type { UserEntity } from "../entities/user.entity";
import { Participant } from "../schema/participant.type";
import { TimelineEvent } from "../schema/timeline.type";
import { User } from "../schema/user.type";
import type { RequestContext } from "./context";
import { userRef } from "./user-ref";

/** Timeline events, and the participant actions whose answer is one (chat) or touches one. */
@Resolver(() => TimelineEvent)
export class TimelineResolver {
  @Mutation(() => TimelineEvent, {
    description:
      "Sends a chat message: recorded on the timeline (the CHAT_MESSAGE event answered) and delivered as a systemEvent. Needs a seat (a VIEWER's too) in a WAITING, ACTIVE or PAUSED session (INVALID_STATE otherwise); BAD_USER_INPUT for a text outside 1–2000 characters; NOT_FOUND without access, FORBIDDEN when kicked.",
  })
  sendChatMessage(
    @Arg("sessionId", () => ID) sessionId: string,
    @Arg("text", { description: "1 to 2000 characters, surrounding spaces trimmed." }) text: string,
    @Ctx() ctx: RequestContext,
  ): Promise<SessionEventEntity> {
    return ctx.services.participants.sendChat(ctx.auth, sessionId, text);
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

  @FieldResolver(() => User, { nullable: true, description: "Who did it; null for what the server did on its own (the expiry job)." })
  async user(@Root() event: SessionEventEntity, @Ctx() ctx: RequestContext, @Info() info: GraphQLResolveInfo): Promise<UserEntity | null> {
    return event.userId ? ((await userRef(ctx, info, event.userId)) ?? null) : null;
  }
}
