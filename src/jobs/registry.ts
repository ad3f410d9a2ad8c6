/**
 * Every background job (W6), scheduled by the driver (src/jobs/scheduler.ts: BullMQ with
 * REDIS_URL, in-process otherwise) and runnable by hand with `npm run job -- <name>`.
 * Each is idempotent; see JobDefinition.
 */
import { autosaveBoardsJob } from "./autosave-boards.job";
import { disconnectInactiveJob } from "./disconnect-inactive.job";
import { expireSessionsJob } from "./expire-sessions.job";
import type { JobDefinition } from "./job";
import { lessonRemindersJob } from "./lesson-reminders.job";
import { pushRetryJob } from "./push-retry.job";
import { snapshotRetentionJob } from "./snapshot-retention.job";
import { telemetryRetentionJob } from "./telemetry-retention.job";
import { videoRoomsJob } from "./video-rooms.job";

export type { JobContext, JobDefinition } from "./job";

export const jobs: readonly JobDefinition[] = [
  expireSessionsJob,
  disconnectInactiveJob,
  autosaveBoardsJob,
  snapshotRetentionJob,
  telemetryRetentionJob,
  pushRetryJob,
  lessonRemindersJob,
  videoRoomsJob,
];

/** The job called `name`, or undefined. */
export function findJob(name: string | undefined, definitions: readonly JobDefinition[] = jobs): JobDefinition | undefined {
  return definitions.find((j) => j.name === name);
}
