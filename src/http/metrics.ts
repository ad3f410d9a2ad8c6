import { sendJsonError } from "./json-error";
import { createHash, timingSafeEqual } from "node:crypto";
import { Router } from "express";
import type { Registry } from "prom-client";

/**
 * GET /metrics: the instance's Prometheus registry in the text exposition format (O1).
 * With `token` (METRICS_TOKEN) the request must carry `Authorization: Bearer <token>`, else
 * 401; without one the route is open, for scrapers inside a private network.
 */
export function metricsRouter(registry: Registry, token?: string): Router {
  const router = Router();
  // Both sides hashed first: timingSafeEqual needs equal lengths, and comparing digests
  // keeps the token's length from leaking through an early length mismatch.
  const expected = token === undefined ? undefined : digest(`Bearer ${token}`);
  router.get("/metrics", async (req, res, next) => {
    res.set("Cache-Control", "no-store");
    if (expected && !timingSafeEqual(digest(req.headers.authorization ?? ""), expected)) {
      res.set("WWW-Authenticate", 'Bearer realm="metrics"');
      sendJsonError(res, 401, "UNAUTHENTICATED", "A valid metrics token is required.");
      return;
    }
    try {
      const text = await registry.metrics();
      res.type(registry.contentType).send(text);
    } catch (err) {
      next(err);
    }
  });
  return router;
}

const digest = (value: string): Buffer => createHash("sha256").update(value).digest();
