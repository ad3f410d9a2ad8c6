import { Arg, Ctx, FieldResolver, ID, Mutation, Resolver, Root } from "type-graphql";
import type { ParticipantEntity } from "../entities/participant.entity";
import { Participant } from "../schema/participant.type";
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
    return ctx.loaders.videoRoomBySession.load(session);
  }

  @Mutation(() => String, {
    nullable: true,
    description: `A fresh meeting token for your seat in the session's video room (an expiring one, or after a role or permission change, which it reflects); null with VIDEO_PROVIDER=p2p. INVALID_STATE unless you hold a seat; NOT_FOUND without access; ${PROVIDER_DOWN}`,
  })
  refreshVideoToken(@Arg("sessionId", () => ID) sessionId: string, @Ctx() ctx: RequestContext): Promise<string | null> {
    return ctx.services.videoCall.token(ctx.auth, sessionId);
  }
}

/** Recording the call with everyone's consent (README "Recording consent"): thin over VideoCallService. */
@Resolver(() => Participant)
export class RecordingResolver {
  @Mutation(() => Boolean, {
    description:
      "Starts recording the session's call at the video provider; answers true. The host only (FORBIDDEN), in an ACTIVE session with isRecorded and VIDEO_PROVIDER=daily (INVALID_STATE otherwise). INVALID_STATE with `extensions.awaitingConsent` and `extensions.declined` (user ids) until every seated participant consented: those who have not answered get a NOTIFICATION (data.type RECORDING_CONSENT) asking them. The recording's start reaches the timeline as RECORDING_START from the provider's webhook. " +
      PROVIDER_DOWN,
  })
  startRecording(@Arg("sessionId", () => ID) sessionId: string, @Ctx() ctx: RequestContext): Promise<boolean> {
    return ctx.services.videoCall.startRecording(ctx.auth, sessionId);
  }

  @Mutation(() => Participant, {
    description:
      "Your answer to recording the session's call (recorded as RECORDING_CONSENT when it changes). A seat needed (INVALID_STATE), as is a session with isRecorded and VIDEO_PROVIDER=daily; NOT_FOUND without access.",
  })
  setRecordingConsent(
    @Arg("sessionId", () => ID) sessionId: string,
    @Arg("consent", { description: "true: you may be recorded; false: you decline (the host is told)." }) consent: boolean,
    @Ctx() ctx: RequestContext,
  ): Promise<ParticipantEntity> {
    return ctx.services.videoCall.setRecordingConsent(ctx.auth, sessionId, consent);
  }

  @FieldResolver(() => Boolean, { nullable: true, description: "Their answer to recording the call (setRecordingConsent); null until they answer." })
  recordingConsent(@Root() participant: ParticipantEntity): boolean | null {
    return participant.recordingConsent;
  }
}

@Resolver(() => JoinSessionPayload)
export class JoinVideoTokenResolver {
  @FieldResolver(() => String, {
    nullable: true,
    description: `The video provider's meeting token for this participant (owner rights for the host, screen sharing as canShareScreen allows); null with VIDEO_PROVIDER=p2p. Asked of the provider only when selected; refreshVideoToken makes a new one. ${PROVIDER_DOWN}`,
  })
  videoToken(@Root() payload: { session: SessionEntity }, @Ctx() ctx: RequestContext): Promise<string | null> {
    return ctx.services.videoCall.token(ctx.auth, payload.session.id);
  }
}
