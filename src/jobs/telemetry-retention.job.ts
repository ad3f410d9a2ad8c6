import { count, outcome, type JobDefinition } from "./job";

const DAY_MS = 86_400_000;

/**
 * W3 retention: deletes the telemetry events received more than TELEMETRY_RETENTION_DAYS
 * (14) ago, in bounded batches. Idempotent: concurrent or repeated runs delete each row once.
 */
export const telemetryRetentionJob: JobDefinition = {
  name: "telemetry-retention",
  description: "delete telemetry events older than TELEMETRY_RETENTION_DAYS",
  everyMs: 3_600_000,
  async run({ services, config, now }) {
    const cutoff = new Date(now().getTime() - config.telemetry.retentionDays * DAY_MS);
    const deleted = await services.telemetry.deleteReceivedBefore(cutoff);
    return outcome(deleted, `deleted ${count(deleted, "telemetry event")}`);
  },
};
