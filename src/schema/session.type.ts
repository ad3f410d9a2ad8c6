import { Field, ID, InputType, Int, ObjectType, registerEnumType } from "type-graphql";
import { ParticipantRole, ParticipantStatus } from "../entities/participant.entity";
import { SessionStatus, SessionType } from "../entities/session.entity";
import { TOTAL_COUNT, EDGE_CURSOR } from "./descriptions";
import { PageInfo } from "./page.type";
import { DateTimeScalar, JSONScalar } from "./scalars";

registerEnumType(SessionType, {
  name: "SessionType",
  description: "What kind of session it is.",
  valuesConfig: {
    LESSON: { description: "A lesson; confirmed bookings create these. The server treats LESSON, GROUP and DEMO alike." },
    GROUP: { description: "A group session; a label for clients, treated like LESSON." },
    DEMO: { description: "A demonstration; a label for clients, treated like LESSON." },
    SOLO: {
      description:
        "A one-person workspace (createSoloSession): ACTIVE from creation, its owner the only participant (role SOLO), no access code; its snapshots count against the owner's storage quota.",
    },
  },
});
registerEnumType(SessionStatus, {
  name: "SessionStatus",
  description: "Where a session is in its lifecycle. An action its status does not allow answers INVALID_STATE.",
  valuesConfig: {
    SCHEDULED: { description: "Created with a scheduledStart (a confirmed booking's lesson too): joinable; the host joining opens it (WAITING)." },
    WAITING: { description: "Open and joinable before the lesson starts; startSession makes it ACTIVE. Chat and raised hands work." },
    ACTIVE: { description: "Under way: board writes, cursors and signals are accepted only now." },
    PAUSED: { description: "Paused (pauseSession): chat, raised hands and saveBoard still work; resumeSession makes it ACTIVE again." },
    COMPLETED: {
      description: "Ended by completeSession, or by the expiry job SESSION_MAX_DURATION (4 h) after it started (solo workspaces excepted). Final.",
    },
    TERMINATED: { description: "Ended early by terminateSession, or by cancelling its booking before it started. Final." },
    EXPIRED: {
      description:
        "Never started: ended by the expiry job EXPIRY_GRACE_MS (15 min) after its scheduledEnd or, WAITING without one, SESSION_MAX_DURATION (4 h) after creation. Final.",
    },
  },
});
registerEnumType(ParticipantRole, {
  name: "ParticipantRole",
  description: "A participant's role in one session; its default permissions are `rolePermissions(role)`, which per-participant grants overlay.",
  valuesConfig: {
    HOST: { description: "The session's creator: every permission; cannot be kicked, nor have their role or permissions changed." },
    STUDENT: { description: "Draws, erases, adds layers and images, exports, and may turn on audio, video and screen sharing." },
    VIEWER: { description: "Watches: may export, chat and raise a hand, nothing more by default." },
    SOLO: { description: "The owner of a solo workspace: every board and media permission, none over other participants." },
  },
});
registerEnumType(ParticipantStatus, {
  name: "ParticipantStatus",
  description: "Where a participant is in a session. JOINING, CONNECTED and RECONNECTING hold a seat; participant actions and board writes need one.",
  valuesConfig: {
    INVITED: { description: "Expected but not joined yet (a confirmed booking's student, a host who has not joined): no seat until joinSession." },
    JOINING: { description: "Joined (a seat taken); their realtime connection has not subscribed to the session yet." },
    CONNECTED: { description: "Seated, with a realtime subscription to the session open." },
    RECONNECTING: { description: "Seated, but the realtime connection was lost; DISCONNECTED after RECONNECT_GRACE_MS (30 s) without coming back." },
    DISCONNECTED: { description: "Did not come back in time: the seat is free; joinSession again to continue." },
    LEFT: { description: "Left (leaveSession), or the session ended while seated: the seat is free." },
    KICKED: { description: "Removed by kickParticipant: no access to the session any more, whatever else would grant it." },
  },
});

/**
 * A classroom session. Resolved from SessionEntity: plain columns map by name; host,
 * classroom, booking, participants, accessCode and totalDurationSeconds are field resolvers
 * (SessionResolver).
 */
@ObjectType("ClassroomSession", {
  description:
    "A lesson, group session, demo or solo workspace: its lifecycle, participants, whiteboard and recorded history. Readable by its host, its participants (any status but KICKED), its classroom's tutor and members, and admins.",
})
export class ClassroomSession {
  @Field(() => ID, { description: "The session's id: the `id` or `sessionId` of every operation on it." })
  id: string;

  @Field(() => String, { nullable: true, description: "At most 200 characters; null when none was given." })
  title: string | null;

  @Field(() => SessionType, { description: "What kind of session it is." })
  type: SessionType;

