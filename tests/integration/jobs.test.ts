import assert from "node:assert/strict";
import { ok } from "../support/assertions";
import { randomBytes } from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { after, before, describe, it } from "node:test";
import { Queue } from "bullmq";
import { Redis } from "ioredis";
import pino from "pino";
import { loadConfig } from "../../src/config";
import { JOB_QUEUE } from "../../src/jobs/bullmq-scheduler";
import { outcome, type JobContext, type JobDefinition, type JobRun, type JobScheduler } from "../../src/jobs/job";
import { UnknownJobError } from "../../src/jobs/job-runner";
import { createJobScheduler } from "../../src/jobs/scheduler";
import type { Services } from "../../src/services";
import { backends, real, testRedisUrl } from "../support/backends";
import { watch } from "../support/subscriptions";
import { registerUser, startTestServer, type TestServer } from "../support/test-server";
import { runNode, type NodeRun } from "../support/node-process";

const root = path.resolve(__dirname, "../../..");
const HOUR = 3_600_000;
const MINUTE = 60_000;

/** Resolves with the next `n` runs `scheduler` reports (of `job` only, when given). */
function nextRuns(scheduler: JobScheduler, n: number, job?: string): Promise<JobRun[]> {
  return new Promise((resolve) => {
    const runs: JobRun[] = [];
    const off = scheduler.onRun((run) => {
      if (job && run.job !== job) return;
      runs.push(run);
      if (runs.length === n) {
        off();
        resolve(runs);
      }
    });
  });
}

/** A context for test jobs, which use no service; `logs` collects what the runner logged. */
function testContext(env: Record<string, string> = {}): { ctx: JobContext; logs: Array<Record<string, any>> } {
  const logs: Array<Record<string, any>> = [];
  const logger = pino({ level: "info" }, { write: (line: string) => void logs.push(JSON.parse(line)) });
  const config = loadConfig({ LOG_LEVEL: "silent", ...env });
  return { ctx: { services: {} as Services, config, logger, now: () => new Date() }, logs };
}

/** A promise with its resolve function, for jobs that wait on the test. */
function gate(): { promise: Promise<void>; open: () => void } {
  let open!: () => void;
  const promise = new Promise<void>((resolve) => (open = resolve));
  return { promise, open };
}

const turn = () => new Promise<void>((resolve) => setImmediate(resolve));

async function createSession(server: TestServer, token: string, times: { start?: number; end?: number } = {}): Promise<string> {
  const now = Date.now();
  const res = await server.gql(
    `mutation($input: CreateSessionInput!) { createSession(input: $input) { id status } }`,
    {
      input: {
        type: "LESSON",
        ...(times.start !== undefined ? { scheduledStart: new Date(now + times.start).toISOString() } : {}),
        ...(times.end !== undefined ? { scheduledEnd: new Date(now + times.end).toISOString() } : {}),
      },
    },
    token,
  );
  assert.ok(res.body.data, res.text);
  return res.body.data.createSession.id;
}

async function statusOf(server: TestServer, token: string, id: string): Promise<string> {
  const res = await server.gql(`query($id: ID!) { session(id: $id) { status } }`, { id }, token);
  assert.ok(res.body.data?.session, res.text);
  return res.body.data.session.status;
}

async function timelineTypes(server: TestServer, id: string): Promise<string[]> {
  const rows: Array<{ type: string }> = await server.app.db.query(`SELECT type FROM session_events WHERE session_id = $1 ORDER BY seq`, [id]);
  return rows.map((r) => r.type);
}

