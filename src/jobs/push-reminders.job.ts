import { count, outcome, type JobDefinition } from "./job";

/**
 * W5 lesson reminders: a scheduled lesson starting within 10 minutes is pushed to its host
 * and invited students. Idempotent: the push outbox notifies each of them once per lesson
 * and start time, however often (or on however many instances) it runs.
 */
export const pushRemindersJob: JobDefinition = {
  name: "push-reminders",
  description: "push 'lesson starting soon' to the host and invited students 10 minutes ahead",
  everyMs: 60_000,
  async run({ services, now }) {
    const sent = await services.pushEvents.remindLessons(now());
    return outcome(sent, `sent ${count(sent, "lesson reminder")}`);
  },
};
