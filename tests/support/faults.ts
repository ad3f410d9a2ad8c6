/**
 * The faults suite's stack (HARDENING.md "Faults to survive"; `npm run test:faults`): its own
 * PostgreSQL and Redis (tests/support/servers: the tests kill and restart them), a migrated
 * database, two API instances as child processes (`node dist/src/main.js`) on fixed ports
 * (so a restarted one is found where its clients left it), and the clients that run through
 * every fault:
 * - writers: applyBoardEvents over HTTP with clientOpIds, each batch retried with the SAME
 *   clientOpIds on a retryable error, a timeout or a lost connection (on the other instance
 *   when theirs does not answer), every acknowledged op recorded;
 * - subscribers: boardEvents through the official graphql-ws client, one per user and
 *   instance; when their socket or subscription ends they reconnect and resume with
 *   afterSeq = the last seq they saw.
 * After each fault `verify` checks what a client can observe, against the database.
 */
import assert from "node:assert/strict";
import { after, before } from "node:test";
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import fs from "node:fs";
import http from "node:http";
import os from "node:os";
import path from "node:path";
import { createClient, type Client as WsClient } from "graphql-ws";
import { Client as PgClient, Pool } from "pg";
import WebSocket from "ws";
import { freePort, realServersAvailable, startPostgres, startRedis, type PostgresServer, type RedisServer } from "./servers";

const root = path.resolve(__dirname, "../../..");
const SECRET = "faults-secret-faults-secret-faults-secret-0123";

/** Why the faults suite cannot run here (no binaries), or undefined. In CI it never skips. */
export function faultsSkip(): string | undefined {
  const found = realServersAvailable();
  if (found.postgres && found.redis) return undefined;
  const reason = "the faults suite needs postgres + initdb and redis-server";
  if (process.env.CI && !["0", "false"].includes(process.env.CI.toLowerCase())) throw new Error(`CI must run the faults suite, but ${reason}`);
  return reason;
}

const delay = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Polls `check` until it holds (a condition on the stack's state); fails after `ms` with `what`. */
export async function until(what: string, check: () => boolean | Promise<boolean>, ms = 30_000, everyMs = 50): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`not reached within ${ms} ms: ${what}`);
    await delay(everyMs);
  }
}

// ---------------------------------------------------------------------------------------
// API instances

export interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

/** API processes still running when the test process exits (a failed start, a failed test) are killed. */
const liveChildren = new Set<ChildProcess>();
process.on("exit", () => liveChildren.forEach((child) => child.kill("SIGKILL")));

/** One API server process; `start()` again after it exited brings it back on the same port. */
export class Instance {
  readonly url: string;
  readonly wsUrl: string;
  child: ChildProcess | undefined;
  /** Exits the test did not cause: a crash. */
  readonly crashes: Array<Exit & { log: string }> = [];
  private exited: Promise<Exit> | undefined;
  private expectExit = false;
  private readonly logFile: string;

  constructor(
    readonly name: string,
    readonly port: number,
    private readonly env: Record<string, string>,
    dir: string,
  ) {
    this.url = `http://127.0.0.1:${port}`;
    this.wsUrl = `ws://127.0.0.1:${port}/graphql`;
    this.logFile = path.join(dir, `api-${name}.log`);
  }

  get running(): boolean {
    return !!this.child && this.child.exitCode === null && this.child.signalCode === null;
  }

  /** Spawns the process and resolves once it listens. */
  async start(): Promise<void> {
    assert.ok(!this.running, `${this.name} is already running`);
    this.expectExit = false;
    const log = fs.openSync(this.logFile, "a");
    const child = spawn(process.execPath, [path.join(root, "dist/src/main.js")], {
      env: { ...process.env, ...this.env, PORT: String(this.port) },
      stdio: ["ignore", "pipe", log],
    });
    fs.closeSync(log);
    this.child = child;
    liveChildren.add(child);
    this.exited = new Promise<Exit>((resolve) =>
      child.once("exit", (code, signal) => {
        liveChildren.delete(child);
        if (!this.expectExit) this.crashes.push({ code, signal, log: this.logTail() });
        resolve({ code, signal });
      }),
    );
    let output = "";
    let ready = false;
    await new Promise<void>((resolve, reject) => {
      // Its log goes on being read into the file, so a full pipe never stalls it.
      child.stdout!.on("data", (chunk: Buffer) => {
        fs.appendFileSync(this.logFile, chunk);
        if (ready) return;
        output += chunk;
        if (/ready at http:\/\/\S+\/graphql/.test(output)) {
          ready = true;
          output = "";
          resolve();
        }
      });
      void this.exited!.then((exit) => reject(new Error(`${this.name} exited (${JSON.stringify(exit)}) before listening:\n${this.logTail()}`)));
    });
  }

