import { count, outcome, type JobDefinition } from "./job";

/**
 * W5/W6 push retries: tries again the web push deliveries whose backoff has passed (each at
 * most PUSH_MAX_ATTEMPTS times, then given up) and deletes subscriptions past their expiry.
 * Idempotent: each attempt claims its delivery first, so concurrent runs never send one twice.
 */
export const pushRetryJob: JobDefinition = {
  name: "push-retry",
  description: "retry failed web push deliveries with backoff; prune expired push subscriptions",
  everyMs: 30_000,
  async run({ services, now }) {
    const at = now();
    const done = await services.pushNotifier.retryDue(at);
    const pruned = await services.pushNotifier.pruneExpired(at);
    const tried = done.sent + done.gone + done.failed + done.given_up + done.refused;
    return outcome(
      tried + pruned,
      `retried ${tried} push deliver${tried === 1 ? "y" : "ies"} (${done.sent} sent, ${done.failed} to retry, ${done.given_up} given up, ${done.gone} gone), pruned ${count(pruned, "expired subscription")}`,
    );
  },
};
