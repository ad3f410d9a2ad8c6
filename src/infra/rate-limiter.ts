import type { Redis } from "ioredis";

export interface RateDecision {
  allowed: boolean;
  /** When not allowed: how long until the window resets. */
  retryAfterMs: number;
}

/** Fixed-window counters: at most `limit` hits per `windowMs` per key. */
export interface RateLimiter {
  hit(key: string, limit: number, windowMs: number): Promise<RateDecision>;
  /** Whether one more hit would be allowed, without counting one. */
  peek(key: string, limit: number): Promise<RateDecision>;
}

/** In-process counters for the embedded default (one instance). */
export class MemoryRateLimiter implements RateLimiter {
  private readonly windows = new Map<string, { count: number; resetAt: number }>();

  constructor(private readonly now: () => number = Date.now) {}

  async hit(key: string, limit: number, windowMs: number): Promise<RateDecision> {
    const now = this.now();
    let window = this.windows.get(key);
    if (!window || window.resetAt <= now) {
      if (this.windows.size > 100_000) this.sweep(now);
      window = { count: 0, resetAt: now + windowMs };
      this.windows.set(key, window);
    }
    window.count += 1;
    return decide(window.count, limit, window.resetAt - now);
  }

  async peek(key: string, limit: number): Promise<RateDecision> {
    const now = this.now();
    const window = this.windows.get(key);
    if (!window || window.resetAt <= now) return { allowed: true, retryAfterMs: 0 };
    return decide(window.count + 1, limit, window.resetAt - now);
  }

  private sweep(now: number): void {
    for (const [key, window] of this.windows) if (window.resetAt <= now) this.windows.delete(key);
  }
}

/**
 * Counters in Redis, shared by every instance. While Redis is unreachable the limits still
 * hold, per instance, through in-process counters, instead of failing the request.
 */
export class RedisRateLimiter implements RateLimiter {
  private readonly fallback = new MemoryRateLimiter();

  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
  ) {}

  async hit(key: string, limit: number, windowMs: number): Promise<RateDecision> {
    try {
      return await this.hitRedis(key, limit, windowMs);
    } catch {
      return this.fallback.hit(key, limit, windowMs);
    }
  }

  async peek(key: string, limit: number): Promise<RateDecision> {
    try {
      const redisKey = `${this.prefix}rate:${key}`;
      const [count, ttl] = await Promise.all([this.redis.get(redisKey), this.redis.pttl(redisKey)]);
      return count === null || ttl <= 0 ? { allowed: true, retryAfterMs: 0 } : decide(Number(count) + 1, limit, ttl);
    } catch {
      return this.fallback.peek(key, limit);
    }
  }

  private async hitRedis(key: string, limit: number, windowMs: number): Promise<RateDecision> {
    const redisKey = `${this.prefix}rate:${key}`;
    // One round trip: count the hit, start the window on the first one, read what is left.
    const [count, ttl] = (await this.redis.eval(
      `local c = redis.call('INCR', KEYS[1])
       if c == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
       return { c, redis.call('PTTL', KEYS[1]) }`,
      1,
      redisKey,
      windowMs,
    )) as [number, number];
    return decide(count, limit, ttl > 0 ? ttl : windowMs);
  }
}

function decide(count: number, limit: number, msLeft: number): RateDecision {
  return count <= limit ? { allowed: true, retryAfterMs: 0 } : { allowed: false, retryAfterMs: Math.max(1, msLeft) };
}