  /** Sends `signal` (the test's own doing, not a crash) and resolves with the exit. */
  async signal(signal: "SIGTERM" | "SIGKILL", graceMs = 30_000): Promise<Exit> {
    assert.ok(this.child && this.exited, `${this.name} was never started`);
    this.expectExit = true;
    this.child.kill(signal);
    const timer = setTimeout(() => this.child?.kill("SIGKILL"), graceMs);
    try {
      return await this.exited;
    } finally {
      clearTimeout(timer);
    }
  }

  /** Resolves with the exit of the current process (for a signal sent just before). */
  exit(): Promise<Exit> {
    return this.exited!;
  }

  async readyz(): Promise<number> {
    try {
      return (await get(`${this.url}/readyz`)).status;
    } catch {
      return 0; // not listening
    }
  }

  async healthz(): Promise<{ database?: string; redis?: string }> {
    try {
      return JSON.parse((await get(`${this.url}/healthz`)).text) as { database?: string; redis?: string };
    } catch {
      return {};
    }
  }

  logTail(): string {
    try {
      return fs.readFileSync(this.logFile, "utf8").slice(-6000);
    } catch {
      return "(no log)";
    }
  }
}

// ---------------------------------------------------------------------------------------
// HTTP, each request on a connection of its own

/** GET on a fresh connection (see gql); rejects on a socket error or after `timeoutMs`. */
function get(url: string, timeoutMs = 5000): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const req = http.get(url, { agent: false }, (res) => {
      let text = "";
      res.setEncoding("utf8");
      res.on("data", (chunk: string) => (text += chunk));
      res.on("error", reject);
      res.on("end", () => resolve({ status: res.statusCode ?? 0, text }));
    });
    req.setTimeout(timeoutMs, () => req.destroy(Object.assign(new Error(`no answer within ${timeoutMs} ms`), { code: "TIMEOUT" })));
    req.on("error", reject);
  });
}

export interface GqlAnswer {
  status: number;
  body: { data?: any; errors?: Array<{ message: string; extensions?: Record<string, any> }> };
}

/**
 * POSTs a GraphQL operation on a connection of its own (no keep-alive: a request never races
 * the server closing an idle pooled connection, so a connection closed without an answer is
 * the server's doing). Rejects with the socket's error code (ECONNREFUSED, ECONNRESET, …) or
 * TIMEOUT after `timeoutMs`.
 */
export function gql(instance: Instance, query: string, variables: Record<string, unknown> = {}, token?: string, timeoutMs = 20_000): Promise<GqlAnswer> {
  const body = JSON.stringify({ query, variables });
  return new Promise<GqlAnswer>((resolve, reject) => {
    const req = http.request(`${instance.url}/graphql`, {
      method: "POST",
      agent: false,
      headers: {
        "content-type": "application/json",
        "content-length": Buffer.byteLength(body),
        ...(token ? { authorization: `Bearer ${token}` } : {}),
      },
    });
    req.setTimeout(timeoutMs, () => req.destroy(Object.assign(new Error(`no answer within ${timeoutMs} ms`), { code: "TIMEOUT" })));
    req.on("error", reject);
    req.on("response", (res) => {
      let text = "";
      res.setEncoding("utf8");
      res.on("data", (chunk: string) => (text += chunk));
      res.on("error", reject);
      res.on("end", () => {
        const status = res.statusCode ?? 0;
        try {
          resolve({ status, body: JSON.parse(text) });
        } catch {
          resolve({ status, body: { errors: [{ message: text.slice(0, 200), extensions: { code: `HTTP_${status}` } }] } });
        }
      });
    });
    req.end(body);
  });
}

function data(answer: GqlAnswer): any {
  assert.equal(answer.body.errors, undefined, JSON.stringify(answer.body));
  return answer.body.data;
}

// ---------------------------------------------------------------------------------------
// The stack

