import type { Config } from "../config";
import type { Logger } from "../infra/logger";
import type { Services } from "../services";

/** What a job may use: the instance's services, its configuration, a logger and the clock. */
export interface JobContext {
  services: Services;
  config: Config;
  logger: Logger;
  /** The current time; a job asks here rather than calling `new Date()` so tests can fix it. */
  now(): Date;
}

/**
 * A background job (W6). `run` must be idempotent: the schedule, `runNow` and
 * `npm run job -- <name>` may all run it, on several instances at once with a shared database,
 * and a run repeated after a crash must do no harm. It answers a one-line summary for the
 * log and the command line.
 */
export interface JobDefinition {
  /** Stable id: the BullMQ schedule key and the `npm run job` argument. Never rename lightly. */
  name: string;
  description: string;
  /** Period of the schedule, milliseconds. */
  everyMs: number;
  run(ctx: JobContext): Promise<string>;
}

/** "1 session", "2 sessions": summaries read as sentences. */
export function count(n: number, noun: string): string {
  return `${n} ${noun}${n === 1 ? "" : "s"}`;
}
