import { Field, ID, Int, ObjectType, registerEnumType } from "type-graphql";
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
  VIDEO_CALL_JOIN = "VIDEO_CALL_JOIN",
  VIDEO_CALL_LEAVE = "VIDEO_CALL_LEAVE",
  RECORDING_START = "RECORDING_START",
  RECORDING_STOP = "RECORDING_STOP",
  RECORDING_CONSENT = "RECORDING_CONSENT",
}
registerEnumType(SessionEventType, {
  name: "SessionEventType",
  description: "What a timeline event records.",
  valuesConfig: {
    SESSION_CREATED: { description: "The session was created (data: its status, and bookingId for a booked lesson)." },
    SESSION_START: { description: "The session became ACTIVE (startSession; the creation of a solo workspace)." },
    SESSION_PAUSE: { description: "The session was PAUSED (pauseSession)." },
    SESSION_RESUME: { description: "The session was ACTIVE again (resumeSession)." },
    SESSION_END: { description: "The session was COMPLETED: completeSession, or the expiry job (data.reason MAX_DURATION)." },
    SESSION_TERMINATE: { description: "terminateSession (data.reason: its reason), or a cancelled booking (data.reason BOOKING_CANCELLED)." },
    SESSION_EXPIRE: { description: "The expiry job ended a session that never started: EXPIRED." },
    PARTICIPANT_JOIN: { description: "A participant took a seat (joinSession, joinSessionByCode)." },
    PARTICIPANT_LEAVE: { description: "A participant left (leaveSession)." },
    PARTICIPANT_KICK: { description: "A participant was kicked (data.reason, data.by)." },
    PARTICIPANT_RECONNECT: { description: "A participant came back from RECONNECTING to CONNECTED." },
    PARTICIPANT_DISCONNECT: { description: "A participant did not come back within RECONNECT_GRACE_MS (30 s): DISCONNECTED." },
    MEDIA_AUDIO_ON: { description: "A participant turned their microphone on." },
    MEDIA_AUDIO_OFF: { description: "A microphone was turned off; data.cause when a role or permission change did it." },
    MEDIA_VIDEO_ON: { description: "A participant turned their camera on." },
    MEDIA_VIDEO_OFF: { description: "A camera was turned off; data.cause when a role or permission change did it." },
    SCREEN_SHARE_START: { description: "A participant started sharing their screen (data.source `video` when the video provider told it)." },
    SCREEN_SHARE_STOP: {
      description: "Screen sharing stopped; data.cause when the server stopped it (LEFT, DISCONNECTED, KICKED, ROLE_CHANGE, PERMISSION_UPDATE).",
    },
    VIDEO_CALL_JOIN: { description: "The video provider says a participant joined the session's call (VIDEO_PROVIDER=daily)." },
    VIDEO_CALL_LEAVE: { description: "The video provider says a participant left the call; data.callTimeSeconds is their time in it so far." },
    RECORDING_START: { description: "The video provider started recording the call (data.recordingId)." },
    RECORDING_STOP: { description: "The video provider stopped recording the call." },
    RECORDING_CONSENT: { description: "A participant answered the request to record the call: data.consent (setRecordingConsent)." },
    BOARD_STROKE: { description: "Board operation STROKE (BoardEventType); `data` is the operation's." },
    BOARD_OBJECT_CREATE: { description: "Board operation OBJECT_CREATE (BoardEventType); `data` is the operation's." },
    BOARD_OBJECT_DELETE: { description: "Board operation OBJECT_DELETE (BoardEventType); `data` is the operation's." },
    BOARD_OBJECT_MODIFY: { description: "Board operation OBJECT_MODIFY (BoardEventType); `data` is the operation's." },
    BOARD_LAYER_ADD: { description: "Board operation LAYER_ADD (BoardEventType); `data` is the operation's." },
    BOARD_LAYER_DELETE: { description: "Board operation LAYER_DELETE (BoardEventType); `data` is the operation's." },
    BOARD_LAYER_REORDER: { description: "Board operation LAYER_REORDER (BoardEventType); `data` is the operation's." },
    BOARD_UNDO: { description: "Board operation UNDO (BoardEventType); `data` is the operation's." },
    BOARD_REDO: { description: "Board operation REDO (BoardEventType); `data` is the operation's." },
    BOARD_IMAGE_UPLOAD: { description: "Board operation IMAGE_UPLOAD (BoardEventType); `data` is the operation's." },
    BOARD_TEXT_EDIT: { description: "Board operation TEXT_EDIT (BoardEventType); `data` is the operation's." },
    BOARD_CLEAR: { description: "Board operation CLEAR (BoardEventType); `data` is the operation's." },
    BOARD_SAVE: { description: "Part of the contract, not recorded by this server: saveBoard records SNAPSHOT_MANUAL." },
    BOARD_RESTORE: { description: "Board operation RESTORE: restoreSnapshot, importBoard REPLACE or createSoloSnapshot set the board." },
    ROLE_CHANGE: { description: "changeParticipantRole (data: from, to)." },
    PERMISSION_UPDATE: { description: "updateParticipantPermissions (data.grants: the participant's grants now)." },
    SNAPSHOT_MANUAL: { description: "saveBoard stored a snapshot (data: snapshotVersion, boardVersion)." },
    SNAPSHOT_AUTO: { description: "Part of the contract, not recorded by this server: automatic snapshots appear in `snapshots` only." },
    SNAPSHOT_RESTORE: { description: "restoreSnapshot (data.fromSnapshotVersion), right after its BOARD_RESTORE." },
    CHAT_MESSAGE: { description: "A chat message (sendChatMessage; data.text)." },
    HAND_RAISE: { description: "A participant raised their hand." },
    HAND_LOWER: { description: "A hand was lowered: raiseHand(false), or cleared on leave, disconnect or kick (data.cause)." },
  },
});

/** Resolved from SessionEventEntity; `user` is a field resolver. */
@ObjectType({ description: "A recorded event of a session's timeline." })
export class TimelineEvent {
  @Field(() => ID, { description: "The event's id." }) id: string;
  @Field(() => Int, { description: "Its place in the session's timeline: 1 for the first event, then one more for each, without gaps." }) seq: number;
  @Field(() => SessionEventType, { description: "What happened." }) type: SessionEventType;
  @Field(() => SafeIntScalar, { description: "Milliseconds since the session's actual start; 0 for events before it." })
  timestampMs: number;
  @Field(() => JSONScalar, { description: "What the event carries; its fields depend on the type (a board event's: the operation's data)." })
  data: Record<string, unknown>;
  @Field(() => DateTimeScalar, { description: "When it was recorded (the database's clock)." }) createdAt: Date;
}