for (const backend of backends) {
  describe(`expire-sessions job [${backend.name}]`, { skip: backend.skip }, () => {
    // Scheduling is off on this server (the test-server default): only runNow runs the job,
    // so no scheduled run can race the assertions.
    let server: TestServer;
    before(async () => {
      server = await startTestServer(backend);
    });
    after(() => server?.stop());

    it("runs on the driver its configuration asks for", () => {
      assert.equal(server.app.jobs.driver, backend.name === "real" ? "bullmq" : "in-process");
    });

    it("expires SCHEDULED and WAITING sessions past their end + grace, once, with one SESSION_EXPIRE each; a second run changes nothing", async () => {
      const tutor = await registerUser(server, "TUTOR");
      const scheduled = await createSession(server, tutor.token, { start: -3 * HOUR, end: -2 * HOUR });
      const waiting = await createSession(server, tutor.token, { start: -3 * HOUR, end: -2 * HOUR });
      const joined = await server.gql(`mutation($id: ID!) { joinSession(id: $id) { session { status } } }`, { id: waiting }, tutor.token);
      assert.equal(joined.body.data?.joinSession.session.status, "WAITING", joined.text);
      const inGrace = await createSession(server, tutor.token, { start: -HOUR, end: -5 * MINUTE }); // grace is 15 min
      const future = await createSession(server, tutor.token, { start: HOUR, end: 2 * HOUR });
      const unscheduled = await createSession(server, tutor.token); // WAITING without an end: never expires

      // Delivered live after commit: a subscriber of the session's timeline, past its backfill
      // (SESSION_CREATED), hears the expiry, and its stream ends there.
      const system = watch(server, tutor.token, `subscription($s: ID!) { systemEvents(sessionId: $s, afterSeq: 0) { kind status } }`, { s: scheduled });
      assert.deepEqual((await system.next()).data.systemEvents, { kind: "SESSION_STATUS", status: "SCHEDULED" });
      assert.equal(await server.app.jobs.runNow("expire-sessions"), "expired 2 sessions");
      assert.deepEqual((await system.next()).data.systemEvents, { kind: "SESSION_STATUS", status: "EXPIRED" });
      await system.ended;

      const expected: Record<string, string> = {
        [scheduled]: "EXPIRED",
        [waiting]: "EXPIRED",
        [inGrace]: "SCHEDULED",
        [future]: "SCHEDULED",
        [unscheduled]: "WAITING",
      };
      for (const [id, status] of Object.entries(expected)) assert.equal(await statusOf(server, tutor.token, id), status, id);
      const before = { scheduled: await timelineTypes(server, scheduled), waiting: await timelineTypes(server, waiting) };
      assert.equal(before.scheduled.filter((t) => t === "SESSION_EXPIRE").length, 1, before.scheduled.join());
      assert.equal(before.waiting.filter((t) => t === "SESSION_EXPIRE").length, 1, before.waiting.join());
      assert.equal(before.scheduled.at(-1), "SESSION_EXPIRE");

      assert.equal(await server.app.jobs.runNow("expire-sessions"), "expired 0 sessions");
      assert.deepEqual(await timelineTypes(server, scheduled), before.scheduled);
      assert.deepEqual(await timelineTypes(server, waiting), before.waiting);
      for (const [id, status] of Object.entries(expected)) assert.equal(await statusOf(server, tutor.token, id), status, id);
    });

    it("ends what SESSION_MAX_DURATION (4 h) allows: an endless WAITING session expires, a running lesson is completed, a solo workspace stays", async () => {
      const tutor = await registerUser(server, "TUTOR");
      const waiting = await createSession(server, tutor.token); // WAITING without an end
      const active = await createSession(server, tutor.token);
      const paused = await createSession(server, tutor.token);
      const recent = await createSession(server, tutor.token);
      for (const id of [active, paused, recent]) {
        ok(await server.gql(`mutation($id: ID!) { joinSession(id: $id) { participant { id } } }`, { id }, tutor.token));
        ok(await server.gql(`mutation($id: ID!) { startSession(id: $id) { status } }`, { id }, tutor.token));
      }
      ok(await server.gql(`mutation($id: ID!) { pauseSession(id: $id) { status } }`, { id: paused }, tutor.token));
      const solo = ok(await server.gql(`mutation { createSoloSession(title: "mine") { id } }`, {}, tutor.token)).createSoloSession.id;
      // Created and started 5 hours ago (the clock is Postgres's; the rows say when).
      await server.app.db.query(`UPDATE classroom_sessions SET created_at = now() - interval '5 hours' WHERE id = ANY($1::uuid[])`, [
        [waiting, active, paused, solo],
      ]);
      await server.app.db.query(`UPDATE classroom_sessions SET actual_start = now() - interval '5 hours' WHERE id = ANY($1::uuid[])`, [[active, paused, solo]]);

      assert.equal(await server.app.jobs.runNow("expire-sessions"), "expired 1 session, completed 2 lessons past SESSION_MAX_DURATION");
      const expected: Record<string, string> = { [waiting]: "EXPIRED", [active]: "COMPLETED", [paused]: "COMPLETED", [recent]: "ACTIVE", [solo]: "ACTIVE" };
      for (const [id, status] of Object.entries(expected)) assert.equal(await statusOf(server, tutor.token, id), status, id);
      const ends: Array<{ data: { reason?: string } }> = await server.app.db.query(
        `SELECT data FROM session_events WHERE session_id = ANY($1::uuid[]) AND type = 'SESSION_END'`,
        [[active, paused]],
      );
      assert.deepEqual(
        ends.map((e) => e.data.reason),
        ["MAX_DURATION", "MAX_DURATION"],
      );
      // A completed lesson takes no more writes.
      const write = await server.gql(
        `mutation($s: ID!, $e: [BoardEventInput!]!) { applyBoardEvents(sessionId: $s, events: $e) { version } }`,
        {
          s: active,
          e: [
            {
              clientOpId: "late",
              type: "STROKE",
              baseVersion: 0,
              data: {
                id: "late",
                points: [
                  [0, 0],
                  [1, 1],
                ],
              },
            },
          ],
        },
        tutor.token,
      );
      assert.equal(write.body.errors?.[0]?.extensions?.code, "INVALID_STATE", write.text);
      assert.equal(await server.app.jobs.runNow("expire-sessions"), "expired 0 sessions");
    });

    it("rejects an unknown job name", async () => {
      await assert.rejects(server.app.jobs.runNow("no-such-job"), UnknownJobError);
    });
  });

  describe(`the server's job schedule [${backend.name}]`, { skip: backend.skip }, () => {
    // The embedded database is shared across a restart through a DATA_DIR on disk.
    let dataDir: string | undefined;
    const servers: TestServer[] = [];
    after(async () => {
      await Promise.all(servers.map((s) => s.stop()));
      if (dataDir) fs.rmSync(dataDir, { recursive: true, force: true });
    });

    it("with JOBS_ENABLED, listen() starts the schedule: expire-sessions runs at start; stop() ends it", async () => {
      if (backend.name === "embedded") dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "classroom-jobs-"));
      const first = await startTestServer(backend, { env: dataDir ? { DATA_DIR: dataDir } : {} });
      servers.push(first);
      const tutor = await registerUser(first, "TUTOR");
      const stale = await createSession(first, tutor.token, { start: -3 * HOUR, end: -2 * HOUR });
      await first.stop();

      const second = await startTestServer(backend, { share: first, env: { JOBS_ENABLED: "true" } });
      servers.push(second);
      // The first run comes from a timer (in-process) or from Redis (BullMQ), never before
      // startTestServer has returned, so this listener cannot miss it.
      const [run] = await nextRuns(second.app.jobs, 1, "expire-sessions");
      assert.equal(run.trigger, "schedule");
      assert.equal(run.summary, "expired 1 session", String(run.error));
      if (backend.name === "real") assert.match(run.runId, /^repeat:expire-sessions:\d+$/);
      assert.equal(await statusOf(second, tutor.token, stale), "EXPIRED");
      await second.stop();
    });
  });
}

