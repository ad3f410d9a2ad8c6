import { count, outcome, type JobDefinition } from "./job";

/**
 * W2 retention: thins the AUTO snapshots of finished sessions (keyframes and each session's
 * latest snapshot stay) and keeps the last SOLO_SNAPSHOT_KEEP_LAST solo snapshots per solo
 * session, giving the bytes of the others back to their owners. Idempotent: bytes are given
 * back only for the rows a run deleted itself.
 */
export const snapshotRetentionJob: JobDefinition = {
  name: "snapshot-retention",
  description: "thin AUTO snapshots of finished sessions (never keyframes); keep the last SOLO_SNAPSHOT_KEEP_LAST solo snapshots",
  everyMs: 3_600_000,
  async run({ services }) {
    const { thinned, collected } = await services.captures.thin();
    return outcome(thinned + collected, `thinned ${count(thinned, "snapshot")}, collected ${count(collected, "solo snapshot")}`);
  },
};
