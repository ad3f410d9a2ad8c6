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

  it("serves metrics unless METRICS_ENABLED is false", () => {
    assert.equal(loadConfig({}).metricsEnabled, true);
    assert.equal(loadConfig({ METRICS_ENABLED: "" }).metricsEnabled, true);
    assert.equal(loadConfig({ METRICS_ENABLED: "false" }).metricsEnabled, false);
    assert.equal(loadConfig({ METRICS_ENABLED: "0" }).metricsEnabled, false);
    assert.equal(loadConfig({ METRICS_ENABLED: "true" }).metricsEnabled, true);
    assert.throws(() => loadConfig({ METRICS_ENABLED: "sometimes" }), /METRICS_ENABLED/);
  });

  it("has HARDENING.md's limits as defaults, each set by its own variable (issue 11, finding 10)", () => {
    const defaults = loadConfig({});
    const table: Array<[string, (c: ReturnType<typeof loadConfig>) => number, number]> = [
      ["MAX_QUERY_DEPTH", (c) => c.limits.maxDepth, 10],
      ["MAX_QUERY_ALIASES", (c) => c.limits.maxAliases, 15],
      ["MAX_QUERY_TOKENS", (c) => c.limits.maxTokens, 2000],
      ["MAX_QUERY_COST", (c) => c.limits.maxCost, 5000],
      ["MAX_PAGE_SIZE", (c) => c.limits.maxPageSize, 100],
      ["MAX_HTTP_BODY_BYTES", (c) => c.limits.maxHttpBodyBytes, 1_048_576],
      ["MAX_WS_FRAME_BYTES", (c) => c.limits.maxWsFrameBytes, 1_048_576],
      ["MAX_SUBSCRIPTIONS_PER_SOCKET", (c) => c.limits.maxSubscriptionsPerSocket, 50],
      ["MAX_SOCKETS_PER_USER", (c) => c.limits.maxSocketsPerUser, 20],
      ["MAX_JSON_DEPTH", (c) => c.limits.maxJsonDepth, 32],
      ["CURSOR_RATE_PER_USER", (c) => c.rateLimits.cursorMovesPerSecond, 20],
      ["CURSOR_ABUSE_DROPS", (c) => c.rateLimits.cursorAbuseDropsPer10s, 100],
      ["MAX_CURSOR_PAYLOAD_BYTES", (c) => c.serviceLimits.maxCursorPayloadBytes, 2048],
      ["MAX_BOARD_OPS_PER_BATCH", (c) => c.serviceLimits.maxBoardOpsPerBatch, 500],
      ["MAX_SIGNAL_PAYLOAD_BYTES", (c) => c.serviceLimits.maxSignalPayloadBytes, 65_536],
      ["LOGIN_RATE_PER_EMAIL_IP", (c) => c.rateLimits.loginPerEmailAndIpPerMinute, 10],
      ["LOGIN_RATE_PER_EMAIL", (c) => c.rateLimits.loginPerEmailPerMinute, 100],
      ["LOGIN_RATE_PER_IP", (c) => c.rateLimits.loginPerIpPerMinute, 100],
      ["WRONG_CODE_RATE_PER_USER", (c) => c.rateLimits.wrongAccessCodesPerUserPerMinute, 10],
      ["SESSION_RATE_PER_USER", (c) => c.rateLimits.sessionsPerUserPerHour, 30],
      ["BACKFILL_MAX", (c) => c.backfillMax, 10_000],
      ["MAX_TIMELINE_BUCKETS", (c) => c.serviceLimits.maxTimelineBuckets, 1000],
      ["CONNECTION_INIT_WAIT_MS", (c) => c.connectionInitWaitMs, 3000],
      ["SUBSCRIBER_BUFFER_FRAMES", (c) => c.serviceLimits.subscriberBufferFrames, 1000],
      ["SUBSCRIBER_BUFFER_BYTES", (c) => c.serviceLimits.subscriberBufferBytes, 4_194_304],
    ];
    for (const [name, read, fallback] of table) {
      assert.equal(read(defaults), fallback, name);
      assert.equal(read(loadConfig({ [name]: String(fallback * 2) })), fallback * 2, name);
      assert.throws(
        () => loadConfig({ [name]: "many" }),
        (err: Error) => err instanceof ConfigError && err.message.startsWith(name),
        name,
      );
      // 0 aliases is a policy (none at all); 0 of anything else would refuse everything.
      if (name !== "MAX_QUERY_ALIASES")
        assert.throws(
          () => loadConfig({ [name]: "0" }),
          (err: Error) => err instanceof ConfigError && err.message.startsWith(name),
          name,
        );
    }
    assert.equal(defaults.sessionMaxDurationMs, 4 * 3_600_000);
    assert.equal(loadConfig({ SESSION_MAX_DURATION: "90m" }).sessionMaxDurationMs, 5_400_000);
    // A cursor limit below a plain move's own size would refuse every move.
    assert.throws(() => loadConfig({ MAX_CURSOR_PAYLOAD_BYTES: "63" }), /MAX_CURSOR_PAYLOAD_BYTES/);
  });

  it("reads durations with units", () => {
    assert.equal(loadConfig({ ACCESS_TOKEN_TTL: "15m" }).accessTokenTtlSeconds, 900);
    assert.equal(loadConfig({ SESSION_TOKEN_TTL: "2d" }).sessionTokenTtlSeconds, 172_800);
    assert.equal(loadConfig({ ACCESS_TOKEN_TTL: "90" }).accessTokenTtlSeconds, 90);
  });

  it("has the telemetry ingest's limits and retention as defaults (W3: 32 KiB, 300/min, 14 days), each set by its own variable", () => {
    assert.deepEqual(loadConfig({}).telemetry, { maxBodyBytes: 32_768, ratePerMinute: 300, retentionDays: 14, queueMaxEvents: 10_000 });
    assert.deepEqual(
      loadConfig({ TELEMETRY_MAX_BODY_BYTES: "65536", TELEMETRY_RATE_PER_MINUTE: "5", TELEMETRY_RETENTION_DAYS: "30", TELEMETRY_QUEUE_MAX: "50" }).telemetry,
      { maxBodyBytes: 65_536, ratePerMinute: 5, retentionDays: 30, queueMaxEvents: 50 },
    );
    // 0 days would delete every event as it arrives; 0 per minute would refuse every request.
    for (const name of ["TELEMETRY_RETENTION_DAYS", "TELEMETRY_RATE_PER_MINUTE", "TELEMETRY_QUEUE_MAX", "TELEMETRY_MAX_BODY_BYTES"]) {
      for (const bad of ["0", "-1", "2.5", "two weeks"]) {
        assert.throws(
          () => loadConfig({ [name]: bad }),
          (err: Error) => err instanceof ConfigError && err.message.startsWith(name),
          `${name}=${bad}`,
        );
      }
    }
    // Below 1 KiB no ordinary batch of events would fit.
    assert.throws(() => loadConfig({ TELEMETRY_MAX_BODY_BYTES: "1023" }), /TELEMETRY_MAX_BODY_BYTES/);
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
  describe("web push (W5)", () => {
    const keys = { VAPID_PUBLIC_KEY: "B".repeat(87), VAPID_PRIVATE_KEY: "k".repeat(43) };
    const pg = { DATABASE_URL: "postgres://localhost/x", JWT_SECRET: "x".repeat(32) };

    it("is on by default on the embedded database, keys generated later into DATA_DIR", () => {
      const { push } = loadConfig({});
      assert.equal(push.enabled, true);
      assert.equal(push.vapidPublicKey, undefined);
      assert.equal(push.maxAttempts, 5);
      assert.equal(push.allowPrivateEndpoints, false);
      assert.match(push.vapidSubject, /^mailto:/);
    });

    it("is off with DATABASE_URL and no keys, unless asked for, which then needs the keys", () => {
      assert.equal(loadConfig(pg).push.enabled, false);
      assert.equal(loadConfig({ ...pg, ...keys }).push.enabled, true);
      assert.throws(
        () => loadConfig({ ...pg, PUSH_ENABLED: "true" }),
        (err: Error) => err instanceof ConfigError && /VAPID_PUBLIC_KEY/.test(err.message),
      );
      assert.equal(loadConfig({ ...keys, PUSH_ENABLED: "false" }).push.enabled, false);
    });

    it("refuses half a key pair, malformed keys and a subject that is no mailto: or https: URL", () => {
      assert.throws(() => loadConfig({ VAPID_PUBLIC_KEY: keys.VAPID_PUBLIC_KEY }), /set together/);
      assert.throws(() => loadConfig({ ...keys, VAPID_PUBLIC_KEY: "short" }), /VAPID_PUBLIC_KEY/);
      assert.throws(() => loadConfig({ ...keys, VAPID_PRIVATE_KEY: "k".repeat(42) + "=" }), /VAPID_PRIVATE_KEY/);
      assert.throws(() => loadConfig({ VAPID_SUBJECT: "http://example.com" }), /VAPID_SUBJECT/);
      assert.equal(loadConfig({ VAPID_SUBJECT: "https://example.com/contact" }).push.vapidSubject, "https://example.com/contact");
    });
  });

  describe("video provider", () => {
    const daily = {
      VIDEO_PROVIDER: "daily",
      DAILY_API_KEY: "key",
      DAILY_DOMAIN: "school",
      DAILY_WEBHOOK_SECRET: Buffer.alloc(32, 7).toString("base64"),
    };

    it("is p2p unless chosen, and Daily's settings then come with defaults", () => {
      assert.deepEqual(loadConfig({}).video, { provider: "p2p" });
      assert.deepEqual(loadConfig({ DAILY_API_KEY: "key" }).video, { provider: "p2p" });
      const video = loadConfig(daily).video;
      assert.equal(video.provider, "daily");
      if (video.provider !== "daily") return;
      assert.equal(video.daily.apiUrl, "https://api.daily.co/v1");
      assert.deepEqual(video.daily.webhookSecret, Buffer.alloc(32, 7));
      assert.equal(loadConfig({ ...daily, DAILY_API_URL: "http://127.0.0.1:9/v1/" }).video.provider, "daily");
    });

    it("stops the process at start with a message naming the variable", () => {
      assert.throws(
        () => loadConfig({ VIDEO_PROVIDER: "zoom" }),
        (err: Error) => err instanceof ConfigError && /VIDEO_PROVIDER/.test(err.message),
      );
      for (const name of ["DAILY_API_KEY", "DAILY_DOMAIN", "DAILY_WEBHOOK_SECRET"]) {
        assert.throws(
          () => loadConfig({ ...daily, [name]: "" }),
          (err: Error) => err instanceof ConfigError && err.message.includes(name),
        );
      }
      assert.throws(() => loadConfig({ ...daily, DAILY_WEBHOOK_SECRET: "not base64!" }), /DAILY_WEBHOOK_SECRET/);
      assert.throws(() => loadConfig({ ...daily, DAILY_API_URL: "ftp://example.com" }), /DAILY_API_URL/);
      assert.throws(() => loadConfig({ ...daily, DAILY_DOMAIN: "school.daily.co/x" }), /DAILY_DOMAIN/);
    });
  });
});