describe("InProcessScheduler", () => {
  it("runs each job at start, then every everyMs, one run at a time", async () => {
    let active = 0;
    let mostActive = 0;
    const job: JobDefinition = {
      name: "tick",
      description: "test",
      everyMs: 5,
      async run() {
        mostActive = Math.max(mostActive, ++active);
        await turn();
        active--;
        return outcome(1, "ticked");
      },
    };
    const scheduler = createJobScheduler([job], testContext().ctx);
    assert.equal(scheduler.driver, "in-process");
    const runs = nextRuns(scheduler, 3);
    await scheduler.start();
    for (const run of await runs) {
      assert.deepEqual([run.job, run.trigger, run.summary], ["tick", "schedule", "ticked"]);
    }
    await scheduler.stop();
    assert.equal(mostActive, 1);
  });

  it("makes runNow wait for a scheduled run in progress, and stop() wait for both", async () => {
    const events: string[] = [];
    const release = gate();
    const firstStarted = gate();
    const job: JobDefinition = {
      name: "slow",
      description: "test",
      everyMs: HOUR,
      async run() {
        events.push("start");
        firstStarted.open();
        await release.promise;
        events.push("end");
        return outcome(1, "done");
      },
    };
    const scheduler = createJobScheduler([job], testContext().ctx);
    await scheduler.start();
    await firstStarted.promise;
    const manual = scheduler.runNow("slow");
    await turn(); // an overlapping implementation would have started the second run by now
    assert.deepEqual(events, ["start"]);
    const stopped = scheduler.stop().then(() => events.push("stopped"));
    await turn();
    assert.deepEqual(events, ["start"]);
    release.open();
    assert.equal(await manual, "done");
    await stopped;
    assert.deepEqual(events, ["start", "end", "start", "end", "stopped"]);
    await assert.rejects(scheduler.runNow("slow"), /stopped/);
  });

  it("logs a failed run, never throws it at the process, and keeps the schedule going", async () => {
    let calls = 0;
    const job: JobDefinition = {
      name: "flaky",
      description: "test",
      everyMs: 5,
      async run() {
        if (++calls === 1) throw new Error("database went away");
        return outcome(1, "recovered");
      },
    };
    const { ctx, logs } = testContext();
    const scheduler = createJobScheduler([job], ctx);
    const runs = nextRuns(scheduler, 2);
    await scheduler.start();
    const [failed, recovered] = await runs;
    await scheduler.stop();
    assert.equal((failed.error as Error).message, "database went away");
    assert.equal(recovered.summary, "recovered");
    const logged = logs.find((l) => l.msg === "job failed");
    assert.ok(logged, JSON.stringify(logs));
    assert.equal(logged.job, "flaky");
    assert.equal(logged.err.message, "database went away");
  });

  it("logs a run that changed nothing at debug, so an idle server's log stays quiet, and one that changed something at info", async () => {
    let changed = 0;
    const job: JobDefinition = { name: "sweep", description: "test", everyMs: HOUR, run: async () => outcome(changed, `swept ${changed}`) };
    const { ctx, logs } = testContext();
    const scheduler = createJobScheduler([job], { ...ctx, logger: ctx.logger.child({}, { level: "debug" }) });
    try {
      await scheduler.runNow("sweep");
      changed = 2;
      await scheduler.runNow("sweep");
    } finally {
      await scheduler.stop();
    }
    const finished = logs.filter((l) => l.msg === "job finished").map((l) => [l.summary, pino.levels.labels[l.level]]);
    assert.deepEqual(finished, [
      ["swept 0", "debug"],
      ["swept 2", "info"],
    ]);
  });
});

