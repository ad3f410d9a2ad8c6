import type { DataSource } from "typeorm";
import type { TimelineMessage } from "../realtime/messages";
import type { Notice } from "../realtime/topics";
import type { PushNotifier } from "./push-notifier";
import type { SessionFeed } from "./session-feed.service";
import type { SessionStore } from "./session-store";

/** How long before a scheduled lesson its host and invited students are reminded. */
export const LESSON_REMINDER_MS = 10 * 60_000;

/**
 * What the lesson's people are told (W5, RULES.md "Timeline event types"): a kick (to the
 * kicked user), the report once a lesson is completed (to the host) and a lesson starting
 * within 10 minutes (to the host and the invited students, by the lesson-reminders job).
 *
 * By web push when it is on (the outbox key (user, kind, subject) makes each once only), and
 * in-app to whoever follows the session's systemEvents: the kick as KICKED and the report as
 * the NOTIFICATION after COMPLETED, both read from the timeline by the stream itself; the
 * reminder as a NOTIFICATION notice announced here.
 */
export class LessonNotices {
  constructor(
    private readonly db: DataSource,
    private readonly notifier: PushNotifier,
    private readonly feed: Pick<SessionFeed, "notify">,
    private readonly onError: (err: unknown) => void,
  ) {}

  /**
   * Watches this instance's commits for kicks and completions to push; the notification is
   * sent in the background, after the commit answered. Answers the function that stops watching.
   */
  watch(store: Pick<SessionStore, "onCommit">): () => void {
    return store.onCommit((sessionId, events) => {
      if (!this.notifier.enabled) return;
      for (const event of events) {
        const work = this.onEvent(sessionId, event);
        if (work) work.catch(this.onError);
      }
    });
  }

  private onEvent(sessionId: string, event: TimelineMessage): Promise<unknown> | undefined {
    if (event.type === "PARTICIPANT_KICK" && typeof event.data.userId === "string") {
      const userId = event.data.userId;
      return this.lessonOf(sessionId).then((lesson) =>
        this.notifier.notify(
          [userId],
          "KICKED",
          sessionId,
          { title: "Removed from a lesson", body: `You were removed from ${named(lesson?.title, "the lesson")}.`, sessionId },
          new Date(),
        ),
      );
    }
    if (event.type === "SESSION_END") return this.reportReady(sessionId);
    return undefined;
  }

  private async reportReady(sessionId: string): Promise<number> {
    const session = await this.lessonOf(sessionId);
    if (!session) return 0;
    const body = `The report of ${named(session.title, "your lesson")} is ready.`;
    return this.notifier.notify([session.host_id], "REPORT_READY", sessionId, { title: "Lesson report ready", body, sessionId }, new Date());
  }

  /** The lesson's host and title, as the notifications name them. */
  private async lessonOf(sessionId: string): Promise<{ host_id: string; title: string | null } | undefined> {
    const [session]: Array<{ host_id: string; title: string | null }> = await this.db.query(`SELECT host_id, title FROM classroom_sessions WHERE id = $1`, [
      sessionId,
    ]);
    return session;
  }

  /**
   * The lesson-reminders job: scheduled lessons starting within 10 minutes of `now` remind
   * their host and invited students, once per lesson and start time (a rescheduled lesson
   * reminds again). Each lesson is claimed in one UPDATE (reminded_start), so however many
   * instances or runs see it, one tells. Answers the lessons reminded.
   */
  async remindLessons(now: Date): Promise<number> {
    const soon: Array<{ id: string; host_id: string; title: string | null; scheduled_start: Date; invited: string[] | null }> = await this.db.query(
      `WITH due AS (
         UPDATE classroom_sessions s SET reminded_start = s.scheduled_start
          WHERE s.status IN ('SCHEDULED', 'WAITING') AND s.scheduled_start > $1 AND s.scheduled_start <= $2
            AND s.reminded_start IS DISTINCT FROM s.scheduled_start
         RETURNING s.id, s.host_id, s.title, s.scheduled_start)
       SELECT d.*, (SELECT array_agg(p.user_id) FROM session_participants p WHERE p.session_id = d.id AND p.status = 'INVITED') AS invited
         FROM due d`,
      [now, new Date(now.getTime() + LESSON_REMINDER_MS)],
    );
    for (const lesson of soon) {
      const start = new Date(lesson.scheduled_start);
      const minutes = Math.max(1, Math.round((start.getTime() - now.getTime()) / 60_000));
      const notice: Notice = {
        id: `${lesson.id}:starting@${start.toISOString()}`,
        kind: "LESSON_STARTING",
        title: "Lesson starting soon",
        body: `${named(lesson.title, "Your lesson")} starts in ${minutes} minute${minutes === 1 ? "" : "s"}.`,
        data: { scheduledStart: start.toISOString() },
        at: now,
      };
      await this.feed.notify(lesson.id, notice);
      const message = { title: notice.title, body: notice.body, sessionId: lesson.id, ttlSeconds: Math.ceil(LESSON_REMINDER_MS / 1000) };
      await this.notifier.notify([lesson.host_id, ...(lesson.invited ?? [])], "LESSON_STARTING", notice.id, message, now);
    }
    return soon.length;
  }
}

/** A lesson as a notification names it: its title in quotes, or `otherwise` when it has none. */
function named(title: string | null | undefined, otherwise: string): string {
  return title ? `“${title}”` : otherwise;
}
