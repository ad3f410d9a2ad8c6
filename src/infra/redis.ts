import { Redis } from "ioredis";
import type { Logger } from "./logger";

/**
 * A Redis connection for commands or pub/sub. Commands fail at once while Redis is down
 * (no offline queue), so a Redis outage degrades features instead of hanging requests;
 * the client keeps reconnecting in the background.
 */
export function createRedis(url: string, name: string, logger: Logger, options: { subscriber?: boolean } = {}): Redis {
  const redis = new Redis(url, {
    connectionName: name,
    lazyConnect: false,
    enableOfflineQueue: options.subscriber === true, // subscribe calls made during a blip are replayed
    maxRetriesPerRequest: options.subscriber ? null : 1,
    retryStrategy: (attempt) => Math.min(attempt * 200, 2000),
    // Commands issued in the same tick (hundreds of cursor moves a second) share one write.
    enableAutoPipelining: options.subscriber !== true,
  });
  let down = false;
  redis.on("error", (err) => {
    if (!down) logger.warn({ err: err.message, connection: name }, "redis connection error");
    down = true;
  });
  redis.on("ready", () => {
    if (down) logger.info({ connection: name }, "redis connection restored");
    down = false;
  });
  return redis;
}

/** Resolves true once `redis` is ready, or false after `timeoutMs` (the caller carries on). */
export function whenReady(redis: Redis, timeoutMs: number): Promise<boolean> {
  if (redis.status === "ready") return Promise.resolve(true);
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      redis.off("ready", onReady);
      resolve(false);
    }, timeoutMs);
    const onReady = () => {
      clearTimeout(timer);
      resolve(true);
    };
    redis.once("ready", onReady);
  });
}

/** How long a QUIT may wait for its reply before the connection is just dropped. */
const QUIT_TIMEOUT_MS = 2000;

/**
 * Closes a client: QUIT when connected (replies still due arrive first), dropped at once when
 * not (Redis down: QUIT would wait for a reconnect that may never come, and keep the process
 * alive with its retries).
 */
export async function closeRedis(redis: Redis): Promise<void> {
  if (redis.status !== "ready") return redis.disconnect();
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<void>((resolve) => (timer = setTimeout(resolve, QUIT_TIMEOUT_MS)));
  await Promise.race([
    redis.quit().then(
      () => undefined,
      () => undefined,
    ),
    timedOut,
  ]);
  clearTimeout(timer);
  redis.disconnect();
}
