import { count, type JobDefinition } from "./job";

/**
 * RULES.md lifecycle: SCHEDULED/WAITING sessions past their scheduled end + EXPIRY_GRACE_MS
 * become EXPIRED, each with a SESSION_EXPIRE timeline event published after commit.
 * SessionService.expireStale re-checks every session under its lock, so concurrent runs on
 * several instances (or the CLI beside a server) expire each session once.
 */
export const expireSessionsJob: JobDefinition = {
  name: "expire-sessions",
  description: "SCHEDULED/WAITING sessions past scheduled end + EXPIRY_GRACE_MS become EXPIRED",
  everyMs: 60_000,
  async run({ services, config, now }) {
    const expired = await services.sessions.expireStale(now(), config.expiryGraceMs);
    return `expired ${count(expired, "session")}`;
  },
};