export interface User {
  id: string;
  token: string;
}

export interface Lesson {
  sessionId: string;
  tutor: User;
  student: User;
}

export interface Stack {
  postgres: PostgresServer;
  redis: RedisServer;
  databaseUrl: string;
  /** A pool on the lesson database for the checks (not the API's). */
  db: Pool;
  instances: [Instance, Instance];
  lesson: Lesson;
  /** A connection of the test's own to the lesson database (end it when done). */
  connect(): Promise<PgClient>;
  stop(): Promise<void>;
}

/**
 * Starts Postgres and Redis, migrates a database, starts instances "A" and "B" and makes an
 * ACTIVE group lesson with a seated tutor (the writers' user) and a seated student.
 */
export async function startStack(): Promise<Stack> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "classroom-faults-"));
  const [postgres, redis] = await Promise.all([startPostgres(), startRedis()]);
  const databaseUrl = await postgres.createDatabase("faults");
  const env = (name: string): Record<string, string> => {
    const url = new URL(databaseUrl);
    url.searchParams.set("application_name", `api-${name}`); // how the tests find its connections
    const dataDir = path.join(dir, `data-${name}`);
    fs.mkdirSync(dataDir, { recursive: true });
    return {
      DATABASE_URL: url.toString(),
      REDIS_URL: redis.url,
      REDIS_PREFIX: `faults-${randomBytes(3).toString("hex")}:`,
      JWT_SECRET: SECRET,
      HOST: "127.0.0.1",
      DATA_DIR: dataDir,
      LOG_LEVEL: "warn",
    };
  };
  const instances: Instance[] = [];
  const db = new Pool({ connectionString: databaseUrl, max: 4 });
  db.on("error", () => undefined); // idle clients cut by a Postgres restart
  const stop = async () => {
    await Promise.all(instances.map(async (i) => (i.running ? i.signal("SIGTERM") : undefined)));
    await db.end().catch(() => undefined);
    await Promise.all([postgres.stop(), redis.stop()]);
    fs.rmSync(dir, { recursive: true, force: true });
  };
  let lesson: Lesson;
  try {
    const migrated = spawnSync(process.execPath, [path.join(root, "dist/src/cli/migrate.js")], {
      env: { ...process.env, ...env("migrate") },
      encoding: "utf8",
    });
    assert.equal(migrated.status, 0, `migrations failed:\n${migrated.stdout}${migrated.stderr}`);
    const shared = env("A");
    instances.push(
      new Instance("A", await freePort(), shared, dir),
      new Instance("B", await freePort(), { ...shared, ...pick(env("B"), "DATABASE_URL", "DATA_DIR") }, dir),
    );
    await Promise.all(instances.map((i) => i.start()));
    lesson = await createLesson(instances[0]);
  } catch (err) {
    await stop();
    throw err;
  }
  return {
    postgres,
    redis,
    databaseUrl,
    db,
    instances: instances as [Instance, Instance],
    lesson,
    async connect() {
      const client = new PgClient({ connectionString: databaseUrl });
      client.on("error", () => undefined);
      await client.connect();
      return client;
    },
    stop,
  };
}

function pick(env: Record<string, string>, ...keys: string[]): Record<string, string> {
  return Object.fromEntries(keys.map((k) => [k, env[k]]));
}

async function register(instance: Instance, role: "TUTOR" | "STUDENT"): Promise<User> {
  const name = `${role.toLowerCase()}-${randomBytes(4).toString("hex")}`;
  const { register } = data(
    await gql(instance, `mutation($i: RegisterInput!) { register(input: $i) { accessToken user { id } } }`, {
      i: { email: `${name}@example.test`, password: "correct horse battery staple", displayName: name, role },
    }),
  );
  return { id: register.user.id, token: register.accessToken };
}

async function createLesson(a: Instance): Promise<Lesson> {
  const [tutor, student] = await Promise.all([register(a, "TUTOR"), register(a, "STUDENT")]);
  const created = data(await gql(a, `mutation { createSession(input: { type: GROUP }) { id accessCode } }`, {}, tutor.token)).createSession;
  data(await gql(a, `mutation($s: ID!) { joinSession(id: $s) { participant { id } } }`, { s: created.id }, tutor.token));
  data(await gql(a, `mutation($c: String!) { joinSessionByCode(accessCode: $c) { participant { id } } }`, { c: created.accessCode }, student.token));
  data(await gql(a, `mutation($s: ID!) { startSession(id: $s) { status } }`, { s: created.id }, tutor.token));
  return { sessionId: created.id, tutor, student };
}

