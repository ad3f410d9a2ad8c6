import { performance } from "node:perf_hooks";
import type { Logger } from "../infra/logger";
import { traceJob } from "../infra/tracing";
import type { JobContext, JobDefinition, JobRun, JobRunListener } from "./job";

/** Thrown by `run` for a name that no definition has. */
export class UnknownJobError extends Error {
  constructor(name: string, known: readonly JobDefinition[]) {
    super(`unknown job "${name}" (known: ${known.map((j) => j.name).join(", ") || "none"})`);
  }
}

/**
 * Runs jobs for both scheduler drivers: one run of a given job at a time in this process
 * (a second request waits for the first, so the schedule, `runNow` and a worker never
 * overlap here), every outcome logged and reported to listeners.
 */
export class JobRunner {
  /** Per job, the settled end of its latest queued run: the next one chains after it. */
  private readonly tails = new Map<string, Promise<void>>();
  private readonly listeners = new Set<JobRunListener>();
  private readonly logger: Logger;
  private localRuns = 0;

  constructor(
    readonly definitions: readonly JobDefinition[],
    private readonly ctx: JobContext,
  ) {
    this.logger = ctx.logger.child({ component: "jobs" });
  }

  /** The definition called `name`; throws UnknownJobError. */
  definition(name: string): JobDefinition {
    const definition = this.definitions.find((j) => j.name === name);
    if (!definition) throw new UnknownJobError(name, this.definitions);
    return definition;
  }

  /**
   * Runs `name` once this process's previous run of it has finished; answers its summary or
   * rejects with what it threw (after logging it and telling the listeners).
   */
  run(name: string, trigger: JobRun["trigger"], runId?: string): Promise<string> {
    let definition: JobDefinition;
    try {
      definition = this.definition(name);
    } catch (err) {
      return Promise.reject(err);
    }
    const id = runId ?? `local:${name}:${++this.localRuns}`;
    const previous = this.tails.get(name) ?? Promise.resolve();
    const current = previous.then(() => this.execute(definition, trigger, id));
    this.tails.set(
      name,
      current.then(
        () => undefined,
        () => undefined,
      ),
    );
    return current;
  }

  /** Resolves once every run queued so far has finished (successfully or not). */
  async idle(): Promise<void> {
    await Promise.all(this.tails.values());
  }

  /** Calls `listener` after every run; answers the function that removes it. */
  onRun(listener: JobRunListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private async execute(definition: JobDefinition, trigger: JobRun["trigger"], runId: string): Promise<string> {
    const started = performance.now();
    const log = this.logger.child({ job: definition.name, runId, trigger });
    try {
      // One span per run (a trace of its own): its statements and publishes are its children.
      const { summary, changed } = await traceJob(definition.name, { "job.trigger": trigger, "job.run_id": runId }, () => definition.run(this.ctx));
      const durationMs = Math.round(performance.now() - started);
      // A run with nothing to do is routine (every 5 s for some jobs): only worth a line at debug.
      log[changed > 0 ? "info" : "debug"]({ durationMs, summary }, "job finished");
      this.notify({ job: definition.name, runId, trigger, durationMs, summary, changed });
      return summary;
    } catch (error) {
      const durationMs = Math.round(performance.now() - started);
      log.error({ err: error, durationMs }, "job failed");
      this.notify({ job: definition.name, runId, trigger, durationMs, error });
      throw error;
    }
  }

  private notify(run: JobRun): void {
    for (const listener of this.listeners) {
      try {
        listener(run);
      } catch (err) {
        // A listener is an observer: its bug must not turn a finished run into a failed one.
        this.logger.error({ err, job: run.job }, "job listener failed");
      }
    }
  }
}
