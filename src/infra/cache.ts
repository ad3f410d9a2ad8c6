import type { Redis } from "ioredis";

/**
 * A string cache for values that never change once computed (a replayed board is keyed by
 * session and seq, and history is never rewritten): Redis shared by every instance when
 * REDIS_URL is set, an in-process LRU otherwise. Best effort: a Redis error is a miss.
 */
export interface ValueCache {
  get(key: string): Promise<string | undefined>;
  set(key: string, value: string, ttlSeconds: number): Promise<void>;
}

/** In-process, least recently used out beyond `capacity` entries (ttl ignored: values never go stale). */
export class MemoryLruCache implements ValueCache {
  private readonly entries = new Map<string, string>();

  constructor(private readonly capacity = 500) {}

  async get(key: string): Promise<string | undefined> {
    const value = this.entries.get(key);
    if (value !== undefined) {
      this.entries.delete(key);
      this.entries.set(key, value);
    }
    return value;
  }

  async set(key: string, value: string): Promise<void> {
    this.entries.delete(key);
    this.entries.set(key, value);
    if (this.entries.size > this.capacity) this.entries.delete(this.entries.keys().next().value as string);
  }
}

/** Redis, every key under `prefix` + "cache:". */
export class RedisValueCache implements ValueCache {
  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
  ) {}

  async get(key: string): Promise<string | undefined> {
    try {
      return (await this.redis.get(this.prefix + "cache:" + key)) ?? undefined;
    } catch {
      return undefined;
    }
  }

  async set(key: string, value: string, ttlSeconds: number): Promise<void> {
    await this.redis.set(this.prefix + "cache:" + key, value, "EX", ttlSeconds).catch(() => undefined);
  }
}