// ---------------------------------------------------------------------------------------
// Writers

const APPLY = `mutation($s: ID!, $e: [BoardEventInput!]!) {
  applyBoardEvents(sessionId: $s, events: $e) { version accepted { clientOpId seq version } }
}`;

/** One applyBoardEvents request, no retry. */
export function applyOnce(instance: Instance, token: string, sessionId: string, ops: BatchOps, timeoutMs = 15_000): Promise<GqlAnswer> {
  return gql(instance, APPLY, { s: sessionId, e: ops }, token, timeoutMs);
}

/** `count` new strokes named `prefix-<i>` (clientOpIds `prefix-op-<i>`). */
export function strokes(prefix: string, count: number, baseVersion = 0): BatchOps {
  return Array.from({ length: count }, (_, i) => ({
    clientOpId: `${prefix}-op-${i}`,
    type: "STROKE",
    baseVersion,
    data: {
      id: `${prefix}-${i}`,
      points: [
        [0, i],
        [1, i + 1],
      ],
    },
  }));
}

export interface Ack {
  clientOpId: string;
  seq: number;
  version: number;
  /** Date.now() when the answer came. */
  at: number;
}

export interface Attempt {
  instance: string;
  startedAt: number;
  ms: number;
  /** "ok", an error code (UNAVAILABLE, …), or "network: <cause>" for no answer. */
  outcome: string;
}

/** Ops built from a batch number. */
export type BatchOps = Array<{ clientOpId: string; type: string; baseVersion: number; data: Record<string, unknown> }>;

/**
 * Sends one batch until it is acknowledged: the same clientOpIds on every attempt; a
 * retryable error waits retryAfterMs (at most 1 s), no answer (refused, reset, timed out)
 * moves to the next instance. Records every attempt; a non-retryable error is recorded too
 * and, after 20 of them, fails.
 */
export async function sendUntilAcknowledged(
  instances: Instance[],
  start: number,
  token: string,
  sessionId: string,
  ops: BatchOps,
  attempts: Attempt[],
  onAttempt?: (instance: Instance) => void,
  stopped: () => boolean = () => false,
): Promise<{ acks: Ack[]; instance: number }> {
  let target = start;
  let refusals = 0;
  for (;;) {
    if (stopped()) throw new WriterStopped();
    const instance = instances[target];
    onAttempt?.(instance);
    const startedAt = Date.now();
    let outcome: string;
    let wait: number;
    try {
      const answer = await gql(instance, APPLY, { s: sessionId, e: ops }, token, 15_000);
      const payload = answer.body.data?.applyBoardEvents;
      if (payload) {
        const accepted = payload.accepted as Array<{ clientOpId: string; seq: number; version: number }>;
        attempts.push({ instance: instance.name, startedAt, ms: Date.now() - startedAt, outcome: "ok" });
        assert.deepEqual(
          accepted.map((a) => a.clientOpId),
          ops.map((o) => o.clientOpId),
          "every op of the batch is accepted (new strokes never conflict), repeats answered with the original events",
        );
        const at = Date.now();
        return { acks: accepted.map((a) => ({ ...a, at })), instance: target };
      }
      const error = answer.body.errors?.[0];
      outcome = String(error?.extensions?.code ?? `HTTP_${answer.status}`);
      if (error?.extensions?.retryable) {
        wait = Math.min(Number(error.extensions.retryAfterMs) || 200, 1000);
      } else if (/^HTTP_5/.test(outcome)) {
        wait = 200; // a proxy-like answer with no GraphQL body: nothing to learn, retry
      } else {
        if (++refusals > 20) throw new Error(`batch ${ops[0].clientOpId}: refused: ${JSON.stringify(answer.body)}`);
        wait = 500;
      }
    } catch (err) {
      if (err instanceof assert.AssertionError) throw err;
      if (err instanceof Error && err.message.startsWith("batch ")) throw err;
      const cause = (err as { code?: string }).code ?? (err as Error).message;
      outcome = `network: ${cause}`;
      target = (target + 1) % instances.length; // no answer: try the other instance
      wait = 100;
    }
    attempts.push({ instance: instance.name, startedAt, ms: Date.now() - startedAt, outcome });
    await delay(wait);
  }
}

