import { Field, ID, InputType, Int, ObjectType } from "type-graphql";
import { ParticipantRole, ParticipantStatus, type PermissionKey } from "../entities/participant.entity";
import { ClassroomSession } from "./session.type";
import { DateTimeScalar } from "./scalars";
import "./session.type"; // registers the enums

/** What each permission allows, for Permissions and PermissionsInput. */
const MAY: Record<PermissionKey, string> = {
  canDraw: "May draw: STROKE, OBJECT_CREATE, OBJECT_MODIFY and TEXT_EDIT on anyone's object, and saveBoard.",
  canErase: "May erase objects (OBJECT_DELETE).",
  canAddLayers: "May add layers (LAYER_ADD).",
  canDeleteLayers: "May delete layers (LAYER_DELETE).",
  canReorderLayers: "May reorder layers (LAYER_REORDER).",
  canUploadImages: "May place images (IMAGE_UPLOAD).",
  canExport: "May download the board and its snapshots as JSON (GET /export/sessions/:id/board and /export/sessions/:id/snapshots/:version).",
  canClearBoard: "May clear the board (CLEAR), restoreSnapshot and importBoard.",
  canToggleVideo: "May turn their video on.",
  canToggleAudio: "May turn their audio on.",
  canShareScreen: "May share their screen (one sharer per session).",
  canInvite: "May see the session's accessCode.",
  canKick: "May kick participants, change their roles and their permissions.",
  canTerminate: "May terminate the session.",
  canPause: "May pause and resume the session.",
};

/** A grant of PermissionsInput: the permission's text, and what null means. */
const grant = (key: PermissionKey) => `${MAY[key]} null: back to the role's default.`;

@ObjectType({ description: "What a participant may do in a session: the role's defaults (rolePermissions) overlaid with their own grants." })
export class Permissions {
  @Field({ description: MAY.canDraw }) canDraw: boolean;
  @Field({ description: MAY.canErase }) canErase: boolean;
  @Field({ description: MAY.canAddLayers }) canAddLayers: boolean;
  @Field({ description: MAY.canDeleteLayers }) canDeleteLayers: boolean;
  @Field({ description: MAY.canReorderLayers }) canReorderLayers: boolean;
  @Field({ description: MAY.canUploadImages }) canUploadImages: boolean;
  @Field({ description: MAY.canExport }) canExport: boolean;
  @Field({ description: MAY.canClearBoard }) canClearBoard: boolean;
  @Field({ description: MAY.canToggleVideo }) canToggleVideo: boolean;
  @Field({ description: MAY.canToggleAudio }) canToggleAudio: boolean;
  @Field({ description: MAY.canShareScreen }) canShareScreen: boolean;
  @Field({ description: MAY.canInvite }) canInvite: boolean;
  @Field({ description: MAY.canKick }) canKick: boolean;
  @Field({ description: MAY.canTerminate }) canTerminate: boolean;
  @Field({ description: MAY.canPause }) canPause: boolean;
}

@InputType({
  description:
    "Grants over a participant's role defaults (updateParticipantPermissions): true or false sets a grant, null removes it, an omitted one stays as it is.",
})
export class PermissionsInput {
  @Field({ nullable: true, description: grant("canDraw") }) canDraw?: boolean;
  @Field({ nullable: true, description: grant("canErase") }) canErase?: boolean;
  @Field({ nullable: true, description: grant("canAddLayers") }) canAddLayers?: boolean;
  @Field({ nullable: true, description: grant("canDeleteLayers") }) canDeleteLayers?: boolean;
  @Field({ nullable: true, description: grant("canReorderLayers") }) canReorderLayers?: boolean;
  @Field({ nullable: true, description: grant("canUploadImages") }) canUploadImages?: boolean;
  @Field({ nullable: true, description: grant("canExport") }) canExport?: boolean;
  @Field({ nullable: true, description: grant("canClearBoard") }) canClearBoard?: boolean;
  @Field({ nullable: true, description: grant("canToggleVideo") }) canToggleVideo?: boolean;
  @Field({ nullable: true, description: grant("canToggleAudio") }) canToggleAudio?: boolean;
  @Field({ nullable: true, description: grant("canShareScreen") }) canShareScreen?: boolean;
  @Field({ nullable: true, description: grant("canInvite") }) canInvite?: boolean;
  @Field({ nullable: true, description: grant("canKick") }) canKick?: boolean;
  @Field({ nullable: true, description: grant("canTerminate") }) canTerminate?: boolean;
  @Field({ nullable: true, description: grant("canPause") }) canPause?: boolean;
}

@ObjectType({ description: "A participant's media, as they last set it (updateMediaState or a media signal)." })
export class MediaState {
  @Field({ description: "Their microphone is on." }) audioEnabled: boolean;
  @Field({ description: "Their camera is on." }) videoEnabled: boolean;
  @Field({ description: "They share their screen; at most one participant of a session does." }) screenSharing: boolean;
  @Field(() => String, { nullable: true, description: "Free text the client reports (at most 32 characters); null until it does." })
  connectionQuality: string | null;
}

@InputType({ description: "Your media state to change (updateMediaState); omitted fields stay. Turning a medium on needs its permission." })
export class MediaStateInput {
  @Field({ nullable: true, description: "Microphone on or off; on needs canToggleAudio." }) audioEnabled?: boolean;
  @Field({ nullable: true, description: "Camera on or off; on needs canToggleVideo." }) videoEnabled?: boolean;
  @Field({ nullable: true, description: "Screen sharing on or off; on needs canShareScreen, and is CONFLICT while someone else shares." })
  screenSharing?: boolean;
  @Field(() => String, { nullable: true, description: "Free text for the others, at most 32 characters (BAD_USER_INPUT beyond); null clears it." })
  connectionQuality?: string;
}

/** Resolved from ParticipantEntity; user, media, permissions, totalTimeSeconds are field resolvers. */
@ObjectType({ description: "A user's place in one session: role, status (whether they hold a seat), media, permissions and attendance." })
export class Participant {
  @Field(() => ID, { description: "This participant's id (not the user's: see `user`)." }) id: string;
  @Field(() => ParticipantRole, { description: "Their role in this session." }) role: ParticipantRole;
  @Field(() => ParticipantStatus, { description: "Where they are in the session; JOINING, CONNECTED and RECONNECTING hold a seat." })
  status: ParticipantStatus;
  @Field(() => DateTimeScalar, { nullable: true, description: "When they last joined; null if they never did." }) joinedAt: Date | null;
  @Field(() => DateTimeScalar, { nullable: true, description: "When they last left, were disconnected or kicked; null since their last join." })
  leftAt: Date | null;
  @Field(() => String, { nullable: true, description: "Reserved for a WebRTC peer id; this server never sets it (always null)." }) peerId: string | null;
  @Field(() => Int, { description: "How often they came back from RECONNECTING to CONNECTED." }) reconnectCount: number;
  @Field({ description: "Their hand is raised (raiseHand); lowered when they leave, are disconnected or kicked." }) handRaised: boolean;
}

@ObjectType({ description: "What joinSession and joinSessionByCode answer." })
export class JoinSessionPayload {
  @Field(() => ClassroomSession, { description: "The session joined." }) session: unknown;
  @Field(() => Participant, { description: "Your participant row, now holding a seat." }) participant: unknown;
  @Field({ description: "A short-lived token scoped to this session, for the realtime connection (SESSION_TOKEN_TTL, 2 h)." }) sessionToken: string;
  @Field(() => DateTimeScalar, { description: "When sessionToken expires; join again for a fresh one." }) sessionTokenExpiresAt: Date;
}
