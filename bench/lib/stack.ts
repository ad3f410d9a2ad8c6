/**
 * What every scenario runs against: a throw-away Postgres and Redis (tests/support/servers),
 * one migrated database, the API server as its own process (`node dist/src/main.js`), and
 * users seeded straight into the database with tokens signed by the server's secret (the
 * sign-up path hashes passwords with argon2, which would measure nothing but argon2).
 */
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { Pool } from "pg";
import { TokenService } from "../../src/auth/tokens";
import { loadConfig } from "../../src/config";
import { realServersAvailable, startPostgres, startRedis, type PostgresServer, type RedisServer } from "../../tests/support/servers";
import { gql, pool } from "./clients";

const root = path.resolve(__dirname, "../../..");
const SECRET = "bench-secret-bench-secret-bench-secret-0123456789";
/** METRICS_TOKEN of the bench's servers: the harness reads GET /metrics as a scraper would. */
export const BENCH_METRICS_TOKEN = "bench-metrics-token-0123456789";

/**
 * The server's environment: limits are lifted so each scenario measures what it says and not
 * a limiter, but two kept at their defaults: createSession 30/h per user (each scenario uses
 * its own tutor) and cursor moves 20/s per user (CURSOR_RATE_PER_USER: the cursors scenario
 * moves at exactly 20 Hz, and the product's own limit is part of what it measures).
 */
function serverEnv(databaseUrl: string, redisUrl: string, dataDir: string): Record<string, string> {
  return {
    DATABASE_URL: databaseUrl,
    REDIS_URL: redisUrl,
    JWT_SECRET: SECRET,
    PORT: "0",
    HOST: "127.0.0.1",
    DATA_DIR: dataDir,
    LOG_LEVEL: "warn",
    JOBS_ENABLED: "false",
    LOGIN_RATE_PER_EMAIL: "1000000",
    LOGIN_RATE_PER_IP: "1000000",
    // Every load generator's socket comes from 127.0.0.1, as a whole school behind one NAT would.
    WS_PENDING_PER_IP: "1000000",
    WS_NEW_PER_IP_PER_MINUTE: "1000000",
    STATEMENT_TIMEOUT_MS: "60000",
    ACCESS_TOKEN_TTL: "1d",
    SESSION_TOKEN_TTL: "1d",
    MAX_PAGE_SIZE: "1000",
    METRICS_TOKEN: BENCH_METRICS_TOKEN,
    // The embedded server's users sign up through the API, all from 127.0.0.1.
    REGISTER_RATE_PER_IP: "1000000",
  };
}

export interface ApiServer {
  url: string;
  pid: number;
  /** SIGTERM, then the exit (SIGKILL after `graceMs`, default 15 s). */
  stop(graceMs?: number): Promise<void>;
}

export interface Stack {
  databaseUrl: string;
  redisUrl: string;
  /** The benchmark database, for seeding, verification and the raw-`pg` baselines. */
  db: Pool;
  /**
   * Starts an API server process; with `profileName` it writes a CPU profile on exit; `env`
   * overrides the bench's server environment (a feature switched off, for comparison).
   */
  startServer(profileName?: string, env?: Record<string, string>): Promise<ApiServer>;
  /**
   * Starts an API server process on the embedded default (PGlite in a fresh DATA_DIR,
   * in-process pub/sub): what `npm start` gives a newcomer. Its data goes with its stop.
   */
  startEmbeddedServer(profileName?: string): Promise<ApiServer>;
  /** `count` users of `role` inserted in one statement, each with an access token. */
  seedUsers(prefix: string, count: number, role: "TUTOR" | "STUDENT"): Promise<SeededUser[]>;
  stop(): Promise<void>;
  /** SIGKILLs the API servers at once (an interrupted run); Postgres and Redis go on exit. */
  kill(): void;
}

export interface SeededUser {
  id: string;
  displayName: string;
  token: string;
}

/** Stops the run with a clear message when the real servers cannot be started here. */
export function requireBinaries(): void {
  const found = realServersAvailable();
  const missing = [!found.postgres && "postgres + initdb (Debian package `postgresql`)", !found.redis && "redis-server (package `redis-server`)"].filter(
    Boolean,
  );
  if (missing.length) {
    console.error(
      `bench: cannot run: ${missing.join(" and ")} not found on PATH or in /usr/lib/postgresql/*/bin.\n` +
        `The baselines talk to a real Postgres through raw \`pg\`, so the embedded PGlite would compare unlike with unlike.`,
    );
    process.exit(2);
  }
}

