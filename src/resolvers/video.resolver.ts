import { Arg, Ctx, FieldResolver, ID, Mutation, Resolver, Root } from "type-graphql";
import type { SessionEntity } from "../entities/session.entity";
import { JoinSessionPayload } from "../schema/participant.type";
import { ClassroomSession } from "../schema/session.type";
import { VideoRoom } from "../schema/video.type";
import type { VideoRoomView } from "../services/video-rooms.service";
import type { RequestContext } from "./context";

const PROVIDER_DOWN =
  "UNAVAILABLE (`retryable`, `retryAfterMs`) while the provider fails: the session itself is unaffected and the room is retried in the background.";

/** The video provider's room and meeting tokens (W7): thin over VideoRooms. */
@Resolver(() => ClassroomSession)
export class VideoRoomResolver {
  @FieldResolver(() => VideoRoom, {
    nullable: true,
    description: `The provider's room, for those with access; null with VIDEO_PROVIDER=p2p, for a solo workspace and once the session is over. ${PROVIDER_DOWN}`,
  })
  videoRoom(@Root() session: SessionEntity, @Ctx() ctx: RequestContext): Promise<VideoRoomView | null> {
    return ctx.services.videoRooms.room(session);
  }

  @Mutation(() => String, {
    nullable: true,
    description: `A fresh meeting token for your seat in the session's video room (an expiring one, or after a role or permission change, which it reflects); null with VIDEO_PROVIDER=p2p. INVALID_STATE unless you hold a seat; NOT_FOUND without access; ${PROVIDER_DOWN}`,
  })
  refreshVideoToken(@Arg("sessionId", () => ID) sessionId: string, @Ctx() ctx: RequestContext): Promise<string | null> {
    return ctx.services.videoRooms.token(ctx.auth, sessionId);
  }
}

@Resolver(() => JoinSessionPayload)
export class JoinVideoTokenResolver {
  @FieldResolver(() => String, {
    nullable: true,
    description: `The video provider's meeting token for this participant (owner rights for the host, screen sharing as canShareScreen allows); null with VIDEO_PROVIDER=p2p. Asked of the provider only when selected; refreshVideoToken makes a new one. ${PROVIDER_DOWN}`,
  })
  videoToken(@Root() payload: { session: SessionEntity }, @Ctx() ctx: RequestContext): Promise<string | null> {
    return ctx.services.videoRooms.token(ctx.auth, payload.session.id);
  }
}
