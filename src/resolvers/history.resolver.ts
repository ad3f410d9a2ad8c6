import { Arg, Ctx, FieldResolver, ID, Int, Resolver, Root } from "type-graphql";
import type { SessionEntity } from "../entities/session.entity";
import type { UserEntity } from "../entities/user.entity";
import { BoardState } from "../schema/board.type";
import {
  LessonReport,
  ParticipantReport,
  SessionSummary,
  TimelineBucket,
  TimelineConnection,
  TimelineFilter,
  TimelineStats,
  UserActivity,
} from "../schema/history.type";
import { SafeIntScalar } from "../schema/scalars";
import { ClassroomSession } from "../schema/session.type";
import { User } from "../schema/user.type";
import type { Bucket, SummaryResult, TimelinePage, UserActivityResult } from "../services/history.service";
import type { ReportResult } from "../services/report.service";
import { pageInfoOf } from "../schema/page.type";
import type { RequestContext } from "./context";
import { ViewerDependent } from "../schema/viewer-dependent";
import { AFTER_ARG, FIRST_ARG } from "../schema/descriptions";

const BUCKET_SIZE_ARG = "The width of each bucket in milliseconds, 1 or more (BAD_USER_INPUT otherwise).";

/** A service page in the shape of TimelineConnection (totalCount stays lazy). */
export function toTimelineConnection(page: TimelinePage): TimelineConnection {
  return { edges: page.nodes, pageInfo: pageInfoOf(page), count: page.count };
}

/** The recorded timeline of a session and what is computed from it (H1, H4); thin over HistoryService. */
@Resolver(() => ClassroomSession)
export class SessionHistoryResolver {
  @FieldResolver(() => TimelineConnection, {
    description:
      "The session's recorded events in seq order, a page at a time, for anyone who can read the session (whatever isRecorded says). BAD_USER_INPUT for a page over 100, a forged cursor or another session's, negative or reversed times, a malformed userId.",
  })
  async timeline(
    @Root() session: SessionEntity,
    @Ctx() ctx: RequestContext,
    @Arg("filter", () => TimelineFilter, { nullable: true, description: "Only the events matching it." }) filter?: TimelineFilter,
    @Arg("first", () => Int, { nullable: true, description: FIRST_ARG }) first?: number,
    @Arg("after", () => String, { nullable: true, description: AFTER_ARG }) after?: string,
  ): Promise<TimelineConnection> {
    const request = { sessionId: session.id, filter: filter ? { ...filter } : null, first: first ?? null, after: after ?? null };
    return toTimelineConnection(await ctx.loaders.timelinePage.load(request));
  }

  @FieldResolver(() => [TimelineBucket], {
    description: "At most 1000 buckets (BAD_USER_INPUT beyond), from 0 to the last event; none without events. MAX_TIMELINE_BUCKETS sets the limit.",
  })
  timelineBuckets(
    @Root() session: SessionEntity,
    @Arg("bucketSizeMs", () => SafeIntScalar, { description: BUCKET_SIZE_ARG }) bucketSizeMs: number,
    @Ctx() ctx: RequestContext,
  ): Promise<Bucket[]> {
    return ctx.services.history.buckets(ctx.auth, session, bucketSizeMs);
  }

  @FieldResolver(() => TimelineStats, { description: "Counts over the whole timeline." })
  async timelineStats(@Root() session: SessionEntity, @Ctx() ctx: RequestContext): Promise<TimelineStats> {
    const { total, countsByType, firstEventMs, lastEventMs } = await ctx.loaders.eventCountsBySession.load(session.id);
    return { totalEvents: total, countsByType, firstEventMs, lastEventMs };
  }

  @FieldResolver(() => UserActivity, {
    description: "What one user did in the session: event counts and CONNECTED time. BAD_USER_INPUT unless they are its host or a participant.",
  })
  async userActivity(
    @Root() session: SessionEntity,
    @Arg("userId", () => ID, { description: "The host's or a participant's user id." }) userId: string,
    @Ctx() ctx: RequestContext,
  ): Promise<UserActivity> {
    const { total, ...activity } = await ctx.services.history.userActivity(ctx.auth, session, userId);
    return { ...activity, eventCount: total } satisfies Omit<UserActivityResult, "total"> & { eventCount: number };
  }

  @FieldResolver(() => SessionSummary, { description: "The session at a glance: duration, participants, board operations, snapshots and final board." })
  summary(@Root() session: SessionEntity, @Ctx() ctx: RequestContext): Promise<SummaryResult> {
    return ctx.loaders.summaryBySession.load(session);
  }

  @FieldResolver(() => LessonReport, {
    nullable: true,
    description: "Host (and admins) only: null, with a FORBIDDEN error at this path, for anyone else.",
  })
  @ViewerDependent()
  report(@Root() session: SessionEntity, @Ctx() ctx: RequestContext): Promise<ReportResult> {
    return ctx.services.reports.report(ctx.auth, session);
  }
}

@Resolver(() => TimelineConnection)
export class TimelineConnectionResolver {
  @FieldResolver(() => Int, { description: "Events matching the filter, on every page." })
  totalCount(@Root() connection: TimelineConnection): Promise<number> {
    return connection.count();
  }
}

@Resolver(() => UserActivity)
export class UserActivityResolver {
  @FieldResolver(() => User, { description: "The user." })
  async user(@Root() activity: UserActivity, @Ctx() ctx: RequestContext): Promise<UserEntity> {
    return (await ctx.loaders.userById.load(activity.userId)) as UserEntity;
  }
}

@Resolver(() => ParticipantReport)
export class ParticipantReportResolver {
  @FieldResolver(() => User, { description: "The participant's user." })
  async user(@Root() row: ParticipantReport, @Ctx() ctx: RequestContext): Promise<UserEntity> {
    return (await ctx.loaders.userById.load(row.userId)) as UserEntity;
  }
}

@Resolver(() => SessionSummary)
export class SessionSummaryResolver {
  @FieldResolver(() => Int, { description: "Stored board snapshots of the session." })
  snapshotCount(@Root() summary: SummaryResult, @Ctx() ctx: RequestContext): Promise<number> {
    return ctx.loaders.snapshotCountBySession.load(summary.session.id);
  }

  @FieldResolver(() => BoardState, { description: "The board after every accepted board event." })
  async finalBoard(@Root() summary: SummaryResult, @Ctx() ctx: RequestContext) {
    const { board, lastSeq } = await ctx.services.board.read(summary.session);
    return { ...board, lastSeq };
  }
}

@Resolver(() => LessonReport)
export class LessonReportResolver {
  @FieldResolver(() => [TimelineBucket], { description: "The session's timeline in buckets, like ClassroomSession.timelineBuckets (at most 1000)." })
  timelineBuckets(
    @Root() report: ReportResult,
    @Arg("bucketSizeMs", () => SafeIntScalar, { description: BUCKET_SIZE_ARG }) bucketSizeMs: number,
    @Ctx() ctx: RequestContext,
  ): Promise<Bucket[]> {
    return ctx.services.history.buckets(ctx.auth, report.session, bucketSizeMs);
  }
}
