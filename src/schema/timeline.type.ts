import { Field, ID, Int, ObjectType, registerEnumType } from "type-graphql";
import { PageInfo } from "./page.type";
import { DateTimeScalar, JSONScalar, SafeIntScalar } from "./scalars";

/** Every timeline event type of the contract (H1). */
export enum SessionEventType {
  SESSION_CREATED = "SESSION_CREATED",
  SESSION_START = "SESSION_START",
  SESSION_PAUSE = "SESSION_PAUSE",
  SESSION_RESUME = "SESSION_RESUME",
  SESSION_END = "SESSION_END",
  SESSION_TERMINATE = "SESSION_TERMINATE",
  SESSION_EXPIRE = "SESSION_EXPIRE",
  PARTICIPANT_JOIN = "PARTICIPANT_JOIN",
  PARTICIPANT_LEAVE = "PARTICIPANT_LEAVE",
  PARTICIPANT_KICK = "PARTICIPANT_KICK",
  PARTICIPANT_RECONNECT = "PARTICIPANT_RECONNECT",
  PARTICIPANT_DISCONNECT = "PARTICIPANT_DISCONNECT",
  MEDIA_AUDIO_ON = "MEDIA_AUDIO_ON",
  MEDIA_AUDIO_OFF = "MEDIA_AUDIO_OFF",
  MEDIA_VIDEO_ON = "MEDIA_VIDEO_ON",
  MEDIA_VIDEO_OFF = "MEDIA_VIDEO_OFF",
  SCREEN_SHARE_START = "SCREEN_SHARE_START",
  SCREEN_SHARE_STOP = "SCREEN_SHARE_STOP",
  BOARD_STROKE = "BOARD_STROKE",
  BOARD_OBJECT_CREATE = "BOARD_OBJECT_CREATE",
  BOARD_OBJECT_DELETE = "BOARD_OBJECT_DELETE",
  BOARD_OBJECT_MODIFY = "BOARD_OBJECT_MODIFY",
  BOARD_LAYER_ADD = "BOARD_LAYER_ADD",
  BOARD_LAYER_DELETE = "BOARD_LAYER_DELETE",
  BOARD_LAYER_REORDER = "BOARD_LAYER_REORDER",
  BOARD_UNDO = "BOARD_UNDO",
  BOARD_REDO = "BOARD_REDO",
  BOARD_IMAGE_UPLOAD = "BOARD_IMAGE_UPLOAD",
  BOARD_TEXT_EDIT = "BOARD_TEXT_EDIT",
  BOARD_CLEAR = "BOARD_CLEAR",
  BOARD_SAVE = "BOARD_SAVE",
  BOARD_RESTORE = "BOARD_RESTORE",
  ROLE_CHANGE = "ROLE_CHANGE",
  PERMISSION_UPDATE = "PERMISSION_UPDATE",
  SNAPSHOT_MANUAL = "SNAPSHOT_MANUAL",
  SNAPSHOT_AUTO = "SNAPSHOT_AUTO",
  SNAPSHOT_RESTORE = "SNAPSHOT_RESTORE",
  CHAT_MESSAGE = "CHAT_MESSAGE",
  HAND_RAISE = "HAND_RAISE",
  HAND_LOWER = "HAND_LOWER",
}
registerEnumType(SessionEventType, { name: "SessionEventType" });

/** Resolved from SessionEventEntity; `user` is a field resolver. */
@ObjectType()
export class TimelineEvent {
  @Field(() => ID) id: string;
  @Field(() => Int) seq: number;
  @Field(() => SessionEventType) type: SessionEventType;
  @Field(() => SafeIntScalar, { description: "Milliseconds since the session's actual start; 0 for events before it." })
  timestampMs: number;
  @Field(() => JSONScalar) data: Record<string, unknown>;
  @Field(() => DateTimeScalar) createdAt: Date;
}

@ObjectType()
export class TimelineEdge {
  @Field() cursor: string;
  @Field(() => TimelineEvent) node: TimelineEvent;
}

@ObjectType()
export class TimelineConnection {
  @Field(() => [TimelineEdge]) edges: TimelineEdge[];
  @Field(() => PageInfo) pageInfo: PageInfo;
  @Field(() => Int) totalCount: number;
}
