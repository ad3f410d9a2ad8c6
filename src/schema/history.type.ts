import { Field, ID, InputType, Int, ObjectType } from "type-graphql";
import { ParticipantRole } from "../entities/participant.entity";
import type { SessionEventEntity } from "../entities/session-event.entity";
import type { SessionEntity } from "../entities/session.entity";
import { PageInfo } from "./page.type";
import { JSONScalar, SafeIntScalar } from "./scalars";
import { ClassroomSession } from "./session.type";
import { SessionEventType, TimelineEvent } from "./timeline.type";

/** History read side (H1, H4): timeline pages, buckets, stats, activity, summary, report. */

@ObjectType()
export class TimelineEdge {
  @Field({ description: "Opaque; valid as `after` for this session's timeline only." })
  cursor: string;

  @Field(() => TimelineEvent)
  node: SessionEventEntity;
}

/** `totalCount` is a field resolver (HistoryResolver): counted only when asked for. */
@ObjectType()
export class TimelineConnection {
  @Field(() => [TimelineEdge])
  edges: TimelineEdge[];

  @Field(() => PageInfo)
  pageInfo: PageInfo;

  /** Counts every event matching the page's filter (not only this page); access already checked. */
  count: () => Promise<number>;
}

@InputType({ description: "Events matching all given criteria; fromMs <= timestampMs < toMs." })
export class TimelineFilter {
  @Field(() => [SessionEventType], { nullable: true, description: "Empty or omitted: every type." })
  types?: SessionEventType[] | null;

  @Field(() => SafeIntScalar, { nullable: true, description: "Inclusive." })
  fromMs?: number | null;

  @Field(() => SafeIntScalar, { nullable: true, description: "Exclusive." })
  toMs?: number | null;

  @Field(() => ID, { nullable: true })
  userId?: string | null;
}

@ObjectType({ description: "Events with startMs <= timestampMs < endMs." })
export class TimelineBucket {
  @Field(() => SafeIntScalar) startMs: number;
  @Field(() => SafeIntScalar) endMs: number;
  @Field(() => Int) count: number;
  @Field(() => JSONScalar, { description: "Event type → count; types with no event are left out." })
  countsByType: Record<string, number>;
}

@ObjectType()
export class TimelineStats {
  @Field(() => Int) totalEvents: number;
  @Field(() => JSONScalar) countsByType: Record<string, number>;
  @Field(() => SafeIntScalar, { nullable: true }) firstEventMs: number | null;
  @Field(() => SafeIntScalar, { nullable: true }) lastEventMs: number | null;
}

/** `user` is a field resolver over userId. */
@ObjectType()
export class UserActivity {
  userId: string;
  @Field(() => Int) eventCount: number;
  @Field(() => JSONScalar) countsByType: Record<string, number>;
  @Field(() => SafeIntScalar, { nullable: true }) firstEventMs: number | null;
  @Field(() => SafeIntScalar, { nullable: true }) lastEventMs: number | null;
  @Field(() => Int, { description: 'Seconds spent CONNECTED (RULES.md "Participants"), the running interval included.' })
  activeTimeSeconds: number;
}

/** `finalBoard` and `snapshotCount` are field resolvers. */
@ObjectType()
export class SessionSummary {
  @Field(() => ClassroomSession) session: SessionEntity;
  @Field(() => Int, { description: "ACTIVE time, pauses excluded." }) durationSeconds: number;
  @Field(() => Int, { description: "Users who joined at least once, the host included." }) participantCount: number;
  @Field(() => Int, { description: "Accepted board operations (events with a board version)." }) boardEventCount: number;
}

/** `user` is a field resolver over userId. */
@ObjectType()
export class ParticipantReport {
  userId: string;
  @Field(() => ParticipantRole) role: ParticipantRole;
  @Field(() => Int, { description: "Seconds spent CONNECTED, the running interval included." }) totalTimeSeconds: number;
  @Field(() => Int) joinCount: number;
  @Field(() => Int) reconnectCount: number;
  @Field(() => Int) boardEventCount: number;
  @Field(() => Int) chatMessageCount: number;
  @Field(() => Int, { nullable: true, description: "Not measured by this server: always null." })
  speakingTimeSeconds: number | null;
}

/** `timelineBuckets` is a field resolver. */
@ObjectType()
export class LessonReport {
  @Field(() => ClassroomSession) session: SessionEntity;
  @Field(() => Int) durationSeconds: number;
  @Field(() => [ParticipantReport]) attendance: ParticipantReport[];
  @Field(() => JSONScalar) eventCountsByType: Record<string, number>;
}