/** Ends the retries of a writer that is stopped (the run is over). */
class WriterStopped extends Error {}

/**
 * One client drawing strokes into the lesson, batch after batch (1 to 3 ops, ~`paceMs`
 * apart), each batch sent until acknowledged (see sendUntilAcknowledged).
 */
export class Writer {
  readonly acks: Ack[] = [];
  readonly attempts: Attempt[] = [];
  /** The instance the current batch is on, or undefined between batches. */
  inFlight: Instance | undefined;
  private batch = 0;
  private version = 0;
  private paused: Promise<void> | undefined;
  private resumeNow: (() => void) | undefined;
  private stopped = false;
  private loop: Promise<void> | undefined;
  private idle = false;
  private idleWaiters: Array<() => void> = [];
  failure: unknown;

  constructor(
    readonly name: string,
    private readonly instances: Instance[],
    private readonly home: number,
    private readonly token: string,
    private readonly sessionId: string,
    private readonly paceMs = 25,
  ) {}

  start(): void {
    this.loop = this.run().catch((err) => {
      this.failure = err;
    });
  }

  private async run(): Promise<void> {
    while (!this.stopped) {
      if (this.paused) {
        this.idle = true;
        this.idleWaiters.splice(0).forEach((wake) => wake());
        await this.paused;
        this.idle = false;
        continue;
      }
      const n = ++this.batch;
      const size = 1 + (n % 3);
      const ops: BatchOps = Array.from({ length: size }, (_, i) => ({
        clientOpId: `${this.name}-${n}-${i}`,
        type: "STROKE",
        baseVersion: this.version,
        data: {
          id: `${this.name}-s${n}-${i}`,
          points: [
            [n, i],
            [n + 1, i + 1],
          ],
        },
      }));
      let acks: Ack[];
      try {
        ({ acks } = await sendUntilAcknowledged(
          this.instances,
          this.home,
          this.token,
          this.sessionId,
          ops,
          this.attempts,
          (i) => (this.inFlight = i),
          () => this.stopped,
        ));
      } catch (err) {
        if (err instanceof WriterStopped) return;
        throw err;
      }
      this.inFlight = undefined;
      this.acks.push(...acks);
      this.version = Math.max(this.version, ...acks.map((a) => a.version));
      await delay(this.paceMs);
    }
  }

  /** Resolves once the batch in flight is acknowledged and no other is started (or the writer failed). */
  async pause(): Promise<void> {
    if (!this.paused) this.paused = new Promise<void>((resolve) => (this.resumeNow = resolve));
    if (!this.idle) await Promise.race([new Promise<void>((resolve) => this.idleWaiters.push(resolve)), this.loop]);
    if (this.failure) throw this.failure;
  }

  resume(): void {
    const go = this.resumeNow;
    this.paused = undefined;
    this.resumeNow = undefined;
    go?.();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.resume();
    await this.loop;
  }

  /** Acknowledged at or after `since` (Date.now()). */
  acksSince(since: number): Ack[] {
    return this.acks.filter((a) => a.at >= since);
  }
}

// ---------------------------------------------------------------------------------------
// Subscribers

const BOARD_EVENTS = `subscription($s: ID!, $after: Int) { boardEvents(sessionId: $s, afterSeq: $after) { seq version clientOpId } }`;

export interface Frame {
  seq: number;
  version: number;
  clientOpId: string;
}

/** The codes of GraphQL errors, or the message or type of an error event. */
function describeEnding(err: unknown): string {
  const errors = (Array.isArray(err) ? err : [err]) as Array<{ extensions?: { code?: unknown }; message?: unknown; type?: unknown }>;
  return errors.map((e) => String(e?.extensions?.code ?? e?.message ?? e?.type ?? e)).join(",");
}

/**
 * A boardEvents subscriber on one instance: whenever its socket closes or its subscription
 * ends it connects again (after a short back-off) and resumes with afterSeq = the last seq it
 * saw. Frames out of order (a seq not above the last one) are kept and fail `verify`.
 */
