import type { Redis } from "ioredis";
import type { Config } from "../config";
import { MemoryEventBus, RedisEventBus, type EventBus } from "../realtime/event-bus";
import { MemoryPresenceStore, RedisPresenceStore, type PresenceStore } from "../realtime/presence";
import type { Logger } from "./logger";
import type { Metrics } from "./metrics";
import { MemoryRateLimiter, RedisRateLimiter, type RateLimiter } from "./rate-limiter";
import { closeRedis, createRedis, whenReady } from "./redis";

/** What instances share through Redis (or keep in-process without REDIS_URL). */
export interface SharedInfra {
  bus: EventBus;
  limiter: RateLimiter;
  /** Who is online in each session and their last cursor (R3): ephemeral, never in the database. */
  presence: PresenceStore;
  /** Closes the bus, then the Redis connections. */
  close(): Promise<void>;
}

/**
 * Pub/sub and rate limits on Redis when REDIS_URL is set, in-process otherwise; used by the
 * server (createApp) and by `npm run job`, so a job's events reach every instance's subscribers.
 */
export async function createSharedInfra(config: Config, logger: Logger, metrics?: Metrics): Promise<SharedInfra> {
  // The bus stamps and times its messages only with metrics on.
  const observe = metrics?.enabled ? metrics.pubsubDelivered : undefined;
  const redisClients: Redis[] = [];
  let bus: EventBus;
  let limiter: RateLimiter;
  let presence: PresenceStore;
  if (config.redisUrl) {
    const commands = createRedis(config.redisUrl, "classroom-commands", logger);
    const subscriber = createRedis(config.redisUrl, "classroom-subscriber", logger, { subscriber: true });
    redisClients.push(commands);
    // Best effort: serve with shared counters and pub/sub from the first request when Redis
    // is up; when it is not, start anyway (readiness depends on the database alone).
    if (!(await whenReady(commands, 5000))) logger.warn("redis not reachable at start; continuing without it");
    bus = new RedisEventBus(commands, subscriber, config.redisPrefix, observe);
    limiter = new RedisRateLimiter(commands, config.redisPrefix);
    presence = new RedisPresenceStore(commands, config.redisPrefix);
  } else {
    bus = new MemoryEventBus(observe);
    limiter = new MemoryRateLimiter();
    presence = new MemoryPresenceStore();
  }
  return {
    bus,
    limiter,
    presence,
    async close() {
      await bus.close();
      await Promise.all(redisClients.map(closeRedis));
    },
  };
}
