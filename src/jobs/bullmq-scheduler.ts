import { Queue, Worker, type Job } from "bullmq";
import { Redis } from "ioredis";
import { closeRedis } from "../infra/redis";
import type { Logger } from "../infra/logger";
import type { JobRunner } from "./job-runner";
import type { JobRunListener, JobScheduler } from "./job";

/** The one queue every instance's worker reads; job names are the JobDefinition names. */
export const JOB_QUEUE = "jobs";

/** Finished jobs kept in Redis for inspection; older ones are trimmed so Redis stays bounded. */
const KEEP_COMPLETED = 100;
const KEEP_FAILED = 500;

export interface BullMqSchedulerOptions {
  redisUrl: string;
  /** REDIS_PREFIX: BullMQ's keys live under `<prefix>bull:jobs:…`, beside the app's other keys. */
  redisPrefix: string;
  logger: Logger;
}

/**
 * The driver with REDIS_URL. Each job is a BullMQ job scheduler whose id is the job's name,
 * upserted by every instance at start: all instances share that one schedule, and each
 * period's run is one BullMQ job with a deterministic id (`repeat:<name>:<slot ms>`), taken
 * by exactly one worker, so a job runs once per period across the cluster. Every instance
 * runs a worker with concurrency 1; if an instance dies mid-run, BullMQ hands the stalled
 * job to another one (jobs are idempotent).
 */
export class BullMqScheduler implements JobScheduler {
  readonly driver = "bullmq";
  private readonly connections: Redis[] = [];
  private readonly logger: Logger;
  private queue?: Queue;
  private worker?: Worker;
  private starting?: Promise<void>;
  private stopping?: Promise<void>;
  private readonly warned = new Map<string, number>();

  constructor(
    private readonly runner: JobRunner,
    private readonly options: BullMqSchedulerOptions,
  ) {
    this.logger = options.logger.child({ component: "jobs", driver: "bullmq" });
  }

  /**
   * Opens the queue and the worker and upserts one schedule per job. Resolves once the
   * schedules are registered; while Redis is down it waits (commands are queued until it is
   * back), so callers that must not wait for Redis do not await it.
   */
  start(): Promise<void> {
    if (this.stopping) return Promise.reject(new Error("the job scheduler is stopped"));
    this.starting ??= this.open();
    return this.starting;
  }

  runNow(name: string): Promise<string> {
    if (this.stopping) return Promise.reject(new Error("the job scheduler is stopped"));
    // Run here rather than through the queue: the caller gets the summary without waiting on
    // Redis, and a concurrent scheduled run on another instance is harmless (idempotent jobs).
    return this.runner.run(name, "manual");
  }

  onRun(listener: JobRunListener): () => void {
    return this.runner.onRun(listener);
  }

  stop(): Promise<void> {
    this.stopping ??= (async () => {
      // With Redis unreachable, BullMQ's close waits for it to come back, forever: drop our
      // connections first so what it waits on fails at once, and give up on a running job.
      const reachable = this.connections.every((r) => r.status === "ready");
      if (!reachable) for (const r of this.connections) r.disconnect();
      // worker.close() waits for the job it is running; the queue then has nothing in flight.
      await bounded(this.worker?.close(!reachable), "closing the job worker", this.logger);
      await bounded(this.queue?.close(), "closing the job queue", this.logger);
      // Ours, not BullMQ's (it leaves connections it was given open): quit them, or drop them
      // when Redis is unreachable so a pending start() ends instead of waiting for it.
      await Promise.all(this.connections.map(closeRedis));
      await this.runner.idle(); // a runNow still in progress
    })();
    return this.stopping;
  }

  private async open(): Promise<void> {
    const prefix = `${this.options.redisPrefix}bull`;
    this.queue = new Queue(JOB_QUEUE, { connection: this.connect("classroom-jobs-queue"), prefix });
    this.queue.on("error", (err) => this.warnOnce("job queue error", err));
    this.worker = new Worker(JOB_QUEUE, (job) => this.processJob(job), {
      connection: this.connect("classroom-jobs-worker"),
      prefix,
      concurrency: 1,
    });
    this.worker.on("error", (err) => this.warnOnce("job worker error", err));
    try {
      for (const definition of this.runner.definitions) {
        // Upsert, not add: the same id from every instance (and every restart) updates the one
        // schedule instead of adding another, and a changed everyMs replaces the old period.
        await this.queue.upsertJobScheduler(
          definition.name,
          { every: definition.everyMs },
          { name: definition.name, opts: { removeOnComplete: { count: KEEP_COMPLETED }, removeOnFail: { count: KEEP_FAILED } } },
        );
      }
    } catch (err) {
      if (this.stopping) return; // stopped while Redis was away: nothing left to register for
      throw err;
    }
    this.logger.debug({ jobs: this.runner.definitions.map((j) => j.name) }, "job schedules registered");
  }

  private async processJob(job: Job): Promise<string> {
    try {
      return await this.runner.run(job.name, "schedule", job.id);
    } catch (err) {
      // The runner logged the failure; a name we do not know (a schedule left by another
      // version of the app) is only reported here. Either way BullMQ records the job as failed.
      if (!this.runner.definitions.some((j) => j.name === job.name)) {
        this.logger.warn({ job: job.name, runId: job.id }, "no such job here; run skipped");
      }
      throw err;
    }
  }

  /**
   * BullMQ reports every failed reconnect of every connection it holds; while Redis is down
   * that is several a second, so each distinct error is logged at most once a minute.
   */
  private warnOnce(msg: string, err: Error): void {
    const key = `${msg}: ${err.message}`;
    const now = Date.now();
    if (now - (this.warned.get(key) ?? -Infinity) < 60_000) return;
    this.warned.set(key, now);
    this.logger.warn({ err: err.message }, msg);
  }

  /** A connection of our own: BullMQ needs maxRetriesPerRequest null (commands wait out a blip). */
  private connect(name: string): Redis {
    const redis = new Redis(this.options.redisUrl, {
      connectionName: name,
      maxRetriesPerRequest: null,
      retryStrategy: (attempt) => Math.min(attempt * 200, 2000),
    });
    let down = false;
    redis.on("error", (err) => {
      if (!down) this.logger.warn({ err: err.message, connection: name }, "redis connection error");
      down = true;
    });
    redis.on("ready", () => (down = false));
    this.connections.push(redis);
    return redis;
  }
}

/** How long stopping waits for BullMQ to close before going on without it. */
const CLOSE_TIMEOUT_MS = 10_000;

/** Waits for `closing` at most CLOSE_TIMEOUT_MS: shutdown must end even if Redis never answers. */
async function bounded(closing: Promise<void> | undefined, what: string, logger: Logger): Promise<void> {
  if (!closing) return;
  let timer: NodeJS.Timeout | undefined;
  const gaveUp = new Promise<"timeout">((resolve) => (timer = setTimeout(() => resolve("timeout"), CLOSE_TIMEOUT_MS)));
  try {
    const outcome = await Promise.race([closing.then(() => "closed" as const), gaveUp]);
    if (outcome === "timeout") logger.warn({ timeoutMs: CLOSE_TIMEOUT_MS }, `${what} did not finish; going on`);
  } catch (err) {
    logger.warn({ err }, `${what} failed`);
  } finally {
    clearTimeout(timer);
  }
}
