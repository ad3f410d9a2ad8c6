import type { GraphQLResolveInfo } from "graphql";
import { Ctx, FieldResolver, Info, Resolver, Root } from "type-graphql";
import type { SessionEventEntity } from "../entities/session-event.entity";
import type { UserEntity } from "../entities/user.entity";
import { TimelineEvent } from "../schema/timeline.type";
import { User } from "../schema/user.type";
import type { RequestContext } from "./context";
import { userRef } from "./user-ref";

/** A recorded timeline event's fields. */
@Resolver(() => TimelineEvent)
export class TimelineResolver {
  @FieldResolver(() => User, { nullable: true, description: "Who did it; null for what the server did on its own (the expiry job)." })
  async user(@Root() event: SessionEventEntity, @Ctx() ctx: RequestContext, @Info() info: GraphQLResolveInfo): Promise<UserEntity | null> {
    return event.userId ? ((await userRef(ctx, info, event.userId)) ?? null) : null;
  }
}