describe("BullMqScheduler [real]", { skip: real.skip }, () => {
  it("two instances on one Redis share one schedule: each period's run happens once, on one of them", async () => {
    const redisUrl = await testRedisUrl();
    const redisPrefix = `test-${randomBytes(4).toString("hex")}:`;
    const everyMs = 100;
    const job: JobDefinition = { name: "tick", description: "test", everyMs, run: async () => outcome(1, "ticked") };
    const instances = [0, 1].map(() => createJobScheduler([job], testContext({ REDIS_URL: redisUrl, REDIS_PREFIX: redisPrefix }).ctx));
    assert.deepEqual(
      instances.map((s) => s.driver),
      ["bullmq", "bullmq"],
    );
    // One shared counter of runs across both instances.
    const runs: JobRun[] = [];
    const enough = new Promise<void>((resolve) => {
      for (const scheduler of instances) {
        scheduler.onRun((run) => {
          runs.push(run);
          if (runs.length === 6) resolve();
        });
      }
    });
    await Promise.all(instances.map((s) => s.start()));
    await enough;
    await Promise.all(instances.map((s) => s.stop()));

    // BullMQ names a scheduled run `repeat:<scheduler id>:<slot ms>`: one job per slot.
    const slots = runs.map((run) => {
      assert.equal(run.summary, "ticked");
      const match = /^repeat:tick:(\d+)$/.exec(run.runId);
      assert.ok(match, run.runId);
      return Number(match[1]);
    });
    assert.equal(new Set(slots).size, slots.length, `a period ran twice: ${slots.join(", ")}`);
    // One schedule, not one per instance: every slot is a whole number of periods after the first.
    slots.sort((a, b) => a - b);
    for (const slot of slots.slice(1)) assert.equal((slot - slots[0]) % everyMs, 0, `slots off the schedule: ${slots.join(", ")}`);

    const redis = new Redis(redisUrl, { maxRetriesPerRequest: null });
    const queue = new Queue(JOB_QUEUE, { connection: redis, prefix: `${redisPrefix}bull` });
    try {
      const schedulers = await queue.getJobSchedulers();
      assert.deepEqual(
        schedulers.map((s) => [s.key, s.every]),
        [["tick", everyMs]],
      );
    } finally {
      await queue.close();
      await redis.quit();
    }
  });

  it("runNow runs the job here and answers its summary", async () => {
    const redisUrl = await testRedisUrl();
    const job: JobDefinition = { name: "manual", description: "test", everyMs: HOUR, run: async () => outcome(1, "by hand") };
    const scheduler = createJobScheduler([job], testContext({ REDIS_URL: redisUrl, REDIS_PREFIX: `test-${randomBytes(4).toString("hex")}:` }).ctx);
    assert.equal(await scheduler.runNow("manual"), "by hand");
    await scheduler.stop(); // never started: nothing to close
  });
});

