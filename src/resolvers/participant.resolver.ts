import type { GraphQLResolveInfo } from "graphql";
import { Ctx, FieldResolver, Info, Int, Resolver, Root } from "type-graphql";
import type { ParticipantEntity, Permissions as PermissionFlags } from "../entities/participant.entity";
import type { UserEntity } from "../entities/user.entity";
import { effectivePermissions } from "../auth/permissions";
import { MediaState, Participant, Permissions } from "../schema/participant.type";
import { User } from "../schema/user.type";
import type { RequestContext } from "./context";
import { userRef } from "./user-ref";
import { connectedTimeSeconds } from "../services/seats";

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
    return connectedTimeSeconds(participant.connectedSeconds, participant.connectedSince);
  }

  @FieldResolver(() => Boolean, { description: "In the video provider's call now, as its webhooks tell (VIDEO_PROVIDER=daily); false with p2p." })
  inCall(@Root() participant: ParticipantEntity): boolean {
    return participant.inCallSince !== null;
  }

  @FieldResolver(() => Int, { description: "Seconds in the video provider's call, the running interval included; 0 with p2p." })
  callTimeSeconds(@Root() participant: ParticipantEntity): number {
    return connectedTimeSeconds(participant.callSeconds, participant.inCallSince);
  }
}
