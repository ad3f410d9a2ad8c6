import { count, outcome, type JobDefinition } from "./job";

/**
 * W5 lesson reminders: a scheduled lesson starting within 10 minutes is announced to its host
 * and invited students, in-app (a NOTIFICATION systemEvent) and by web push. Idempotent: each
 * lesson and start time is claimed once, however often (or on however many instances) it runs.
 */
export const lessonRemindersJob: JobDefinition = {
  name: "lesson-reminders",
  description: "tell the host and invited students 10 minutes ahead that a lesson starts (in-app and web push)",
  everyMs: 60_000,
  async run({ services, now }) {
    const reminded = await services.lessonNotices.remindLessons(now());
    return outcome(reminded, `reminded ${count(reminded, "lesson")}`);
  },
};