  @Field(() => SessionStatus, { description: "Where the session is in its lifecycle." })
  status: SessionStatus;

  @Field(() => DateTimeScalar, { nullable: true, description: "The planned start; null for a session opened without one." })
  scheduledStart: Date | null;

  @Field(() => DateTimeScalar, {
    nullable: true,
    description: "The planned end; a session that has not started by then expires EXPIRY_GRACE_MS (15 min) later.",
  })
  scheduledEnd: Date | null;

  @Field(() => DateTimeScalar, { nullable: true, description: "When it became ACTIVE (startSession; creation for a solo workspace); null before." })
  actualStart: Date | null;

  @Field(() => DateTimeScalar, { nullable: true, description: "When it was completed, terminated or expired; null before." })
  actualEnd: Date | null;

  @Field(() => Int, {
    description:
      "Seats: participants JOINING, CONNECTED or RECONNECTING, the host included (1 to 500, default 10). A join beyond answers CONFLICT with `extensions.reason` SESSION_FULL.",
  })
  maxParticipants: number;

  @Field({ description: "When false, replay is available to the host (and admins) only; when true, to everyone who can read the session." })
  isRecorded: boolean;

  @Field(() => JSONScalar, { description: "The clients' own settings: a JSON object of at most 16 KiB, stored as given, not interpreted by the server." })
  settings: Record<string, unknown>;

  @Field(() => DateTimeScalar, { description: "When the session was created." })
  createdAt: Date;
}

@ObjectType({ description: "One session of a SessionConnection page." })
export class SessionEdge {
  @Field({ description: EDGE_CURSOR })
  cursor: string;

  @Field(() => ClassroomSession, { description: "The session." })
  node: ClassroomSession;
}

@ObjectType({ description: "A page of sessions, newest first (by creation time)." })
export class SessionConnection {
  @Field(() => [SessionEdge], { description: "The sessions of this page." })
  edges: SessionEdge[];

  @Field(() => PageInfo, { description: "Where this page is in the list." })
  pageInfo: PageInfo;

  @Field(() => Int, { description: TOTAL_COUNT })
  totalCount: number;
}

@InputType({ description: "Narrows mySessions: every criterion is optional, and a session must match all those given." })
export class SessionFilter {
  @Field(() => [SessionStatus], { nullable: true, description: "Only sessions in one of these statuses; omitted or empty: any." })
  statuses?: SessionStatus[];

  @Field(() => [SessionType], { nullable: true, description: "Only sessions of one of these types; omitted or empty: any." })
  types?: SessionType[];

  @Field(() => DateTimeScalar, { nullable: true, description: "Only sessions whose scheduledStart (createdAt when unscheduled) is at or after this instant." })
  from?: Date;

  @Field(() => DateTimeScalar, {
    nullable: true,
    description: "Only sessions whose scheduledStart (createdAt when unscheduled) is before this instant (exclusive).",
  })
  to?: Date;
}

/** The fields of a session that can change before it starts. */
@InputType({ description: "The fields of a session that can change before it starts (updateSession); omitted ones stay as they are." })
export class UpdateSessionInput {
  @Field(() => String, { nullable: true, description: "At most 200 characters; blank means none." })
  title?: string;

  @Field(() => DateTimeScalar, {
    nullable: true,
    description: "The planned start: a session created with one is SCHEDULED, else WAITING; set to null on a SCHEDULED session, it becomes WAITING.",
  })
  scheduledStart?: Date;

  @Field(() => DateTimeScalar, { nullable: true, description: "The planned end: needs a scheduledStart and must be after it (BAD_USER_INPUT otherwise)." })
  scheduledEnd?: Date;

  @Field(() => Int, { nullable: true, description: "Seats, 1 to 500 (10 when never set); never below the seats already taken (BAD_USER_INPUT)." })
  maxParticipants?: number;

  @Field({ nullable: true, description: "Whether every reader may replay the session (true, the default) or its host only." })
  isRecorded?: boolean;

  @Field(() => JSONScalar, { nullable: true, description: "A JSON object of at most 16 KiB for the clients' own use (BAD_USER_INPUT otherwise)." })
  settings?: Record<string, unknown>;
}

/** What a session is created with: every editable field, plus its type and classroom. */
@InputType({ description: "A new session (createSession): its type and classroom, and the editable fields; omitted ones take their defaults." })
export class CreateSessionInput extends UpdateSessionInput {
  @Field(() => SessionType, { description: "LESSON, GROUP or DEMO; SOLO is BAD_USER_INPUT here (use createSoloSession)." })
  type: SessionType;

  @Field(() => ID, {
    nullable: true,
    description:
      "Schedules it in a classroom you tutor (or any, as an admin), so its members can reach it. NOT_FOUND for a classroom you cannot see, FORBIDDEN for a member.",
  })
  classroomId?: string;
}