export class Subscriber {
  readonly frames: Frame[] = [];
  /** Close codes of its sockets, with the time. */
  readonly closes: Array<{ code: number; at: number }> = [];
  /** What ended its subscriptions other than a close (error codes), with the time. */
  readonly endings: Array<{ why: string; at: number }> = [];
  connects = 0;
  lastSeq: number;
  private client: WsClient | undefined;
  private stopped = false;
  private loop: Promise<void> | undefined;
  private waiters = new Set<() => void>();

  constructor(
    readonly name: string,
    readonly instance: Instance,
    private readonly token: string,
    private readonly sessionId: string,
    readonly startSeq = 0,
  ) {
    this.lastSeq = startSeq;
  }

  start(): void {
    this.loop = this.run();
  }

  private async run(): Promise<void> {
    while (!this.stopped) {
      const client = createClient({
        url: this.instance.wsUrl,
        webSocketImpl: WebSocket,
        lazy: true,
        retryAttempts: 0, // this loop reconnects, resuming with afterSeq
        connectionParams: { authorization: `Bearer ${this.token}` },
        on: {
          connected: () => this.connects++,
          closed: (event) => {
            const code = (event as { code?: number })?.code;
            if (typeof code === "number") this.closes.push({ code, at: Date.now() });
          },
        },
      });
      this.client = client;
      await new Promise<void>((resolve) => {
        client.subscribe<{ boardEvents: Frame }>(
          { query: BOARD_EVENTS, variables: { s: this.sessionId, after: this.lastSeq } },
          {
            next: (result) => {
              const frame = result.data?.boardEvents;
              if (!frame) {
                this.endings.push({ why: `errors: ${JSON.stringify(result.errors)}`, at: Date.now() });
                return;
              }
              this.frames.push(frame);
              this.lastSeq = Math.max(this.lastSeq, frame.seq);
              const waiters = [...this.waiters];
              this.waiters.clear();
              waiters.forEach((wake) => wake());
            },
            error: (err) => {
              // A close is in `closes` already; anything else (GraphQL errors, a socket error) here.
              if (typeof (err as { code?: unknown })?.code !== "number") this.endings.push({ why: describeEnding(err), at: Date.now() });
              resolve();
            },
            complete: () => {
              this.endings.push({ why: "complete", at: Date.now() });
              resolve();
            },
          },
        );
      });
      await client.dispose();
      if (!this.stopped) await delay(250); // reconnect back-off
    }
  }

  /** Closes its socket as a client going away would; it connects again and resumes at once. */
  async reconnect(): Promise<void> {
    await this.client?.dispose();
  }

  /** Resolves once it has seen `seq` (or later); fails after `ms`. */
  async reach(seq: number, ms = 30_000): Promise<void> {
    const deadline = Date.now() + ms;
    while (this.lastSeq < seq) {
      const left = deadline - Date.now();
      if (left <= 0) {
        throw new Error(
          `subscriber ${this.name} is at seq ${this.lastSeq}, not ${seq}, after ${ms} ms ` +
            `(closes ${JSON.stringify(this.closes.slice(-5))}, endings ${JSON.stringify(this.endings.slice(-5))})`,
        );
      }
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.waiters.add(() => (clearTimeout(timer), resolve()));
      });
    }
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.client?.dispose();
    await this.loop;
  }
}

// ---------------------------------------------------------------------------------------
// A lesson under faults: the clients, the recovery measure and the checks

export interface Figures {
  fault: string;
  recoverySeconds: number;
  acknowledged: number;
  lost: number;
  duplicates: number;
}

export class Run {
  readonly writers: Writer[];
  readonly subscribers: Subscriber[];
  /** Ops the test itself sent and had acknowledged (staged batches), checked like the writers'. */
  readonly ownAcks: Ack[] = [];
  private faultStartedAt = Date.now();

  constructor(readonly stack: Stack) {
    const [a, b] = stack.instances;
    const { sessionId, tutor, student } = stack.lesson;
    // Two devices of the tutor, one on each instance; clientOpIds differ by writer.
    this.writers = [new Writer("w1", stack.instances, 0, tutor.token, sessionId), new Writer("w2", stack.instances, 1, tutor.token, sessionId)];
    this.subscribers = [
      new Subscriber("tutor@A", a, tutor.token, sessionId),
      new Subscriber("student@A", a, student.token, sessionId),
      new Subscriber("tutor@B", b, tutor.token, sessionId),
      new Subscriber("student@B", b, student.token, sessionId),
    ];
  }

