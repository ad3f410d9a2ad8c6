/**
 * The shared rate limits (login, registration, wrong access codes, creations). Hand-written
 * rather than rate-limiter-flexible: its limiters (RateLimiterRedis and the RateLimiterMemory
 * it would use as insurance) count fixed windows, so they admit up to twice the limit around
 * a window's end (5 a second: 9 allowed within 300 ms, measured on both), count refused hits,
 * and answer with the window's remaining time. The limits here hold in every window of
 * `windowMs`, refused hits cost nothing, and the retry time is when the oldest counted hit
 * leaves the window (tests/unit/rate-limiter.test.ts). RedisRateLimiter's in-process
 * fallback plays the insurance limiter's part; its script is sent by SHA (defineCommand).
 */
import { randomBytes } from "node:crypto";
import type { Redis } from "ioredis";

export interface RateDecision {
  allowed: boolean;
  /** When not allowed: how long until one more hit would be. */
  retryAfterMs: number;
}

/**
 * Sliding-window limits: a hit is allowed, and counted, when fewer than `limit` hits were
 * counted for the key in the `windowMs` before it; a refused hit is not counted. Every
 * counted hit is remembered (a log of at most `limit` times per key), so the bound is exact:
 * no interval of `windowMs` ever holds more than `limit` allowed hits, also across what a
 * fixed window would call a boundary (where fixed windows admit twice the limit).
 */
export interface RateLimiter {
  hit(key: string, limit: number, windowMs: number): Promise<RateDecision>;
  /** Whether one more hit would be allowed, without counting one. */
  peek(key: string, limit: number, windowMs: number): Promise<RateDecision>;
}

/** In-process logs for the embedded default (one instance). */
export class MemoryRateLimiter implements RateLimiter {
  /** Per key: the times of the counted hits, oldest first, none older than windowMs. */
  private readonly logs = new Map<string, { times: number[]; windowMs: number }>();

  // Date.now read at each call (not captured), so a test's mocked Date applies.
  constructor(private readonly now: () => number = () => Date.now()) {}

  async hit(key: string, limit: number, windowMs: number): Promise<RateDecision> {
    return this.check(key, limit, windowMs, true);
  }

  async peek(key: string, limit: number, windowMs: number): Promise<RateDecision> {
    return this.check(key, limit, windowMs, false);
  }

  private check(key: string, limit: number, windowMs: number, count: boolean): RateDecision {
    const now = this.now();
    let log = this.logs.get(key);
    if (log) {
      while (log.times.length > 0 && log.times[0] <= now - windowMs) log.times.shift();
      log.windowMs = windowMs;
    }
    const times = log?.times ?? [];
    if (times.length >= limit) return refused(times[times.length - limit], windowMs, now);
    if (count) {
      if (!log) {
        if (this.logs.size > 100_000) this.sweep(now);
        this.logs.set(key, (log = { times: [], windowMs }));
      }
      log.times.push(now);
    }
    return { allowed: true, retryAfterMs: 0 };
  }

  private sweep(now: number): void {
    for (const [key, log] of this.logs) {
      if (log.times.length === 0 || log.times[log.times.length - 1] <= now - log.windowMs) this.logs.delete(key);
    }
  }
}

/**
 * One round trip, atomic: forget the key's hits older than the window, decide, count.
 * KEYS: the key's log (a sorted set of hit times). ARGV: now, windowMs, limit, "1" to count
 * an allowed hit, a member unique to this hit. Answers { 1, 0 } when allowed, else
 * { 0, the time of the hit that must leave the window first }.
 */
const SLIDING_LOG = `redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[1] - ARGV[2])
local n = redis.call('ZCARD', KEYS[1])
local limit = tonumber(ARGV[3])
if n >= limit then
  local at = redis.call('ZRANGE', KEYS[1], n - limit, n - limit, 'WITHSCORES')
  return { 0, tonumber(at[2]) }
end
if ARGV[4] == '1' then
  redis.call('ZADD', KEYS[1], ARGV[1], ARGV[5])
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return { 1, 0 }`;

interface SlidingLogCommand {
  rateLimitLog(key: string, now: number, windowMs: number, limit: number, count: string, member: string): Promise<[number, number]>;
}

/**
 * The same logs in Redis (a sorted set per key, scored by time), shared by every instance;
 * times come from the instances' clocks, whose skew is negligible against windows of minutes.
 * While Redis is unreachable the limits still hold, per instance, through in-process logs,
 * instead of failing the request.
 */
export class RedisRateLimiter implements RateLimiter {
  private readonly fallback: MemoryRateLimiter;
  private readonly scripts: SlidingLogCommand;

  constructor(
    redis: Redis,
    private readonly prefix: string,
    private readonly now: () => number = () => Date.now(),
  ) {
    this.fallback = new MemoryRateLimiter(now);
    // ioredis sends it by SHA (EVALSHA), the text only when Redis does not have it yet (first
    // call, or after a restart). Idempotent on a shared client: same name, same script.
    redis.defineCommand("rateLimitLog", { numberOfKeys: 1, lua: SLIDING_LOG });
    this.scripts = redis as unknown as SlidingLogCommand;
  }

  async hit(key: string, limit: number, windowMs: number): Promise<RateDecision> {
    try {
      return await this.check(key, limit, windowMs, true);
    } catch {
      return this.fallback.hit(key, limit, windowMs);
    }
  }

  async peek(key: string, limit: number, windowMs: number): Promise<RateDecision> {
    try {
      return await this.check(key, limit, windowMs, false);
    } catch {
      return this.fallback.peek(key, limit, windowMs);
    }
  }

  private async check(key: string, limit: number, windowMs: number, count: boolean): Promise<RateDecision> {
    const now = this.now();
    // "rl:", not the fixed windows' "rate:": those keys are strings, these sorted sets.
    const [allowed, oldest] = await this.scripts.rateLimitLog(
      `${this.prefix}rl:${key}`,
      now,
      windowMs,
      limit,
      count ? "1" : "0",
      // Members must differ: two hits in the same millisecond are two hits.
      `${now}:${randomBytes(6).toString("hex")}`,
    );
    return allowed === 1 ? { allowed: true, retryAfterMs: 0 } : refused(oldest, windowMs, now);
  }
}

/** Refused until the hit counted at `oldest` leaves the window. */
function refused(oldest: number, windowMs: number, now: number): RateDecision {
  return { allowed: false, retryAfterMs: Math.max(1, oldest + windowMs - now) };
}