export async function startStack(log: (msg: string) => void): Promise<Stack> {
  let postgres: PostgresServer | undefined;
  let redis: RedisServer | undefined;
  try {
    [postgres, redis] = await Promise.all([startPostgres({ settings: { max_connections: 300, shared_buffers: "256MB" } }), startRedis()]);
  } catch (err) {
    await Promise.all([postgres?.stop(), redis?.stop()]);
    throw err;
  }
  const databaseUrl = await postgres.createDatabase("bench");
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "classroom-bench-"));
  const env = serverEnv(databaseUrl, redis.url, dataDir);
  const migrated = spawnSync(process.execPath, [path.join(root, "dist/src/cli/migrate.js")], { env: { ...process.env, ...env }, encoding: "utf8" });
  if (migrated.status !== 0) throw new Error(`migrations failed:\n${migrated.stdout}${migrated.stderr}`);
  log(`postgres ${postgres.url}, redis ${redis.url}, migrated`);

  const db = new Pool({ connectionString: databaseUrl, max: 24 });
  db.on("error", () => undefined); // idle clients cut when Postgres stops at the end
  const tokens = new TokenService(SECRET, loadConfig(env));
  const servers = new Set<ChildProcess>();
  const kill = () => servers.forEach((child) => child.kill("SIGKILL"));

  return {
    databaseUrl,
    redisUrl: redis.url,
    db,
    startServer: (profileName, overrides = {}) => startServerProcess({ ...env, ...overrides }, servers, profileName),
    async startEmbeddedServer(profileName) {
      const embeddedDir = fs.mkdtempSync(path.join(os.tmpdir(), "classroom-bench-embedded-"));
      const server = await startServerProcess({ ...env, DATABASE_URL: "", REDIS_URL: "", DATA_DIR: embeddedDir }, servers, profileName).catch((err) => {
        fs.rmSync(embeddedDir, { recursive: true, force: true });
        throw err;
      });
      return {
        ...server,
        async stop(graceMs) {
          await server.stop(graceMs);
          fs.rmSync(embeddedDir, { recursive: true, force: true });
        },
      };
    },
    async seedUsers(prefix, count, role) {
      const { rows } = await db.query<{ id: string; display_name: string }>(
        `INSERT INTO users (email, password_hash, display_name, role)
         SELECT $1 || '-' || g || '@bench.test', 'not-a-hash', $1 || ' ' || g, $2 FROM generate_series(1, $3) g
         RETURNING id, display_name`,
        [prefix, role, count],
      );
      return rows.map((r) => ({ id: r.id, displayName: r.display_name, token: tokens.signAccess({ id: r.id, role: role as never }).token }));
    },
    kill,
    async stop() {
      kill();
      await db.end();
      await Promise.all([postgres!.stop(), redis!.stop()]);
      fs.rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

export const PROFILE_DIR = path.join(root, "bench/results/profiles");

async function startServerProcess(env: Record<string, string>, servers: Set<ChildProcess>, profileName?: string): Promise<ApiServer> {
  const execArgv = profileName ? ["--cpu-prof", `--cpu-prof-dir=${PROFILE_DIR}`, `--cpu-prof-name=${profileName}.cpuprofile`] : [];
  const child = spawn(process.execPath, [...execArgv, path.join(root, "dist/src/main.js")], {
    env: { ...process.env, ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  servers.add(child);
  const exited = new Promise<void>((resolve) => child.once("exit", () => (servers.delete(child), resolve())));
  let output = "";
  const url = await new Promise<string>((resolve, reject) => {
    child.stdout!.on("data", (chunk) => {
      output += chunk;
      const match = /ready at (http:\/\/\S+)\/graphql/.exec(output);
      if (match) resolve(match[1].replace("localhost", "127.0.0.1"));
    });
    child.stderr!.on("data", (chunk) => {
      output += chunk;
      if (output.length > 20_000) output = output.slice(-10_000);
    });
    void exited.then(() => reject(new Error(`API server exited before listening:\n${output}`)));
  });
  // Keep draining its output (warnings) so a full pipe never stalls it; show errors.
  child.stderr!.on("data", (chunk) => process.stderr.write(`[server] ${chunk}`));
  // Its log (JSON on stdout, LOG_LEVEL warn): errors are shown, so a wrong answer has its cause beside it.
  child.stdout!.on("data", (chunk: Buffer) => {
    for (const line of String(chunk).split("\n")) if (/"level":(50|60)/.test(line)) process.stderr.write(`[server] ${line.slice(0, 2000)}\n`);
  });
  return {
    url,
    pid: child.pid as number,
    async stop(graceMs = 15_000) {
      child.kill("SIGTERM");
      const timer = setTimeout(() => child.kill("SIGKILL"), graceMs);
      await exited;
      clearTimeout(timer);
    },
  };
}

/**
 * Why a scenario cannot run on this server: `ClassroomSession.<field>` is missing from its
 * schema (a feature still being built, issue #5); undefined when it is there.
 */
export async function missingSessionField(url: string, field: string): Promise<string | undefined> {
  const data = await gql<{ __type: { fields: Array<{ name: string }> } | null }>(url, `{ __type(name: "ClassroomSession") { fields { name } } }`);
  return data.__type?.fields.some((f) => f.name === field) ? undefined : `ClassroomSession.${field} is not in this server's schema yet (issue #5)`;
}

/**
 * A user signed up through the API (where users cannot be seeded into the database: the
 * embedded server's PGlite is inside its process), as seedUsers names them.
 */
export async function registerUser(url: string, prefix: string, n: number, role: "TUTOR" | "STUDENT"): Promise<SeededUser> {
  const displayName = `${prefix} ${n}`;
  const { register } = await gql(url, `mutation($i: RegisterInput!) { register(input: $i) { accessToken user { id } } }`, {
    i: { email: `${prefix}-${n}@bench.test`, password: "bench-password-0123", displayName, role },
  });
  return { id: register.user.id, displayName, token: register.accessToken };
}

/**
 * A GROUP session hosted by `tutor` with `students` joined (by its access code), ACTIVE
 * when `start`. Answers its id. The tutor joins too: board writes need a seat, the host's
 * included (RULES.md "Participants").
 */
export async function createSession(url: string, tutor: SeededUser, students: SeededUser[], start = true): Promise<string> {
  const { createSession: created } = await gql(
    url,
    `mutation { createSession(input: { type: GROUP, title: "bench", maxParticipants: 500 }) { id accessCode } }`,
    {},
    tutor.token,
  );
  await gql(url, `mutation($s: ID!) { joinSession(id: $s) { participant { id } } }`, { s: created.id }, tutor.token);
  await pool(students.length, 16, (i) =>
    gql(url, `mutation($c: String!) { joinSessionByCode(accessCode: $c) { participant { id } } }`, { c: created.accessCode }, students[i].token),
  );
  if (start) await gql(url, `mutation($s: ID!) { startSession(id: $s) { status } }`, { s: created.id }, tutor.token);
  return created.id;
}
