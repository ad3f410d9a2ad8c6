import { count, outcome, type JobDefinition } from "./job";

/**
 * RULES.md "Snapshots and quota": an ACTIVE or PAUSED board changed AUTOSAVE_AFTER_MS (10 s)
 * ago without a snapshot since gets an AUTO snapshot, so a quiet board is stored even when it
 * is far from its next keyframe. SnapshotService.autosave rechecks under each session's lock,
 * so concurrent runs save each board once.
 */
export const autosaveBoardsJob: JobDefinition = {
  name: "autosave-boards",
  description: "AUTO snapshot of every live board changed AUTOSAVE_AFTER_MS ago without a snapshot since",
  everyMs: 5_000,
  async run({ services, config, now }) {
    const saved = await services.captures.autosave(now(), config.autosaveAfterMs);
    return outcome(saved, `saved ${count(saved, "board")}`);
  },
};
