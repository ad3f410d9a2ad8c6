import { BullMqScheduler } from "./bullmq-scheduler";
import type { JobContext, JobDefinition, JobRunListener, JobScheduler } from "./job";
import { JobRunner } from "./job-runner";

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
