import type { DataSource } from "typeorm";
import { authorizeAccount } from "../auth/account-policy";
import type { AuthContext } from "../auth/auth-context";
import { invalidInput } from "../domain/errors";
import { signedInUser } from "./actor";

const DAY_MS = 86_400_000;
/** The longest period teachingStats aggregates over (issue 18). */
export const MAX_STATS_DAYS = 366;
/** The period when `from` is not given: this many days before `to`. */
const DEFAULT_STATS_DAYS = 30;

export interface StudentStatsResult {
  userId: string;
  lessonsInvited: number;
  lessonsAttended: number;
  attendanceRate: number;
  minutesConnected: number;
  boardEventCount: number;
  chatMessageCount: number;
}

export interface TeachingStatsResult {
  lessons: number;
  totalMinutes: number;
  averageParticipants: number;
  students: StudentStatsResult[];
}

/**
 * The aggregates of teachingStats, in one statement whatever the number of lessons: the
 * viewer's hosted lessons (not SOLO) whose actual start is in [$2, $3) and whose status is
 * final and not EXPIRED; their students (every participant but the host) with invitations,
 * attendances (joined at least once), CONNECTED seconds (a running interval included) and
 * their board operations and chat messages, counted like the lesson report counts them.
 */
const STATS_SQL = `
  WITH lessons AS (
    SELECT s.id, s.active_seconds
             + COALESCE(GREATEST(0, floor(extract(epoch FROM now() - s.active_since)))::int, 0) AS seconds
      FROM classroom_sessions s
     WHERE s.host_id = $1 AND s.type <> 'SOLO' AND s.status IN ('COMPLETED', 'TERMINATED')
       AND s.actual_start >= $2 AND s.actual_start < $3
  ), people AS (
    SELECT p.user_id, p.join_count,
           p.connected_seconds + COALESCE(GREATEST(0, floor(extract(epoch FROM now() - p.connected_since)))::int, 0) AS seconds
      FROM session_participants p JOIN lessons l ON l.id = p.session_id
     WHERE p.user_id <> $1
  ), activity AS (
    SELECT e.user_id,
           count(*) FILTER (WHERE e.type LIKE 'BOARD\\_%')::int AS board,
           count(*) FILTER (WHERE e.type = 'CHAT_MESSAGE')::int AS chat
      FROM session_events e JOIN lessons l ON l.id = e.session_id
     WHERE e.user_id IS NOT NULL AND e.user_id <> $1 AND (e.type LIKE 'BOARD\\_%' OR e.type = 'CHAT_MESSAGE')
     GROUP BY e.user_id
  ), students AS (
    SELECT p.user_id, count(*)::int AS invited, count(*) FILTER (WHERE p.join_count > 0)::int AS attended,
           sum(p.seconds)::bigint AS seconds
      FROM people p GROUP BY p.user_id
  )
  SELECT (SELECT count(*)::int FROM lessons) AS lessons,
         (SELECT COALESCE(sum(seconds), 0)::bigint FROM lessons) AS seconds,
         (SELECT COALESCE(sum(attended), 0)::int FROM students) AS attendances,
         (SELECT COALESCE(json_agg(json_build_object(
                    'user_id', st.user_id, 'invited', st.invited, 'attended', st.attended, 'seconds', st.seconds,
                    'board', COALESCE(a.board, 0), 'chat', COALESCE(a.chat, 0)) ORDER BY st.user_id), '[]'::json)
            FROM students st LEFT JOIN activity a ON a.user_id = st.user_id) AS students`;

/** Teaching statistics (issue 18): what a tutor's hosted lessons add up to over a period. */
export class TeachingStatsService {
  constructor(private readonly db: DataSource) {}

  /**
   * The viewer's lessons as host with an actual start in [from, to) (`to` defaults to now,
   * `from` to 30 days before `to`), COMPLETED or TERMINATED: tutors and admins (FORBIDDEN for
   * a student, decided in src/auth); BAD_USER_INPUT for from ≥ to or a period over 366 days.
   * One statement, however many lessons.
   */
  async stats(auth: AuthContext, from?: Date | null, to?: Date | null): Promise<TeachingStatsResult> {
    const viewer = await signedInUser(this.db.manager, auth.requireUserId());
    authorizeAccount(viewer, "teachingStats");
    const end = to ?? new Date();
    const start = from ?? new Date(end.getTime() - DEFAULT_STATS_DAYS * DAY_MS);
    if (start.getTime() >= end.getTime()) throw invalidInput("`from` must be before `to`.", { field: "from" });
    if (end.getTime() - start.getTime() > MAX_STATS_DAYS * DAY_MS) {
      throw invalidInput(`The period may cover at most ${MAX_STATS_DAYS} days.`, { field: "to" });
    }
    const [row] = (await this.db.query(STATS_SQL, [viewer.id, start, end])) as Array<{
      lessons: number;
      seconds: string | number;
      attendances: number;
      students: Array<{ user_id: string; invited: number; attended: number; seconds: string | number; board: number; chat: number }> | string;
    }>;
    const students = typeof row.students === "string" ? (JSON.parse(row.students) as Exclude<typeof row.students, string>) : row.students;
    return {
      lessons: row.lessons,
      totalMinutes: Math.floor(Number(row.seconds) / 60),
      averageParticipants: row.lessons === 0 ? 0 : row.attendances / row.lessons,
      students: students.map((s) => ({
        userId: s.user_id,
        lessonsInvited: s.invited,
        lessonsAttended: s.attended,
        attendanceRate: s.invited === 0 ? 0 : s.attended / s.invited,
        minutesConnected: Math.floor(Number(s.seconds) / 60),
        boardEventCount: s.board,
        chatMessageCount: s.chat,
      })),
    };
  }
}
