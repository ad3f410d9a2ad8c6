import DataLoader from "dataloader";
import type { DataSource } from "typeorm";
import { isUuid, type AccessPolicy } from "../auth/access";
import type { AuthContext } from "../auth/auth-context";
import type { SessionEventEntity } from "../entities/session-event.entity";
import type { SessionEntity } from "../entities/session.entity";
import { invalidInput, notFound } from "../domain/errors";
import { pageSize, type Page } from "./pagination";
import { connectedTimeSeconds } from "./seats";
import { activeDurationSeconds } from "./session-lifecycle";
import {
  checkFilter,
  countMatching,
  decodeTimelineCursor,
  readPages,
  timelineCursor,
  toCounts,
  type CheckedFilter,
  type EventCounts,
  type TimelineFilterInput,
} from "./timeline-query";

export type { EventCounts, TimelineFilterInput } from "./timeline-query";

/** What history is configured with (src/config.ts). */
export interface HistoryLimits {
  /** MAX_PAGE_SIZE: the largest `first` of a timeline page. */
  maxPageSize: number;
  /** MAX_TIMELINE_BUCKETS: buckets per timelineBuckets call or report (1000; BAD_USER_INPUT beyond). */
  maxTimelineBuckets: number;
}

/** One timeline page asked for: `first` and `after` as the client gave them. */
export interface TimelineRequest {
  sessionId: string;
  filter?: TimelineFilterInput | null;
  first?: number | null;
  after?: string | null;
}

/** A timeline page; `count` counts every event matching the filter, lazily (access already checked). */
export interface TimelinePage extends Omit<Page<SessionEventEntity>, "totalCount"> {
  count: () => Promise<number>;
}

/** Event counts of one session (or of one user in it), from one GROUP BY. */
export interface Bucket {
  startMs: number;
  endMs: number;
  count: number;
  countsByType: Record<string, number>;
}

export interface UserActivityResult extends EventCounts {
  userId: string;
  activeTimeSeconds: number;
}

export interface SummaryResult {
  session: SessionEntity;
  durationSeconds: number;
  participantCount: number;
  boardEventCount: number;
}

/** How many snapshots each session holds; provided by the snapshot feature (H2). */
export interface SnapshotCounter {
  countBySession(sessionIds: readonly string[]): Promise<number[]>;
}

/**
 * The read side of the recorded timeline (H1, H4). Every number is a SQL aggregate and every
 * page a keyset scan on (session_id, seq) that never reads the events before its cursor: no
 * event is loaded into memory but those a page returns, and the number of statements of a
 * call does not grow with the number of events. Reading needs read access to the session (RULES.md: anyone
 * with access, whatever isRecorded says; isRecorded restricts replay only); the report
 * report is ReportService\'s. Authorization is decided in src/auth.
 */
export class HistoryService {
  constructor(
    private readonly db: DataSource,
    private readonly access: AccessPolicy,
    private readonly snapshots: SnapshotCounter,
    private readonly limits: HistoryLimits,
  ) {}

  /**
   * One page of the session's timeline in seq order, filtered. `first`: default 20, at most
   * 100 (BAD_USER_INPUT beyond). `after`: a cursor from a page of this session's timeline;
   * a cursor of another session, or a forged one, is BAD_USER_INPUT.
   */
  async timeline(auth: AuthContext, request: TimelineRequest): Promise<TimelinePage> {
    const [page] = await this.timelinePages(auth, [request]);
    if (page instanceof Error) throw page;
    return page;
  }

  /**
   * Pages of several timelines (a DataLoader's batch), in the order asked, each as timeline()
   * answers it or its error: one access check for the batch, one keyset statement per
   * distinct (filter, first), and the pages' totalCounts, when asked for, counted together.
   */
  async timelinePages(auth: AuthContext, requests: readonly TimelineRequest[], known?: ReadonlySet<string>): Promise<Array<TimelinePage | Error>> {
    const readable = await this.readable(auth, [...new Set(requests.map((r) => r.sessionId))], known);
    // Access is checked above, so counts need no check of their own; batched per call.
    const counter = new DataLoader<{ sessionId: string; filter: CheckedFilter }, number, string>((keys) => this.countAll(keys), {
      cacheKeyFn: (key) => JSON.stringify([key.sessionId, key.filter]),
    });
    const groups = new Map<string, Array<{ index: number; sessionId: string; afterSeq: number }>>();
    const results: Array<TimelinePage | Error> = requests.map((request, index) => {
      try {
        if (!readable.has(request.sessionId)) throw notFound("Session");
        const filter = checkFilter(request.filter ?? {});
        const limit = pageSize(request.first, this.limits.maxPageSize);
        const afterSeq = request.after ? decodeTimelineCursor(request.after, request.sessionId) : 0;
        const key = JSON.stringify([filter, limit]);
        groups.set(key, [...(groups.get(key) ?? []), { index, sessionId: request.sessionId, afterSeq }]);
        return {
          nodes: [],
          hasNextPage: false,
          hasPreviousPage: afterSeq > 0,
          count: () => counter.load({ sessionId: request.sessionId, filter }),
        };
      } catch (error) {
        return error as Error;
      }
    });
    for (const [key, group] of groups) {
      const [filter, limit] = JSON.parse(key) as [CheckedFilter, number];
      if (limit === 0) continue;
      const pages = await readPages(this.db, filter, limit + 1, group);
      group.forEach(({ index, sessionId }, i) => {
        const page = results[index] as TimelinePage;
        page.nodes = pages[i].slice(0, limit).map((node) => ({ node, cursor: timelineCursor(sessionId, node.seq) }));
        page.hasNextPage = pages[i].length > limit;
      });
    }
    return results;
  }

