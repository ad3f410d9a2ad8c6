import { Router } from "express";
import type { DataSource } from "typeorm";
import type { EventBus } from "../realtime/event-bus";

/**
 * GET /healthz: the process is alive (always 200) with the state of the database and Redis.
 * GET /readyz: 200 when the database answers, 503 otherwise. It ignores Redis on purpose,
 * so a Redis blip does not pull every instance out of the load balancer at once.
 */
export function healthRouter(db: DataSource, bus: EventBus, timeoutMs = 2000): Router {
  const router = Router();
  const databaseUp = async (): Promise<boolean> => {
    if (!db.isInitialized) return false;
    let timer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([
        db.query("SELECT 1"),
        new Promise((_, reject) => (timer = setTimeout(() => reject(new Error("timeout")), timeoutMs))),
      ]);
      return true;
    } catch {
      return false;
    } finally {
      clearTimeout(timer);
    }
  };
  router.get("/healthz", async (_req, res) => {
    const database = (await databaseUp()) ? "up" : "down";
    res.set("Cache-Control", "no-store").json({ status: "ok", database, redis: bus.health() });
  });
  router.get("/readyz", async (_req, res) => {
    const ready = await databaseUp();
    res.set("Cache-Control", "no-store").status(ready ? 200 : 503).json({ status: ready ? "ready" : "unavailable" });
  });
  return router;
}
