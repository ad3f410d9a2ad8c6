import type { DataSource } from "typeorm";
import type { AccessPolicy } from "../auth/access";
import type { AuthContext } from "../auth/auth-context";
import { queryPrepared } from "../db/prepared";
import type { ParticipantRole } from "../entities/participant.entity";
import type { SessionEntity } from "../entities/session.entity";
import { readConnectionHistory } from "./connection-history";
import { connectedTimeSeconds } from "./seats";
import { activeDurationSeconds } from "./session-lifecycle";
import { toCounts } from "./timeline-query";

export interface AttendanceRow {
  userId: string;
  role: ParticipantRole;
  totalTimeSeconds: number;
  callTimeSeconds: number;
  joinCount: number;
  reconnectCount: number;
  boardEventCount: number;
  chatMessageCount: number;
  speakingTimeSeconds: number | null;
  /** Connection quality level → seconds at it (issue 18). */
  connectionQualitySeconds: Record<string, number>;
}

export interface ReportResult {
  session: SessionEntity;
  durationSeconds: number;
  attendance: AttendanceRow[];
  eventCountsByType: Record<string, number>;
  /** Relayed signals by type; the signals themselves are not recorded. */
  signalCountsByType: Record<string, number>;
}

/** The lesson report (H4): attendance and event counts, for the host and admins. */
export class ReportService {
  constructor(
    private readonly db: DataSource,
    private readonly access: AccessPolicy,
  ) {}

  /**
   * The lesson report (H4), for the host and admins only (FORBIDDEN for anyone else):
   * attendance of every participant (CONNECTED time, time in the provider's call, joins,
   * reconnects, board operations, chat messages, time per connection quality level) and the
   * session's event and signal counts by type, from three aggregate statements.
   */
  async report(auth: AuthContext, session: SessionEntity): Promise<ReportResult> {
    const actorId = auth.requireUserIdFor(session.id);
    await this.access.requireReport(actorId, session);
    const [participants, groups, connection] = await Promise.all([
      queryPrepared<{
        user_id: string;
        role: ParticipantRole;
        join_count: number;
        reconnect_count: number;
        connected_seconds: number;
        connected_since: Date | string | null;
        call_seconds: number;
        in_call_since: Date | string | null;
      }>(
        this.db,
        `SELECT p.user_id, p.role, p.join_count, p.reconnect_count, p.connected_seconds, p.connected_since, p.call_seconds, p.in_call_since
           FROM session_participants p WHERE p.session_id = $1 ORDER BY p.created_at, p.id`,
        [session.id],
      ),
      // Every count the report shows, from one pass over the session's events: a board event
      // is one of the BOARD_ types (the board_version check constraint holds them equal).
      queryPrepared<{ user_id: string | null; type: string; n: number }>(
        this.db,
        `SELECT user_id, type, count(*)::int AS n
           FROM session_events WHERE session_id = $1
          GROUP BY user_id, type`,
        [session.id],
      ),
      readConnectionHistory(this.db, session.id),
    ]);
    const perUser = new Map<string, { board: number; chat: number }>();
    const byType = new Map<string, number>();
    for (const g of groups) {
      byType.set(g.type, (byType.get(g.type) ?? 0) + g.n);
      if (g.user_id === null) continue;
      const user = perUser.get(g.user_id) ?? { board: 0, chat: 0 };
      if (g.type.startsWith("BOARD_")) user.board += g.n;
      if (g.type === "CHAT_MESSAGE") user.chat += g.n;
      perUser.set(g.user_id, user);
    }
    const rows = participants.map((p) => ({ ...p, board: perUser.get(p.user_id)?.board ?? 0, chat: perUser.get(p.user_id)?.chat ?? 0 }));
    const counts = [...byType].map(([type, n]) => ({ type, n }));
    const now = Date.now();
    return {
      session,
      durationSeconds: activeDurationSeconds(session, now),
      attendance: rows.map((r) => ({
        userId: r.user_id,
        role: r.role,
        totalTimeSeconds: connectedTimeSeconds(r.connected_seconds, r.connected_since, now),
        callTimeSeconds: connectedTimeSeconds(r.call_seconds, r.in_call_since, now),
        joinCount: r.join_count,
        reconnectCount: r.reconnect_count,
        boardEventCount: r.board,
        chatMessageCount: r.chat,
        speakingTimeSeconds: null,
        connectionQualitySeconds: connection.qualitySeconds.get(r.user_id) ?? {},
      })),
      eventCountsByType: toCounts(counts).countsByType,
      signalCountsByType: connection.signalCountsByType,
    };
  }
}
