import { Field, ID, InputType, Int, ObjectType } from "type-graphql";
import { ParticipantRole } from "../entities/participant.entity";
import type { SessionEventEntity } from "../entities/session-event.entity";
import type { SessionEntity } from "../entities/session.entity";
import { PageInfo } from "./page.type";
import { JSONScalar, SafeIntScalar } from "./scalars";
import { ClassroomSession } from "./session.type";
import { SessionEventType, TimelineEvent } from "./timeline.type";

/** History read side (H1, H4): timeline pages, buckets, stats, activity, summary, report. */

@ObjectType({ description: "One event of a TimelineConnection page." })
export class TimelineEdge {
  @Field({ description: "Opaque; valid as `after` for this session's timeline only." })
  cursor: string;

  @Field(() => TimelineEvent, { description: "The event." })
  node: SessionEventEntity;
}

/** `totalCount` is a field resolver (HistoryResolver): counted only when asked for. */
@ObjectType({ description: "A page of a session's timeline events, in seq order." })
export class TimelineConnection {
  @Field(() => [TimelineEdge], { description: "The events of this page." })
  edges: TimelineEdge[];

  @Field(() => PageInfo, { description: "Where this page is in the timeline." })
  pageInfo: PageInfo;

  /** Counts every event matching the page's filter (not only this page); access already checked. */
  count: () => Promise<number>;
}

@InputType({ description: "Events matching all given criteria; fromMs <= timestampMs < toMs." })
export class TimelineFilter {
  @Field(() => [SessionEventType], { nullable: true, description: "Only events of these types; empty or omitted: every type." })
  types?: SessionEventType[] | null;

  @Field(() => SafeIntScalar, { nullable: true, description: "Only events at or after this timestampMs (inclusive); 0 or more." })
  fromMs?: number | null;

  @Field(() => SafeIntScalar, { nullable: true, description: "Only events before this timestampMs (exclusive); not below fromMs." })
  toMs?: number | null;

  @Field(() => ID, { nullable: true, description: "Only this user's events (BAD_USER_INPUT for a malformed id)." })
  userId?: string | null;
}

@ObjectType({ description: "Events with startMs <= timestampMs < endMs." })
export class TimelineBucket {
  @Field(() => SafeIntScalar, { description: "Where the bucket starts, in ms since the session's actual start (inclusive)." }) startMs: number;
  @Field(() => SafeIntScalar, { description: "Where it ends (exclusive): startMs + bucketSizeMs." }) endMs: number;
  @Field(() => Int, { description: "Events in the bucket." }) count: number;
  @Field(() => JSONScalar, { description: "Event type → count; types with no event are left out." })
  countsByType: Record<string, number>;
}

@ObjectType({ description: "Counts over a session's whole timeline." })
export class TimelineStats {
  @Field(() => Int, { description: "Every event recorded." }) totalEvents: number;
  @Field(() => JSONScalar, { description: "Event type → count; types with no event are left out." }) countsByType: Record<string, number>;
  @Field(() => SafeIntScalar, { nullable: true, description: "timestampMs of the first event; null without events." }) firstEventMs: number | null;
  @Field(() => SafeIntScalar, { nullable: true, description: "timestampMs of the last event; null without events." }) lastEventMs: number | null;
}

/** `user` is a field resolver over userId. */
@ObjectType({ description: "What one user did in a session." })
export class UserActivity {
  userId: string;
  @Field(() => Int, { description: "Their timeline events." }) eventCount: number;
  @Field(() => JSONScalar, { description: "Their events by type (type → count); types with no event are left out." }) countsByType: Record<string, number>;
  @Field(() => SafeIntScalar, { nullable: true, description: "timestampMs of their first event; null without one." }) firstEventMs: number | null;
  @Field(() => SafeIntScalar, { nullable: true, description: "timestampMs of their last event; null without one." }) lastEventMs: number | null;
  @Field(() => Int, { description: "Seconds spent CONNECTED (participant status), the running interval included." })
  activeTimeSeconds: number;
}

/** `finalBoard` and `snapshotCount` are field resolvers. */
@ObjectType({ description: "A session at a glance, for anyone who can read it." })
export class SessionSummary {
  @Field(() => ClassroomSession, { description: "The session." }) session: SessionEntity;
  @Field(() => Int, { description: "ACTIVE time, pauses excluded." }) durationSeconds: number;
  @Field(() => Int, { description: "Users who joined at least once (the host too, if they did)." }) participantCount: number;
  @Field(() => Int, { description: "Accepted board operations (events with a board version)." }) boardEventCount: number;
}

/** `user` is a field resolver over userId. */
@ObjectType({ description: "One participant's attendance, in a lesson report." })
export class ParticipantReport {
  userId: string;
  @Field(() => ParticipantRole, { description: "Their role now." }) role: ParticipantRole;
  @Field(() => Int, { description: "Seconds spent CONNECTED, the running interval included." }) totalTimeSeconds: number;
  @Field(() => Int, { description: "Seconds in the video provider's call (VIDEO_PROVIDER=daily), the running interval included; 0 with p2p." })
  callTimeSeconds: number;
  @Field(() => Int, { description: "How often they joined." }) joinCount: number;
  @Field(() => Int, { description: "How often they came back from RECONNECTING." }) reconnectCount: number;
  @Field(() => Int, { description: "Board operations of theirs that were accepted." }) boardEventCount: number;
  @Field(() => Int, { description: "Chat messages they sent." }) chatMessageCount: number;
  @Field(() => Int, { nullable: true, description: "Not measured by this server: always null." })
  speakingTimeSeconds: number | null;
  @Field(() => JSONScalar, {
    description:
      "Seconds spent at each connectionQuality level they reported (level → seconds), sampled at most once every 10 s; each level lasts until their next report, the last until the session's end.",
  })
  connectionQualitySeconds: Record<string, number>;
}

/** `timelineBuckets` is a field resolver. */
@ObjectType({ description: "The lesson report: duration, attendance and event counts. For the host and admins only." })
export class LessonReport {
  @Field(() => ClassroomSession, { description: "The session." }) session: SessionEntity;
  @Field(() => Int, { description: "ACTIVE time, pauses excluded." }) durationSeconds: number;
  @Field(() => [ParticipantReport], { description: "Every participant, in the order they were added." }) attendance: ParticipantReport[];
  @Field(() => JSONScalar, { description: "Event type → count over the whole timeline; types with no event are left out." })
  eventCountsByType: Record<string, number>;
  @Field(() => JSONScalar, { description: "Signal type → how many were relayed (sendSignal); the signals themselves are not recorded." })
  signalCountsByType: Record<string, number>;
}
