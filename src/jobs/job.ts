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
 * What one run did: a one-line summary for the log and the command line, and how many things
 * it changed. A run that changed nothing (most runs of a frequent job) is logged at debug, so
 * an idle server's log stays quiet.
 */
export interface JobOutcome {
  summary: string;
  changed: number;
}

/** The outcome of a run that changed `changed` things. */
export function outcome(changed: number, summary: string): JobOutcome {
  return { summary, changed };
}

/**
 * A background job (W6). `run` must be idempotent: the schedule, `runNow` and
 * `npm run job -- <name>` may all run it, on several instances at once with a shared database,
 * and a run repeated after a crash must do no harm.
 */
export interface JobDefinition {
  /** Stable id: the BullMQ schedule key and the `npm run job` argument. Never rename lightly. */
  name: string;
  description: string;
  /** Period of the schedule, milliseconds. */
  everyMs: number;
  run(ctx: JobContext): Promise<JobOutcome>;
}

/** "1 session", "2 sessions": summaries read as sentences. */
export function count(n: number, noun: string): string {
  return `${n} ${noun}${n === 1 ? "" : "s"}`;
}

/**
 * Runs the jobs on their schedule (W6). Two drivers: BullMqScheduler with REDIS_URL (one
 * schedule per job shared by every instance, so a job runs once per period cluster-wide)
 * and InProcessScheduler otherwise (timers in this process).
 */
export interface JobScheduler {
  readonly driver: "bullmq" | "in-process";
  /**
   * Starts the schedule: each job runs at start, then every `everyMs` (with BullMQ, "at start"
   * means when its shared schedule is first registered or a period is already due). Calling
   * it twice is harmless.
   */
  start(): Promise<void>;
  /**
   * Stops scheduling and waits for a run in progress in this process; afterwards nothing of
   * the scheduler keeps the process alive. Safe to call twice, or without `start`.
   */
  stop(): Promise<void>;
  /**
   * Runs a job here and now, outside its schedule, after any run of it in progress in this
   * process; answers its summary or rejects with its error (UnknownJobError for a bad name).
   */
  runNow(name: string): Promise<string>;
  /** Calls `listener` after each run in this process, scheduled or not; answers its remover. */
  onRun(listener: JobRunListener): () => void;
}

/** One finished run of a job, as reported to `onRun` listeners. */
export interface JobRun {
  job: string;
  /**
   * Identifies the run: for a run the BullMQ driver took from Redis, BullMQ's job id
   * (`repeat:<job>:<slot ms>` for the schedule, one per period cluster-wide); else a local id.
   */
  runId: string;
  trigger: "schedule" | "manual";
  durationMs: number;
  /** The job's summary when it succeeded. */
  summary?: string;
  /** How many things it changed when it succeeded (JobOutcome.changed). */
  changed?: number;
  /** What it threw when it failed. */
  error?: unknown;
}

export type JobRunListener = (run: JobRun) => void;
