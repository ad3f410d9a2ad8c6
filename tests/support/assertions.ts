import assert from "node:assert/strict";
import type { Metrics } from "../../src/infra/metrics";
import type { GraphQLResponse } from "./test-server";

/** The data of a response that must have no error. */
export function ok<T = any>(res: GraphQLResponse<T>): T {
  assert.equal(res.body.errors, undefined, res.text);
  return res.body.data as T;
}

/** Asserts exactly one error with `code` (and `reason` when given); answers it. */
export function assertError(res: GraphQLResponse, code: string, reason?: string) {
  assert.equal(res.body.errors?.length, 1, res.text);
  const [error] = res.body.errors!;
  assert.equal(error.extensions?.code, code, res.text);
  if (reason) assert.equal(error.extensions?.reason, reason, res.text);
  return error;
}

/** The first error's `extensions.code`, or undefined. */
export const codeOf = (res: GraphQLResponse): unknown => res.body.errors?.[0]?.extensions?.code;

/** Polls `read` until `check` holds (a condition on the server's state, not a fixed sleep); fails after `ms`. */
export async function until<T>(read: () => Promise<T>, check: (value: T) => boolean, ms = 15_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await read();
    if (check(value)) return value;
    if (Date.now() > deadline) throw new Error(`condition not reached in time; last: ${JSON.stringify(value)}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/**
 * The seeks the replay cache could not answer, read from the server's metric
 * (replay_seek_events_replayed): each call answers how many there were since the call before
 * (or since watchSeeks) and how many board events they replayed on top of their keyframes.
 */
export async function watchSeeks(metrics: Metrics): Promise<() => Promise<{ seeks: number; events: number }>> {
  const read = async () => {
    const { values } = await metrics.replaySeekEvents.get();
    const of = (suffix: string) => values.find((v) => v.metricName === `replay_seek_events_replayed_${suffix}`)?.value ?? 0;
    return { count: of("count"), sum: of("sum") };
  };
  let last = await read();
  return async () => {
    const now = await read();
    const since = { seeks: now.count - last.count, events: now.sum - last.sum };
    last = now;
    return since;
  };
}
