import { count, outcome, type JobDefinition } from "./job";

/**
 * RULES.md lifecycle: SCHEDULED/WAITING sessions past their scheduled end + EXPIRY_GRACE_MS
 * (WAITING ones without an end SESSION_MAX_DURATION after creation) become EXPIRED, and
 * lessons ACTIVE or PAUSED SESSION_MAX_DURATION after their start are completed (reason
 * MAX_DURATION), each with its timeline event published after commit.
 * SessionService.expireStale re-checks every session under its lock, so concurrent runs on
 * several instances (or the CLI beside a server) expire each session once.
 */
export const expireSessionsJob: JobDefinition = {
  name: "expire-sessions",
  description: "Sessions past their scheduled end + EXPIRY_GRACE_MS become EXPIRED; lessons past SESSION_MAX_DURATION are completed",
  everyMs: 60_000,
  async run({ services, config, now }) {
    const { expired, completed } = await services.lifecycle.expireStale(now(), config.expiryGraceMs, config.sessionMaxDurationMs);
    return outcome(
      expired + completed,
      `expired ${count(expired, "session")}` + (completed > 0 ? `, completed ${count(completed, "lesson")} past SESSION_MAX_DURATION` : ""),
    );
  },
};