  /**
   * Buckets of `bucketSizeMs` from 0 to the session's last event (none without events), each
   * with its count and counts by type, grouped in SQL. More than MAX_TIMELINE_BUCKETS (1000): BAD_USER_INPUT.
   */
  async buckets(auth: AuthContext, session: SessionEntity, bucketSizeMs: number): Promise<Bucket[]> {
    await this.requireReadable(auth, session.id);
    return this.bucketsOf(session.id, bucketSizeMs);
  }

  /**
   * Event counts per session, in the order asked (one statement for any number of sessions);
   * a NOT_FOUND error in the place of a session the user may not read.
   */
  async countsBySession(auth: AuthContext, sessionIds: readonly string[]): Promise<Array<EventCounts | Error>> {
    const readable = await this.readable(auth, sessionIds);
    const rows: Array<{ session_id: string; type: string; n: number; first: number; last: number }> = await this.db.query(
      `SELECT session_id, type, count(*)::int AS n, min(timestamp_ms)::float8 AS first, max(timestamp_ms)::float8 AS last
         FROM session_events WHERE session_id = ANY($1::uuid[])
        GROUP BY session_id, type`,
      [[...readable]],
    );
    return sessionIds.map((id) => (readable.has(id) ? toCounts(rows.filter((r) => r.session_id === id)) : notFound("Session")));
  }

  /**
   * What `userId` did in the session: event counts and CONNECTED time. The user must be the
   * host or a participant (BAD_USER_INPUT otherwise, RULES.md "Errors").
   */
  async userActivity(auth: AuthContext, session: SessionEntity, userId: string): Promise<UserActivityResult> {
    await this.requireReadable(auth, session.id);
    if (!isUuid(userId)) throw invalidInput("userId is not a valid id.", { field: "userId" });
    const [participant] = (await this.db.query(`SELECT connected_seconds, connected_since FROM session_participants WHERE session_id = $1 AND user_id = $2`, [
      session.id,
      userId,
    ])) as Array<{ connected_seconds: number; connected_since: Date | string | null }>;
    if (!participant && userId !== session.hostId) throw invalidInput("That user is not a participant of this session.", { field: "userId" });
    const rows: Array<{ type: string; n: number; first: number; last: number }> = await this.db.query(
      `SELECT type, count(*)::int AS n, min(timestamp_ms)::float8 AS first, max(timestamp_ms)::float8 AS last
         FROM session_events WHERE session_id = $1 AND user_id = $2
        GROUP BY type`,
      [session.id, userId],
    );
    const activeTimeSeconds = participant ? connectedTimeSeconds(participant.connected_seconds, participant.connected_since) : 0;
    return { userId, ...toCounts(rows), activeTimeSeconds };
  }

  /** Summaries of `sessions`, in the order given (one statement for any number of sessions); NOT_FOUND in the place of an unreadable one. */
  async summaries(auth: AuthContext, sessions: readonly SessionEntity[]): Promise<Array<SummaryResult | Error>> {
    const readable = await this.readable(
      auth,
      sessions.map((s) => s.id),
    );
    const ids = [...readable];
    const rows: Array<{ id: string; participants: number; board_events: number }> = await this.db.query(
      `SELECT s.id,
              (SELECT count(*)::int FROM session_participants p WHERE p.session_id = s.id AND p.join_count > 0) AS participants,
              (SELECT count(*)::int FROM session_events e WHERE e.session_id = s.id AND e.board_version IS NOT NULL) AS board_events
         FROM classroom_sessions s WHERE s.id = ANY($1::uuid[])`,
      [ids],
    );
    const byId = new Map(rows.map((r) => [r.id, r]));
    return sessions.map((session) =>
      readable.has(session.id)
        ? {
            session,
            durationSeconds: activeDurationSeconds(session),
            participantCount: byId.get(session.id)?.participants ?? 0,
            boardEventCount: byId.get(session.id)?.board_events ?? 0,
          }
        : notFound("Session"),
    );
  }

