import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { after, describe, it } from "node:test";
import type { Redis } from "ioredis";
import pino from "pino";
import { MemoryRateLimiter, RedisRateLimiter, type RateLimiter } from "../../src/infra/rate-limiter";
import { createRedis, whenReady } from "../../src/infra/redis";
import { real } from "../support/backends";

const redisUrl = process.env.TEST_REDIS_URL;
let redis: Redis | undefined;

/** A limiter of each variant on a clock the test moves. */
const variants: Array<{ name: string; skip?: string; make(clock: () => number): Promise<RateLimiter> }> = [
  { name: "memory", make: async (clock) => new MemoryRateLimiter(clock) },
  {
    name: "redis",
    skip: real.skip ?? (redisUrl ? undefined : "no TEST_REDIS_URL"),
    make: async (clock) => {
      redis ??= createRedis(redisUrl!, "rate-limiter-test", pino({ level: "silent" }));
      // Not ready, the limiter would fall back to in-process logs: not what is tested here.
      assert.ok(await whenReady(redis, 10_000), "Redis ready");
      return new RedisRateLimiter(redis, `rl-test-${randomBytes(4).toString("hex")}:`, clock);
    },
  },
];

after(() => redis?.quit());

const W = 60_000;

for (const variant of variants) {
  describe(`${variant.name} rate limiter`, { skip: variant.skip }, () => {
    it("never allows more than `limit` in any window of windowMs, across what a fixed window calls a boundary", async () => {
      let now = 1_000_000;
      const limiter = await variant.make(() => now);
      // One hit, then the rest of the limit just before a fixed window (started by the first
      // hit) would reset, then a burst just after: fixed windows allow 2 × 5 - 1 within 200 ms.
      assert.equal((await limiter.hit("k", 5, W)).allowed, true);
      now += W - 100;
      for (let i = 0; i < 4; i++) assert.equal((await limiter.hit("k", 5, W)).allowed, true);
      now += 200;
      assert.equal((await limiter.hit("k", 5, W)).allowed, true, "the first hit has left the window");
      assert.deepEqual(await limiter.hit("k", 5, W), { allowed: false, retryAfterMs: W - 200 });
      now += W - 200;
      for (let i = 0; i < 4; i++) assert.equal((await limiter.hit("k", 5, W)).allowed, true);
      assert.equal((await limiter.hit("k", 5, W)).allowed, false);
    });

    it("holds the bound for any pattern: every window of windowMs has at most `limit` allowed hits", async () => {
      let now = 0;
      const limiter = await variant.make(() => now);
      const allowed: number[] = [];
      // Irregular gaps (a fixed pseudo-random sequence) over ten windows, bursts included.
      let seed = 7;
      while (now < 10 * 1000) {
        seed = (seed * 1103515245 + 12345) % 2 ** 31;
        now += seed % 7 === 0 ? 0 : seed % 97;
        if ((await limiter.hit("k", 4, 1000)).allowed) allowed.push(now);
      }
      for (const start of allowed) {
        const inWindow = allowed.filter((t) => t >= start && t < start + 1000).length;
        assert.ok(inWindow <= 4, `${inWindow} allowed in the window from ${start}`);
      }
      assert.ok(allowed.length >= 4 * 9, `${allowed.length} allowed: the limit is reached, not undershot`);
    });

    it("does not count refused hits, so hammering does not push the retry time out", async () => {
      let now = 0;
      const limiter = await variant.make(() => now);
      await limiter.hit("k", 2, W);
      now = 10;
      await limiter.hit("k", 2, W);
      for (now = 20; now < W; now += 1000) assert.equal((await limiter.hit("k", 2, W)).allowed, false);
      now = W;
      assert.equal((await limiter.hit("k", 2, W)).allowed, true);
      assert.equal((await limiter.hit("other", 2, W)).allowed, true, "each key on its own");
    });

    it("peeks without counting", async () => {
      let now = 0;
      const limiter = await variant.make(() => now);
      assert.deepEqual(await limiter.peek("p", 1, 1000), { allowed: true, retryAfterMs: 0 });
      assert.deepEqual(await limiter.peek("p", 1, 1000), { allowed: true, retryAfterMs: 0 });
      await limiter.hit("p", 1, 1000);
      now = 400;
      assert.deepEqual(await limiter.peek("p", 1, 1000), { allowed: false, retryAfterMs: 600 });
      now = 1000;
      assert.deepEqual(await limiter.peek("p", 1, 1000), { allowed: true, retryAfterMs: 0 });
    });
  });
}
