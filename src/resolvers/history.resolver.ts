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
import type { Bucket, ReportResult, SummaryResult, TimelinePage, UserActivityResult } from "../services/history.service";
import { pageInfoOf } from "../schema/page.type";
import type { RequestContext } from "./context";
import { ViewerDependent } from "../schema/viewer-dependent";

/** A service page in the shape of TimelineConnection (totalCount stays lazy). */
export function toTimelineConnection(page: TimelinePage): TimelineConnection {
  return { edges: page.nodes, pageInfo: pageInfoOf(page), count: page.count };
}

/** The recorded timeline of a session and what is computed from it (H1, H4); thin over HistoryService. */
@Resolver(() => ClassroomSession)
export class SessionHistoryResolver {
  @FieldResolver(() => TimelineConnection)
  async timeline(
    @Root() session: SessionEntity,
    @Ctx() ctx: RequestContext,
    @Arg("filter", () => TimelineFilter, { nullable: true }) filter?: TimelineFilter,
    @Arg("first", () => Int, { nullable: true }) first?: number,
    @Arg("after", () => String, { nullable: true }) after?: string,
  ): Promise<TimelineConnection> {
    const request = { sessionId: session.id, filter: filter ? { ...filter } : null, first: first ?? null, after: after ?? null };
    return toTimelineConnection(await ctx.loaders.timelinePage.load(request));
  }

  @FieldResolver(() => [TimelineBucket], { description: "At most 1000 buckets (BAD_USER_INPUT beyond), from 0 to the last event." })
  timelineBuckets(
    @Root() session: SessionEntity,
    @Arg("bucketSizeMs", () => SafeIntScalar) bucketSizeMs: number,
    @Ctx() ctx: RequestContext,
  ): Promise<Bucket[]> {
    return ctx.services.history.buckets(ctx.auth, session, bucketSizeMs);
  }

  @FieldResolver(() => TimelineStats)
  async timelineStats(@Root() session: SessionEntity, @Ctx() ctx: RequestContext): Promise<TimelineStats> {
    const { total, countsByType, firstEventMs, lastEventMs } = await ctx.loaders.eventCountsBySession.load(session.id);
    return { totalEvents: total, countsByType, firstEventMs, lastEventMs };
  }

  @FieldResolver(() => UserActivity)
  async userActivity(@Root() session: SessionEntity, @Arg("userId", () => ID) userId: string, @Ctx() ctx: RequestContext): Promise<UserActivity> {
    const { total, ...activity } = await ctx.services.history.userActivity(ctx.auth, session, userId);
    return { ...activity, eventCount: total } satisfies Omit<UserActivityResult, "total"> & { eventCount: number };
  }

  @FieldResolver(() => SessionSummary)
  summary(@Root() session: SessionEntity, @Ctx() ctx: RequestContext): Promise<SummaryResult> {
    return ctx.loaders.summaryBySession.load(session);
  }

  @FieldResolver(() => LessonReport, { nullable: true, description: "Host only: null, with a FORBIDDEN error at this path, for anyone else." })
  @ViewerDependent()
  report(@Root() session: SessionEntity, @Ctx() ctx: RequestContext): Promise<ReportResult> {
    return ctx.services.history.report(ctx.auth, session);
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
  @FieldResolver(() => User)
  async user(@Root() activity: UserActivity, @Ctx() ctx: RequestContext): Promise<UserEntity> {
    return (await ctx.loaders.userById.load(activity.userId)) as UserEntity;
  }
}

@Resolver(() => ParticipantReport)
export class ParticipantReportResolver {
  @FieldResolver(() => User)
  async user(@Root() row: ParticipantReport, @Ctx() ctx: RequestContext): Promise<UserEntity> {
    return (await ctx.loaders.userById.load(row.userId)) as UserEntity;
  }
}

@Resolver(() => SessionSummary)
export class SessionSummaryResolver {
  @FieldResolver(() => Int)
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
  @FieldResolver(() => [TimelineBucket])
  timelineBuckets(@Root() report: ReportResult, @Arg("bucketSizeMs", () => SafeIntScalar) bucketSizeMs: number, @Ctx() ctx: RequestContext): Promise<Bucket[]> {
    return ctx.services.history.buckets(ctx.auth, report.session, bucketSizeMs);
  }
}