  /** Subscribers first (connected), then writers. */
  async start(): Promise<void> {
    this.subscribers.forEach((s) => s.start());
    await until("every subscriber connected", () => this.subscribers.every((s) => s.connects > 0), 20_000);
    this.writers.forEach((w) => w.start());
    try {
      await until("both writers acknowledged", () => this.writers.every((w) => w.failure || w.acks.length > 0), 20_000);
      for (const w of this.writers) if (w.failure) throw w.failure;
    } catch (err) {
      if (err instanceof Error) err.message += `\nlast attempts: ${JSON.stringify(this.writers.map((w) => w.attempts.slice(-3)))}`;
      throw this.withLogs(err);
    }
  }

  async stop(): Promise<void> {
    await Promise.all(this.writers.map((w) => w.stop()));
    await Promise.all(this.subscribers.map((s) => s.stop()));
  }

  /** Marks the start of a fault's window (its figures count from here). */
  beginFault(): number {
    this.faultStartedAt = Date.now();
    return this.faultStartedAt;
  }

  /**
   * Measures the recovery from `liftedAt` (the fault's end): every instance's /readyz is 200,
   * every writer had a batch acknowledged after it, and every subscriber saw the latest of
   * those. Answers the seconds it took.
   */
  async recovery(liftedAt: number, ms = 60_000): Promise<number> {
    try {
      await until(
        "every instance ready and every writer acknowledged after the fault",
        async () =>
          (await Promise.all(this.stack.instances.map((i) => i.readyz()))).every((s) => s === 200) &&
          this.writers.every((w) => w.acks.some((a) => a.at >= liftedAt)),
        ms,
      );
      const seq = Math.max(...this.writers.flatMap((w) => w.acks.map((a) => a.seq)));
      await Promise.all(this.subscribers.map((s) => s.reach(seq, ms)));
    } catch (err) {
      throw this.withLogs(err);
    }
    return (Date.now() - liftedAt) / 1000;
  }

  /**
   * The checks after a fault, writers paused: no acknowledged op lost, none applied twice,
   * nothing stored that was not acknowledged, every subscriber gap-free and in order up to the
   * last stored event, /readyz 200 everywhere, no instance crashed. Prints the figures line.
   */
  async verify(fault: string, recoverySeconds: number, options: { networkErrors?: boolean } = {}): Promise<Figures> {
    try {
      return await this.check(fault, recoverySeconds, options);
    } catch (err) {
      throw this.withLogs(err);
    }
  }

  /** `err` with the end of each instance's log appended (what the servers said about it). */
  withLogs(err: unknown): unknown {
    if (err instanceof Error) {
      err.message += this.stack.instances.map((i) => `\n--- end of ${i.name}'s log ---\n${i.logTail().slice(-3000)}`).join("");
    }
    return err;
  }

