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
  @Mutation(() => TimelineEvent)
  sendChatMessage(@Arg("sessionId", () => ID) sessionId: string, @Arg("text") text: string, @Ctx() ctx: RequestContext): Promise<SessionEventEntity> {
    return ctx.services.participants.sendChat(ctx.auth, sessionId, text);
  }

  @Mutation(() => Participant)
  raiseHand(@Arg("sessionId", () => ID) sessionId: string, @Arg("raised") raised: boolean, @Ctx() ctx: RequestContext): Promise<ParticipantEntity> {
    return ctx.services.participants.raiseHand(ctx.auth, sessionId, raised);
  }

  @FieldResolver(() => User, { nullable: true })
  async user(@Root() event: SessionEventEntity, @Ctx() ctx: RequestContext, @Info() info: GraphQLResolveInfo): Promise<UserEntity | null> {
    return event.userId ? ((await userRef(ctx, info, event.userId)) ?? null) : null;
  }
}
