import { Router } from "express";
import type { DataSource } from "typeorm";
import { isTransientDatabaseError } from "../db/transient";
import type { EventBus } from "../realtime/event-bus";

/** The pg Pool behind a real Postgres DataSource: how it makes its own connections. */
interface PgPool {
  Client: new (options: unknown) => { connect(): Promise<unknown>; query(sql: string): Promise<unknown>; end(): Promise<void> };
  options: unknown;
}

/**
 * SELECT 1 on a connection of its own, outside the pool: a pooled connection the database
 * killed is only noticed when used, and the next one in the pool may be dead as well.
 * The embedded PGlite has no connections to lose: its pool again.
 */
async function selectOneOnFreshConnection(db: DataSource): Promise<void> {
  const pool = (db.driver as { master?: Partial<PgPool> }).master;
  if (typeof pool?.Client !== "function") {
    await db.query("SELECT 1");
    return;
  }
  const client = new pool.Client(pool.options);
  try {
    await client.connect();
    await client.query("SELECT 1");
  } finally {
    await client.end().catch(() => undefined);
  }
}

export interface HealthOptions {
  /** True once the app is stopping (App.stop): /readyz answers 503 at once. */
  draining?: () => boolean;
  /** The whole probe's budget, the retry included. */
  timeoutMs?: number;
}

/**
 * GET /healthz: the process is alive (always 200) with the state of the database and Redis.
 * GET /readyz: 200 when the database answers, 503 otherwise, and 503 "draining" while the
 * app stops, so a load balancer takes the instance out while in-flight requests finish.
 * A transient database error (one dead pooled connection) is retried once on a fresh
 * connection before answering 503. It ignores Redis on purpose, so a Redis blip does not
 * pull every instance out of the load balancer at once.
 */
export function healthRouter(db: DataSource, bus: EventBus, { draining = () => false, timeoutMs = 2000 }: HealthOptions = {}): Router {
  const router = Router();
  const withinBudget = async (probe: () => Promise<unknown>, deadline: number): Promise<void> => {
    let timer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([probe(), new Promise((_, reject) => (timer = setTimeout(() => reject(new Error("timeout")), Math.max(0, deadline - Date.now()))))]);
    } finally {
      clearTimeout(timer);
    }
  };
  const databaseUp = async (): Promise<boolean> => {
    if (!db.isInitialized) return false;
    const deadline = Date.now() + timeoutMs;
    try {
      await withinBudget(() => db.query("SELECT 1"), deadline);
      return true;
    } catch (err) {
      if (!isTransientDatabaseError(err)) return false;
    }
    try {
      await withinBudget(() => selectOneOnFreshConnection(db), deadline);
      return true;
    } catch {
      return false;
    }
  };
  router.get("/healthz", async (_req, res) => {
    const database = (await databaseUp()) ? "up" : "down";
    res.set("Cache-Control", "no-store").json({ status: "ok", database, redis: bus.health() });
  });
  router.get("/readyz", async (_req, res) => {
    res.set("Cache-Control", "no-store");
    if (draining()) {
      res.status(503).json({ status: "draining" });
      return;
    }
    const ready = await databaseUp();
    res.status(ready ? 200 : 503).json({ status: ready ? "ready" : "unavailable" });
  });
  return router;
}