  private async check(fault: string, recoverySeconds: number, { networkErrors = false }: { networkErrors?: boolean }): Promise<Figures> {
    await within(60_000, "every writer's batch in flight acknowledged", Promise.all(this.writers.map((w) => w.pause())));
    try {
      const { rows } = await this.stack.db.query<{ seq: number; version: number; client_op_id: string; object_id: string }>(
        `SELECT seq, board_version AS version, client_op_id, data->>'id' AS object_id
           FROM session_events WHERE session_id = $1 AND board_version IS NOT NULL ORDER BY seq`,
        [this.stack.lesson.sessionId],
      );
      const stored = new Map<string, number>();
      const objects = new Map<string, number>();
      for (const r of rows) {
        stored.set(r.client_op_id, (stored.get(r.client_op_id) ?? 0) + 1);
        if (r.object_id) objects.set(r.object_id, (objects.get(r.object_id) ?? 0) + 1);
      }
      const acks = [...this.writers.flatMap((w) => w.acks), ...this.ownAcks];
      const acked = new Map(acks.map((a) => [a.clientOpId, a]));
      const lost = acks.filter((a) => !stored.has(a.clientOpId));
      const duplicates = [...stored].filter(([, n]) => n > 1).length + [...objects].filter(([, n]) => n > 1).length;
      const extra = rows.filter((r) => !acked.has(r.client_op_id));
      const window = acks.filter((a) => a.at >= this.faultStartedAt).length;
      const figures: Figures = { fault, recoverySeconds, acknowledged: window, lost: lost.length, duplicates };
      const outcomes = new Map<string, number>();
      for (const a of this.attemptsSince(this.faultStartedAt)) {
        if (a.outcome !== "ok") outcomes.set(a.outcome, (outcomes.get(a.outcome) ?? 0) + 1);
      }
      const retries = [...outcomes].map(([o, n]) => `${o} ×${n}`).join(", ") || "none";
      console.log(
        `faults: ${fault}: recovery ${recoverySeconds.toFixed(2)} s, ops acknowledged ${window}, ops lost ${lost.length}, duplicates ${duplicates} (retried after: ${retries})`,
      );
      // A fault of the database or Redis answers UNAVAILABLE (retryable), never an internal
      // error; only a process that goes away leaves a request without an answer.
      const unexpected = [...outcomes.keys()].filter((o) => o !== "UNAVAILABLE" && !(networkErrors && o.startsWith("network: ")));
      assert.deepEqual(unexpected, [], "writers only ever got retryable errors");
      assert.deepEqual(
        lost.map((a) => a.clientOpId),
        [],
        "no acknowledged op is lost",
      );
      assert.equal(duplicates, 0, "no op is applied twice");
      assert.deepEqual(
        extra.map((r) => r.client_op_id),
        [],
        "nothing stored that no writer sent (every sent batch was acknowledged)",
      );
      for (const a of acks) {
        const row = rows.find((r) => r.client_op_id === a.clientOpId)!;
        assert.deepEqual([a.seq, a.version], [row.seq, row.version], `${a.clientOpId}: acknowledged as stored`);
      }
      assert.deepEqual(
        rows.map((r) => r.version),
        rows.map((_, i) => i + 1),
        "board versions are contiguous from 1",
      );

      const last = rows.at(-1)?.seq ?? 0;
      await Promise.all(this.subscribers.map((s) => s.reach(last)));
      for (const s of this.subscribers) {
        const expected = rows.filter((r) => r.seq > s.startSeq).map((r) => `${r.seq}/${r.version}/${r.client_op_id}`);
        const got = s.frames.map((f) => `${f.seq}/${f.version}/${f.clientOpId}`);
        if (got.join() !== expected.join()) {
          const i = got.findIndex((g, k) => g !== expected[k]);
          assert.fail(
            `subscriber ${s.name} is not gap-free and in order: first difference at #${i}: got ${got[i]}, stored ${expected[i]} (${got.length} frames, ${expected.length} stored)`,
          );
        }
      }
      for (const instance of this.stack.instances) {
        assert.deepEqual(
          instance.crashes.map((c) => ({ code: c.code, signal: c.signal })),
          [],
          `${instance.name} crashed:\n${instance.crashes[0]?.log}`,
        );
        assert.equal(instance.running, true, `${instance.name} is running`);
        assert.equal(await instance.readyz(), 200, `${instance.name} /readyz`);
      }
      return figures;
    } finally {
      this.writers.forEach((w) => w.resume());
    }
  }

  /** Writer attempts answered (or failed) at or after `since`. */
  attemptsSince(since: number): Attempt[] {
    return this.writers.flatMap((w) => w.attempts.filter((a) => a.startedAt + a.ms >= since));
  }
}

/** `promise`, or a failure naming `what` after `ms`. */
export async function within<T>(ms: number, what: string, promise: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([promise, new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`not within ${ms} ms: ${what}`)), ms)))]);
  } finally {
    clearTimeout(timer);
  }
}

/** Polls pg_stat_activity until a backend of instance `name` waits on a lock. */
export async function waitForLockWaiter(client: PgClient, name: string, ms = 10_000): Promise<void> {
  await until(
    `a connection of ${name} waiting on a lock`,
    async () => (await client.query(`SELECT 1 FROM pg_stat_activity WHERE application_name = $1 AND wait_event_type = 'Lock'`, [`api-${name}`])).rowCount! > 0,
    ms,
    20,
  );
}

/**
 * The stack of one describe's faults: started (writers and subscribers running) before its
 * tests, stopped after them.
 */
export function runningStack(): { stack: Stack; run: Run } {
  const running = {} as { stack: Stack; run: Run };
  before(async () => {
    running.stack = await startStack();
    running.run = new Run(running.stack);
    await running.run.start();
  });
  after(async () => {
    await running.run?.stop();
    await running.stack?.stop();
  });
  return running;
}
