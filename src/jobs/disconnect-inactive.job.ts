import { count, outcome, type JobDefinition } from "./job";

/**
 * RULES.md "Participants": a participant RECONNECTING for longer than RECONNECT_GRACE_MS
 * becomes DISCONNECTED (seat freed, screen share and hand cleared, PARTICIPANT_DISCONNECT).
 * Re-checked under each session's lock, so concurrent runs disconnect each one once.
 */
export const disconnectInactiveJob: JobDefinition = {
  name: "disconnect-inactive",
  description: "participants RECONNECTING longer than RECONNECT_GRACE_MS become DISCONNECTED",
  everyMs: 5_000,
  async run({ services, config }) {
    const disconnected = await services.participants.disconnectInactive(config.reconnectGraceMs);
    return outcome(disconnected, `disconnected ${count(disconnected, "participant")}`);
  },
};
