import { Field, ID, InputType, Int, ObjectType, registerEnumType } from "type-graphql";
import { ParticipantRole, ParticipantStatus } from "../entities/participant.entity";
import { SessionStatus, SessionType } from "../entities/session.entity";
import { PageInfo } from "./page.type";
import { DateTimeScalar, JSONScalar } from "./scalars";

registerEnumType(SessionType, { name: "SessionType" });
registerEnumType(SessionStatus, { name: "SessionStatus" });
registerEnumType(ParticipantRole, { name: "ParticipantRole" });
registerEnumType(ParticipantStatus, { name: "ParticipantStatus" });

/**
 * A classroom session. Resolved from SessionEntity: plain columns map by name; host,
 * classroom, booking, participants, accessCode and totalDurationSeconds are field resolvers
 * (SessionResolver).
 */
@ObjectType("ClassroomSession")
export class ClassroomSession {
  @Field(() => ID)
  id: string;

  @Field(() => String, { nullable: true })
  title: string | null;

  @Field(() => SessionType)
  type: SessionType;

  @Field(() => SessionStatus)
  status: SessionStatus;

  @Field(() => DateTimeScalar, { nullable: true })
  scheduledStart: Date | null;

  @Field(() => DateTimeScalar, { nullable: true })
  scheduledEnd: Date | null;

  @Field(() => DateTimeScalar, { nullable: true })
  actualStart: Date | null;

  @Field(() => DateTimeScalar, { nullable: true })
  actualEnd: Date | null;

  @Field(() => Int)
  maxParticipants: number;

  @Field({ description: "When false, replay is available to the host only; when true, to every participant." })
  isRecorded: boolean;

  @Field(() => JSONScalar)
  settings: Record<string, unknown>;

  @Field(() => DateTimeScalar, { description: "When the session was created." })
  createdAt: Date;
}

@ObjectType()
export class SessionEdge {
  @Field()
  cursor: string;

  @Field(() => ClassroomSession)
  node: ClassroomSession;
}

@ObjectType()
export class SessionConnection {
  @Field(() => [SessionEdge])
  edges: SessionEdge[];

  @Field(() => PageInfo)
  pageInfo: PageInfo;

  @Field(() => Int)
  totalCount: number;
}

@InputType()
export class SessionFilter {
  @Field(() => [SessionStatus], { nullable: true })
  statuses?: SessionStatus[];

  @Field(() => [SessionType], { nullable: true })
  types?: SessionType[];

  @Field(() => DateTimeScalar, { nullable: true })
  from?: Date;

  @Field(() => DateTimeScalar, { nullable: true })
  to?: Date;
}

/** The fields of a session that can change before it starts. */
@InputType()
export class UpdateSessionInput {
  @Field(() => String, { nullable: true })
  title?: string;

  @Field(() => DateTimeScalar, { nullable: true })
  scheduledStart?: Date;

  @Field(() => DateTimeScalar, { nullable: true })
  scheduledEnd?: Date;

  @Field(() => Int, { nullable: true })
  maxParticipants?: number;

  @Field({ nullable: true })
  isRecorded?: boolean;

  @Field(() => JSONScalar, { nullable: true })
  settings?: Record<string, unknown>;
}

/** What a session is created with: every editable field, plus its type and classroom. */
@InputType()
export class CreateSessionInput extends UpdateSessionInput {
  @Field(() => SessionType)
  type: SessionType;

  @Field(() => ID, { nullable: true })
  classroomId?: string;
}
