import { randomBytes } from "node:crypto";
import { realServersAvailable, startPostgres, startRedis, type PostgresServer, type RedisServer } from "./servers";

/**
 * The backends integration and e2e suites run against: the embedded default (PGlite +
 * in-process pub/sub) and real Postgres + Redis. `scripts/test.mjs` starts one Postgres and
 * one Redis for the whole run (TEST_DATABASE_URL, TEST_REDIS_URL); a file run on its own
 * starts its own when the binaries are there. In CI the real backend is never skipped.
 */
export interface Backend {
  name: "embedded" | "real";
  /** Why the backend cannot run here, or undefined when it can. */
  skip?: string;
  /** A fresh, empty database: a DATABASE_URL, or undefined for a throw-away PGlite. */
  freshDatabase(): Promise<string | undefined>;
  /** The Redis to use, or undefined for in-process pub/sub. */
  redisUrl(): Promise<string | undefined>;
}

/**
 * A suite's skip reason when it needs two API instances on one database: the embedded
 * database belongs to one process, so only the real backend can give them.
 */
export function acrossInstances(backend: Backend): string | undefined {
  return backend.name === "embedded" ? "one process on the embedded database" : backend.skip;
}

let postgres: Promise<PostgresServer> | undefined;
let redis: Promise<RedisServer> | undefined;
let adminUrl: string | undefined = process.env.TEST_DATABASE_URL;

async function postgresAdminUrl(): Promise<string> {
  if (adminUrl) return adminUrl;
  postgres ??= startPostgres();
  adminUrl = (await postgres).url;
  return adminUrl;
}

/** A database on the shared test Postgres, named t_<random>. */
export async function createTestDatabase(): Promise<string> {
  const { Client } = await import("pg");
  const admin = await postgresAdminUrl();
  const name = `t_${randomBytes(6).toString("hex")}`;
  const client = new Client({ connectionString: admin });
  await client.connect();
  try {
    await client.query(`CREATE DATABASE ${name}`);
  } finally {
    await client.end();
  }
  const url = new URL(admin);
  url.pathname = `/${name}`;
  return url.toString();
}

/** The shared test Redis URL (started on demand when not given by the runner). */
export async function testRedisUrl(): Promise<string> {
  if (process.env.TEST_REDIS_URL) return process.env.TEST_REDIS_URL;
  redis ??= startRedis();
  return (await redis).url;
}

function realSkipReason(): string | undefined {
  if (process.env.TEST_REAL_SERVERS === "skip") return "no postgres/redis-server binaries on this machine";
  if (process.env.TEST_DATABASE_URL && process.env.TEST_REDIS_URL) return undefined;
  const found = realServersAvailable();
  if (found.postgres && found.redis) return undefined;
  const reason = "no postgres/redis-server binaries on this machine";
  if (process.env.CI) throw new Error(`CI must run the real backend, but there are ${reason}`);
  return reason;
}

export const embedded: Backend = {
  name: "embedded",
  freshDatabase: async () => undefined,
  redisUrl: async () => undefined,
};

export const real: Backend = {
  name: "real",
  skip: realSkipReason(),
  freshDatabase: createTestDatabase,
  redisUrl: testRedisUrl,
};

/** Both backends, for `for (const backend of backends) describe(…, { skip: backend.skip }, …)`. */
export const backends: readonly Backend[] = [embedded, real];

/** Stops servers this process started itself (the runner's own are stopped by the runner). */
export async function stopOwnServers(): Promise<void> {
  await Promise.all([postgres?.then((s) => s.stop()), redis?.then((s) => s.stop())]);
}
