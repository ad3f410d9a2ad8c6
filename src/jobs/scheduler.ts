import { BullMqScheduler } from "./bullmq-scheduler";
import type { JobContext, JobDefinition } from "./job";
import { JobRunner, type JobRunListener } from "./job-runner";

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

/** The driver for this configuration: BullMQ on REDIS_URL, in-process without it. Not started. */
export function createJobScheduler(definitions: readonly JobDefinition[], ctx: JobContext): JobScheduler {
  const runner = new JobRunner(definitions, ctx);
  return ctx.config.redisUrl
    ? new BullMqScheduler(runner, { redisUrl: ctx.config.redisUrl, redisPrefix: ctx.config.redisPrefix, logger: ctx.logger })
    : new InProcessScheduler(runner);
}

/**
 * The embedded default's driver: one timer per job. The next run is armed only when the
 * previous one has finished, so runs of a job never pile up or overlap; a failed run is
 * logged (by the runner) and the schedule goes on.
 */
export class InProcessScheduler implements JobScheduler {
  readonly driver = "in-process";
  private readonly timers = new Map<string, NodeJS.Timeout>();
  private state: "new" | "started" | "stopped" = "new";
  private stopping?: Promise<void>;

  constructor(private readonly runner: JobRunner) {}

  async start(): Promise<void> {
    if (this.state !== "new") return;
    this.state = "started";
    for (const definition of this.runner.definitions) this.arm(definition, 0);
  }

  runNow(name: string): Promise<string> {
    if (this.state === "stopped") return Promise.reject(new Error("the job scheduler is stopped"));
    return this.runner.run(name, "manual");
  }

  onRun(listener: JobRunListener): () => void {
    return this.runner.onRun(listener);
  }

  stop(): Promise<void> {
    this.stopping ??= (async () => {
      this.state = "stopped";
      for (const timer of this.timers.values()) clearTimeout(timer);
      this.timers.clear();
      await this.runner.idle();
    })();
    return this.stopping;
  }

  private arm(definition: JobDefinition, delayMs: number): void {
    const timer = setTimeout(() => {
      this.timers.delete(definition.name);
      this.runner
        .run(definition.name, "schedule")
        .catch(() => undefined) // logged by the runner; a failure must not crash the process
        .finally(() => {
          if (this.state === "started") this.arm(definition, definition.everyMs);
        });
    }, delayMs);
    this.timers.set(definition.name, timer);
  }
}
