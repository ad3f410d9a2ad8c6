import { Field, ID, InputType, Int, ObjectType } from "type-graphql";
import { ParticipantRole, ParticipantStatus } from "../entities/participant.entity";
import { ClassroomSession } from "./session.type";
import { DateTimeScalar } from "./scalars";
import "./session.type"; // registers the enums

@ObjectType()
export class Permissions {
  @Field() canDraw: boolean;
  @Field() canErase: boolean;
  @Field() canAddLayers: boolean;
  @Field() canDeleteLayers: boolean;
  @Field() canReorderLayers: boolean;
  @Field() canUploadImages: boolean;
  @Field() canExport: boolean;
  @Field() canClearBoard: boolean;
  @Field() canToggleVideo: boolean;
  @Field() canToggleAudio: boolean;
  @Field() canShareScreen: boolean;
  @Field() canInvite: boolean;
  @Field() canKick: boolean;
  @Field() canTerminate: boolean;
  @Field() canPause: boolean;
}

@InputType()
export class PermissionsInput {
  @Field({ nullable: true }) canDraw?: boolean;
  @Field({ nullable: true }) canErase?: boolean;
  @Field({ nullable: true }) canAddLayers?: boolean;
  @Field({ nullable: true }) canDeleteLayers?: boolean;
  @Field({ nullable: true }) canReorderLayers?: boolean;
  @Field({ nullable: true }) canUploadImages?: boolean;
  @Field({ nullable: true }) canExport?: boolean;
  @Field({ nullable: true }) canClearBoard?: boolean;
  @Field({ nullable: true }) canToggleVideo?: boolean;
  @Field({ nullable: true }) canToggleAudio?: boolean;
  @Field({ nullable: true }) canShareScreen?: boolean;
  @Field({ nullable: true }) canInvite?: boolean;
  @Field({ nullable: true }) canKick?: boolean;
  @Field({ nullable: true }) canTerminate?: boolean;
  @Field({ nullable: true }) canPause?: boolean;
}

@ObjectType()
export class MediaState {
  @Field() audioEnabled: boolean;
  @Field() videoEnabled: boolean;
  @Field() screenSharing: boolean;
  @Field(() => String, { nullable: true }) connectionQuality: string | null;
}

@InputType()
export class MediaStateInput {
  @Field({ nullable: true }) audioEnabled?: boolean;
  @Field({ nullable: true }) videoEnabled?: boolean;
  @Field({ nullable: true }) screenSharing?: boolean;
  @Field(() => String, { nullable: true }) connectionQuality?: string;
}

/** Resolved from ParticipantEntity; user, media, permissions, totalTimeSeconds are field resolvers. */
@ObjectType()
export class Participant {
  @Field(() => ID) id: string;
  @Field(() => ParticipantRole) role: ParticipantRole;
  @Field(() => ParticipantStatus) status: ParticipantStatus;
  @Field(() => DateTimeScalar, { nullable: true }) joinedAt: Date | null;
  @Field(() => DateTimeScalar, { nullable: true }) leftAt: Date | null;
  @Field(() => String, { nullable: true }) peerId: string | null;
  @Field(() => Int) reconnectCount: number;
  @Field() handRaised: boolean;
}

@ObjectType()
export class JoinSessionPayload {
  @Field(() => ClassroomSession) session: unknown;
  @Field(() => Participant) participant: unknown;
  @Field({ description: "A short-lived token scoped to this session, for the realtime connection." }) sessionToken: string;
  @Field(() => DateTimeScalar) sessionTokenExpiresAt: Date;
}