  /** Snapshot counts per session, in the order asked; NOT_FOUND in the place of an unreadable one. */
  async snapshotCounts(auth: AuthContext, sessionIds: readonly string[]): Promise<Array<number | Error>> {
    const readable = await this.readable(auth, sessionIds);
    const ids = sessionIds.filter((id) => readable.has(id));
    const counts = new Map((await this.snapshots.countBySession(ids)).map((n, i) => [ids[i], n]));
    return sessionIds.map((id) => counts.get(id) ?? notFound("Session"));
  }

  /** Read access to the session, decided by AccessPolicy; NOT_FOUND otherwise. */
  private async requireReadable(auth: AuthContext, sessionId: string): Promise<void> {
    if (!(await this.readable(auth, [sessionId])).has(sessionId)) throw notFound("Session");
  }

  /**
   * Which of `sessionIds` the viewer may read (AccessPolicy, one query for the batch); a session
   * token reads its own session only. `known`: sessions the access policy already
   * found readable for the same viewer in the same request (RequestContext.readableSessions),
   * not asked again.
   */
  private async readable(auth: AuthContext, sessionIds: readonly string[], known?: ReadonlySet<string>): Promise<Set<string>> {
    const unknown = known ? sessionIds.filter((id) => !known.has(id)) : sessionIds;
    const found = known ? new Set(sessionIds.filter((id) => known.has(id))) : new Set<string>();
    if (unknown.length === 0) return found;
    const actorId = unknown.length === 1 ? auth.requireUserIdFor(unknown[0]) : auth.requireUserId();
    for (const id of await this.access.readableSessionIds(actorId, unknown)) found.add(id);
    return found;
  }

  private async countAll(keys: ReadonlyArray<{ sessionId: string; filter: CheckedFilter }>): Promise<number[]> {
    const byFilter = new Map<string, number[]>();
    keys.forEach((key, i) => byFilter.set(JSON.stringify(key.filter), [...(byFilter.get(JSON.stringify(key.filter)) ?? []), i]));
    const counts: number[] = keys.map(() => 0);
    for (const [filter, indexes] of byFilter) {
      const found = await countMatching(
        this.db,
        JSON.parse(filter) as CheckedFilter,
        indexes.map((i) => keys[i].sessionId),
      );
      indexes.forEach((i, n) => (counts[i] = found[n]));
    }
    return counts;
  }

  private async bucketsOf(sessionId: string, bucketSizeMs: number): Promise<Bucket[]> {
    if (!Number.isSafeInteger(bucketSizeMs) || bucketSizeMs < 1) {
      throw invalidInput("bucketSizeMs must be a whole number of milliseconds, 1 or more.", { field: "bucketSizeMs" });
    }
    const [{ last }] = (await this.db.query(`SELECT max(timestamp_ms)::float8 AS last FROM session_events WHERE session_id = $1`, [sessionId])) as Array<{
      last: number | null;
    }>;
    if (last === null) return [];
    const count = Math.floor(last / bucketSizeMs) + 1;
    const max = this.limits.maxTimelineBuckets;
    if (count > max) {
      throw invalidInput(`That bucket size gives ${count} buckets; at most ${max}. Use a larger bucketSizeMs.`, {
        field: "bucketSizeMs",
        max,
      });
    }
    // Events appended after the max was read are left out, so the buckets agree with each other.
    const rows: Array<{ b: number; count: number; by_type: Record<string, number> | string }> = await this.db.query(
      `WITH counts AS (
         SELECT (timestamp_ms / $2::bigint)::int AS b, type, count(*)::int AS n
           FROM session_events WHERE session_id = $1 AND timestamp_ms <= $3::bigint
          GROUP BY 1, 2)
       SELECT g.b, coalesce(sum(c.n), 0)::int AS count,
              coalesce(jsonb_object_agg(c.type, c.n) FILTER (WHERE c.type IS NOT NULL), '{}'::jsonb) AS by_type
         FROM generate_series(0, $4::int - 1) AS g(b) LEFT JOIN counts c ON c.b = g.b
        GROUP BY g.b ORDER BY g.b`,
      [sessionId, bucketSizeMs, last, count],
    );
    return rows.map((r) => ({
      startMs: r.b * bucketSizeMs,
      endMs: (r.b + 1) * bucketSizeMs,
      count: r.count,
      countsByType: typeof r.by_type === "string" ? JSON.parse(r.by_type) : r.by_type,
    }));
  }
}