/**
 * A process that starts a scheduler, waits for its first run, stops it and must then exit
 * on its own: nothing of either driver may keep the event loop alive after stop().
 */
function schedulerProcess(env: Record<string, string>): Promise<NodeRun> {
  const script = `
    const { createJobScheduler } = require(${JSON.stringify(path.join(root, "dist/src/jobs/scheduler.js"))});
    const { loadConfig } = require(${JSON.stringify(path.join(root, "dist/src/config.js"))});
    const { createLogger } = require(${JSON.stringify(path.join(root, "dist/src/infra/logger.js"))});
    const config = loadConfig(process.env);
    const job = { name: "once", description: "test", everyMs: 3600000, run: async () => ({ summary: "ran", changed: 1 }) };
    const scheduler = createJobScheduler([job], { services: {}, config, logger: createLogger("warn", { fd: 2 }), now: () => new Date() });
    scheduler.onRun((run) => {
      console.log(run.summary);
      scheduler.stop().then(() => console.log("stopped " + scheduler.driver));
    });
    scheduler.start();
  `;
  // The timeout is a guard against a hang (the failure being tested), not a wait.
  return runNode(["-e", script], { cwd: root, env: { PATH: process.env.PATH ?? "", ...env }, timeout: 30_000 });
}

for (const backend of backends) {
  describe(`a stopped scheduler leaves nothing open [${backend.name}]`, { skip: backend.skip }, () => {
    it("the process exits by itself after stop()", async () => {
      const redisUrl = await backend.redisUrl();
      const env: Record<string, string> = redisUrl ? { REDIS_URL: redisUrl, REDIS_PREFIX: `test-${randomBytes(4).toString("hex")}:` } : {};
      const result = await schedulerProcess(env);
      assert.deepEqual([result.code, result.signal], [0, null], result.stdout + result.stderr);
      assert.equal(result.stdout, `ran\nstopped ${redisUrl ? "bullmq" : "in-process"}\n`);
    });
  });
}
