import type { DataSource } from "typeorm";
import type { AccessPolicy } from "../auth/access";
import type { AuthContext } from "../auth/auth-context";
import type { ReportResult, ReportService } from "./report.service";

/** Timeline events read per statement by an export: its memory does not grow with the lesson. */
export const EXPORT_PAGE_SIZE = 1000;

/** One timeline event as exports write it: the fields of the API's TimelineEvent, the user by id. */
export interface ExportedEvent {
  id: string;
  seq: number;
  type: string;
  timestampMs: number;
  userId: string | null;
  data: unknown;
  createdAt: string;
}

/** A timeline export opened after its access check: the events in seq order, a page at a time. */
export interface TimelineExport {
  filename: string;
  pages: AsyncIterable<ExportedEvent[]>;
}

/** A report export: the lesson report as plain JSON. */
export interface ReportExport {
  filename: string;
  report: Record<string, unknown>;
}

/**
 * Lesson exports (issue 18) for those who may read the report (the host and admins): the
 * timeline as it stood when the export began (up to the session's last seq then), read by
 * keyset pages so a lesson of any length streams in constant memory, and the report.
 * Refusals as the report's: NOT_FOUND without access at all, FORBIDDEN for other readers.
 */
export class LessonExportService {
  constructor(
    private readonly db: DataSource,
    private readonly access: AccessPolicy,
    private readonly reports: ReportService,
  ) {}

  /** Checks access now (the caller answers an error before any byte is sent); the pages are read while they are consumed. */
  async timeline(auth: AuthContext, sessionId: string): Promise<TimelineExport> {
    const access = await this.access.require(auth.requireUserIdFor(sessionId), sessionId);
    await this.access.requireReport(access.actorId, access.session);
    const lastSeq = access.session.lastSeq;
    return { filename: `timeline-${sessionId}`, pages: this.pages(sessionId, lastSeq) };
  }

  /** The lesson report (H4) of the session, as the GraphQL report answers it, users by id. */
  async report(auth: AuthContext, sessionId: string): Promise<ReportExport> {
    const access = await this.access.require(auth.requireUserIdFor(sessionId), sessionId);
    const report: ReportResult = await this.reports.report(auth, access.session);
    const { session } = report;
    return {
      filename: `report-${sessionId}.json`,
      report: {
        session: {
          id: session.id,
          title: session.title,
          type: session.type,
          status: session.status,
          actualStart: session.actualStart,
          actualEnd: session.actualEnd,
        },
        durationSeconds: report.durationSeconds,
        attendance: report.attendance,
        eventCountsByType: report.eventCountsByType,
        signalCountsByType: report.signalCountsByType,
      },
    };
  }

  private async *pages(sessionId: string, lastSeq: number): AsyncGenerator<ExportedEvent[]> {
    let after = 0;
    while (after < lastSeq) {
      const rows = (await this.db.query(
        `SELECT id, seq, type, timestamp_ms, user_id, data, created_at FROM session_events
          WHERE session_id = $1 AND seq > $2 AND seq <= $3 ORDER BY seq LIMIT $4`,
        [sessionId, after, lastSeq, EXPORT_PAGE_SIZE],
      )) as Array<{ id: string; seq: number; type: string; timestamp_ms: string | number; user_id: string | null; data: unknown; created_at: Date | string }>;
      if (rows.length === 0) return;
      after = rows[rows.length - 1].seq;
      yield rows.map((r) => ({
        id: r.id,
        seq: r.seq,
        type: r.type,
        timestampMs: Number(r.timestamp_ms),
        userId: r.user_id,
        data: typeof r.data === "string" ? (JSON.parse(r.data) as unknown) : r.data,
        createdAt: new Date(r.created_at).toISOString(),
      }));
    }
  }
}
