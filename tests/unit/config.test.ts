import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { ConfigError, loadConfig } from "../../src/config";
import { MemoryRateLimiter } from "../../src/infra/rate-limiter";

describe("loadConfig", () => {
  it("has the documented defaults", () => {
    const config = loadConfig({});
    assert.equal(config.port, 4000);
    assert.equal(config.host, "0.0.0.0");
    assert.equal(config.dataDir, "./data");
    assert.equal(config.redisPrefix, "classroom:");
    assert.equal(config.accessTokenTtlSeconds, 3600);
    assert.equal(config.sessionTokenTtlSeconds, 7200);
    assert.equal(config.snapshotEveryEvents, 500);
    assert.equal(config.autosaveAfterMs, 10_000);
    assert.equal(config.limits.maxDepth, 10);
    assert.equal(config.limits.maxWsFrameBytes, 1_048_576);
  });

  it("requires JWT_SECRET with DATABASE_URL, since every instance must share it", () => {
    assert.throws(() => loadConfig({ DATABASE_URL: "postgres://localhost/x" }), ConfigError);
    assert.doesNotThrow(() => loadConfig({ DATABASE_URL: "postgres://localhost/x", JWT_SECRET: "x".repeat(32) }));
  });

  it("names the variable that is wrong", () => {
    assert.throws(() => loadConfig({ PORT: "eighty" }), /PORT/);
    assert.throws(() => loadConfig({ ACCESS_TOKEN_TTL: "soon" }), /ACCESS_TOKEN_TTL/);
    assert.throws(() => loadConfig({ REDIS_URL: "http://x" }), /REDIS_URL/);
    assert.throws(() => loadConfig({ JWT_SECRET: "short" }), /JWT_SECRET/);
    assert.throws(() => loadConfig({ LOG_LEVEL: "loud" }), /LOG_LEVEL/);
    assert.throws(() => loadConfig({ METRICS_TOKEN: "short" }), /METRICS_TOKEN/);
    assert.throws(() => loadConfig({ METRICS_TOKEN: "has a space in it, sadly" }), /METRICS_TOKEN/);
  });

  it("leaves GET /metrics open unless METRICS_TOKEN is set", () => {
    assert.equal(loadConfig({}).metricsToken, undefined);
    assert.equal(loadConfig({ METRICS_TOKEN: "" }).metricsToken, undefined);
    assert.equal(loadConfig({ METRICS_TOKEN: "scrape-0123456789abcdef" }).metricsToken, "scrape-0123456789abcdef");
  });

  it("reads durations with units", () => {
    assert.equal(loadConfig({ ACCESS_TOKEN_TTL: "15m" }).accessTokenTtlSeconds, 900);
    assert.equal(loadConfig({ SESSION_TOKEN_TTL: "2d" }).sessionTokenTtlSeconds, 172_800);
    assert.equal(loadConfig({ ACCESS_TOKEN_TTL: "90" }).accessTokenTtlSeconds, 90);
  });
});

describe("MemoryRateLimiter", () => {
  it("allows `limit` hits per window, then answers how long to wait, then a new window", async () => {
    let now = 1_000;
    const limiter = new MemoryRateLimiter(() => now);
    for (let i = 0; i < 3; i++) assert.equal((await limiter.hit("k", 3, 60_000)).allowed, true);
    now += 15_000;
    assert.deepEqual(await limiter.hit("k", 3, 60_000), { allowed: false, retryAfterMs: 45_000 });
    assert.equal((await limiter.hit("other", 3, 60_000)).allowed, true);
    now += 45_000;
    assert.equal((await limiter.hit("k", 3, 60_000)).allowed, true);
  });

  it("peeks without counting", async () => {
    let now = 0;
    const limiter = new MemoryRateLimiter(() => now);
    assert.deepEqual(await limiter.peek("p", 1, 1000), { allowed: true, retryAfterMs: 0 });
    await limiter.hit("p", 1, 1000);
    assert.deepEqual(await limiter.peek("p", 1, 1000), { allowed: false, retryAfterMs: 1000 });
    assert.deepEqual(await limiter.peek("p", 2, 1000), { allowed: true, retryAfterMs: 0 });
    now = 1000;
    assert.deepEqual(await limiter.peek("p", 1, 1000), { allowed: true, retryAfterMs: 0 });
  });
});
