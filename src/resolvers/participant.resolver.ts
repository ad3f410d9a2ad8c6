import type { GraphQLResolveInfo } from "graphql";
import { Ctx, FieldResolver, Info, Int, Resolver, Root } from "type-graphql";
import type { ParticipantEntity, Permissions as PermissionFlags } from "../entities/participant.entity";
import type { UserEntity } from "../entities/user.entity";
import { effectivePermissions } from "../auth/permissions";
import { MediaState, Participant, Permissions } from "../schema/participant.type";
import { User } from "../schema/user.type";
import type { RequestContext } from "./context";
import { userRef } from "./user-ref";

@Resolver(() => Participant)
export class ParticipantResolver {
  @FieldResolver(() => User, { description: "The user behind this participant." })
  async user(@Root() participant: ParticipantEntity, @Ctx() ctx: RequestContext, @Info() info: GraphQLResolveInfo): Promise<UserEntity> {
    return (await userRef(ctx, info, participant.userId)) as UserEntity;
  }

  @FieldResolver(() => MediaState, { description: "Their microphone, camera and screen sharing." })
  media(@Root() participant: ParticipantEntity): MediaState {
    const { audioEnabled, videoEnabled, screenSharing, connectionQuality } = participant;
    return { audioEnabled, videoEnabled, screenSharing, connectionQuality };
  }

  @FieldResolver(() => Permissions, { description: "Role defaults overlaid with this participant's own grants." })
  async permissions(@Root() participant: ParticipantEntity, @Ctx() ctx: RequestContext): Promise<PermissionFlags> {
    return effectivePermissions(await ctx.services.access.defaultsFor(participant.role), participant.permissionGrants);
  }

  @FieldResolver(() => Int, { description: "Seconds spent CONNECTED, the running interval included." })
  totalTimeSeconds(@Root() participant: ParticipantEntity): number {
    const running = participant.connectedSince ? Math.floor((Date.now() - participant.connectedSince.getTime()) / 1000) : 0;
    return participant.connectedSeconds + Math.max(0, running);
  }
}
