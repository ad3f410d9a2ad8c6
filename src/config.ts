/**
 * The only reader of process.env. `loadConfig()` validates every variable once at boot and
 * throws a ConfigError naming the variable, so a typo stops the process instead of
 * surfacing as odd behaviour later. Tests build a Config with `loadConfig({ ...overrides })`.
 */
import { isIP } from "node:net";
import type { LogFormat } from "./infra/logger";
import type { OperationLimits as DocumentLimits } from "./schema/operation-limits";

export class ConfigError extends Error {}

export interface Config {
  /** Where the HTTP and WebSocket server listens. */
  port: number;
  host: string;
  /** Embedded database, lock file and generated secrets; ':memory:' keeps nothing. */
  dataDir: string;
  /** postgres://… for a real Postgres; undefined runs the embedded PGlite. */
  databaseUrl?: string;
  /** redis://… for pub/sub, rate limits and caches shared by instances; undefined stays in-process. */
  redisUrl?: string;
  /** Prefix of every Redis key and channel, so deployments can share one Redis. */
  redisPrefix: string;
  /** HS256 secret; undefined means "generate into DATA_DIR" (embedded default only). */
  jwtSecret?: string;
  jwtIssuer: string;
  jwtAudience: string;
  /** Token lifetimes in seconds. */
  accessTokenTtlSeconds: number;
  sessionTokenTtlSeconds: number;
  /** How long refreshAccessToken can extend one login, seconds (REFRESH_MAX_AGE). */
  refreshMaxAgeSeconds: number;
  /** Leeway for exp/nbf checks, seconds. */
  jwtClockToleranceSeconds: number;
  soloQuotaBytes: number;
  soloSnapshotKeepLast: number;
  snapshotEveryEvents: number;
  /** Autosave: a board changed this long ago without a snapshot since gets one (AUTOSAVE_AFTER_MS). */
  autosaveAfterMs: number;
  reconnectGraceMs: number;
  presenceTtlMs: number;
  cursorTickMs: number;
  expiryGraceMs: number;
  /** SESSION_MAX_DURATION: the longest lesson (RULES.md lifecycle); the expiry job ends it. */
  sessionMaxDurationMs: number;
  backfillMax: number;
  /** How often each instance publishes the latest seq of every session it delivers (RULES.md "Delivery"). */
  latestSeqHeartbeatMs: number;
  /** Allowed browser origins; empty means same origin only. */
  corsOrigins: string[];
  logLevel: string;
  /** LOG_FORMAT: json or pretty; undefined (auto) picks pretty when stdout is a terminal. */
  logFormat?: LogFormat;
  /** Introspection (and GraphiQL) on; on by default so integrators can explore. */
  introspection: boolean;
  limits: OperationLimits;
  /**
   * Sliding-window rate limits (src/infra/rate-limiter.ts). Login attempts are counted per
   * client address, per email from one address, and per email from all addresses: a third
   * party's wrong passwords use up their own address's allowance, never the owner's, until
   * they come from enough addresses to reach the much higher per-email ceiling (which stops
   * guessing from many addresses).
   */
  rateLimits: {
    /** LOGIN_RATE_PER_EMAIL_IP: attempts for one email from one client address. */
    loginPerEmailAndIpPerMinute: number;
    /** LOGIN_RATE_PER_EMAIL: attempts for one email from all addresses together. */
    loginPerEmailPerMinute: number;
    /** LOGIN_RATE_PER_IP: attempts from one client address, whatever the email. */
    loginPerIpPerMinute: number;
    /** REGISTER_RATE_PER_IP: registrations from one client address (a school's NAT signs up together). */
    registerPerIpPerHour: number;
    /** SOLO_SESSION_RATE_PER_USER, CLASSROOM_RATE_PER_USER: creations per user. */
    soloSessionsPerUserPerHour: number;
    classroomsPerUserPerHour: number;
    /** SESSION_RATE_PER_USER: createSession calls an hour per tutor (RULES.md lifecycle). */
    sessionsPerUserPerHour: number;
    /** WRONG_CODE_RATE_PER_USER: wrong access codes a minute per user, so codes cannot be guessed. */
    wrongAccessCodesPerUserPerMinute: number;
    /** CURSOR_RATE_PER_USER: cursor moves a second per user per session; the extra ones are dropped and counted. */
    cursorMovesPerSecond: number;
    /** CURSOR_ABUSE_DROPS: more dropped moves than this within 10 s is abuse, the user's sockets close 4429. */
    cursorAbuseDropsPer10s: number;
  };
  /** Size limits the services enforce (HARDENING.md "Limits"), beside the transports' in `limits`. */
  serviceLimits: ServiceLimits;
  /** TRUST_PROXY: which peers' X-Forwarded-For names the client address (src/http/client-address.ts). */
  trustProxy: TrustProxy;
  /** Milliseconds a statement may run (real Postgres) before it is cancelled. */
  statementTimeoutMs: number;
  /** Database pool size (real Postgres). */
  databasePoolSize: number;
  /** argon2 cost; lowered only by tests. */
  passwordHashCost: { memoryKiB: number; iterations: number };
  /** graphql-ws: how long a socket may wait before connection_init. */
  connectionInitWaitMs: number;
  /** WS_KEEPALIVE_MS: the server pings each socket this often and drops one that has not answered the previous ping by then. */
  wsKeepAliveMs: number;
  /**
   * Run the background jobs on their schedule (W6). Off only where something else runs them:
   * tests that must not see a job fire, or instances set aside from scheduling. `npm run job`
   * works either way.
   */
  jobsEnabled: boolean;
  /** Bearer token GET /metrics requires (METRICS_TOKEN); undefined leaves the route open. */
  metricsToken?: string;
  /**
   * METRICS_ENABLED: the Prometheus metrics and their instrumentation. false answers GET /metrics
   * with 404 and installs no timer, stamp or plugin, so a benchmark can compare the two.
   */
  metricsEnabled: boolean;
  /** Estimated bytes of the boards each instance keeps in memory (BOARD_CACHE_BYTES); 0 keeps none. */
  boardCacheBytes: number;
  /** Estimated bytes of parsed keyframes and replayed boards each instance keeps (REPLAY_CACHE_BYTES); 0 keeps none. */
  replayCacheBytes: number;
  /** The telemetry ingest, POST /api/v1/logs/telemetry (W3; src/http/telemetry.ts). */
  telemetry: TelemetryConfig;
  /** OpenTelemetry tracing (src/infra/tracing.ts); the SDK reads the other OTEL_* variables itself. */
  tracing: TracingConfig;
  /** Web push (W5; src/services/push-*.ts). */
  push: PushConfig;
  /** The video provider (W7; src/infra/video-provider.ts, src/services/video-rooms.service.ts). */
  video: VideoConfig;
}

/** VIDEO_PROVIDER and the provider's settings. */
export type VideoConfig = { provider: "p2p" } | { provider: "daily"; daily: DailyConfig; retryBaseMs: number };

/** Daily's REST API and webhooks (VIDEO_PROVIDER=daily). */
export interface DailyConfig {
  /** DAILY_API_KEY: sent as `Authorization: Bearer`. */
  apiKey: string;
  /** DAILY_API_URL: the REST base, https://api.daily.co/v1 unless a compatible service is used. */
  apiUrl: string;
  /** DAILY_DOMAIN: the account's subdomain (`school` of school.daily.co), or a full host; rooms' URLs are on it. */
  domain: string;
  /** DAILY_WEBHOOK_SECRET, base64-decoded: the HMAC key webhooks are signed with. */
  webhookSecret: Buffer;
  /** DAILY_TIMEOUT_MS: one request to the provider, connecting included. */
  timeoutMs: number;
}

/** Web push (W5): VAPID keys, delivery limits and the endpoint guard. */
export interface PushConfig {
  /**
   * PUSH_ENABLED: on by default where it can work. Unset with DATABASE_URL and no VAPID keys,
   * push is off (pushPublicKey and registerPushSubscription answer UNAVAILABLE): instances on a
   * shared database must sign with the same keys, so they cannot be generated per instance.
   * PUSH_ENABLED=true with DATABASE_URL requires the keys (ConfigError).
   */
  enabled: boolean;
  /** VAPID_PUBLIC_KEY / VAPID_PRIVATE_KEY (base64url); undefined means "generate into DATA_DIR" (embedded only). */
  vapidPublicKey?: string;
  vapidPrivateKey?: string;
  /** VAPID_SUBJECT: a mailto: or https: contact URL push services may use to reach the operator. */
  vapidSubject: string;
  /** PUSH_TIMEOUT_MS: one request to a push service, connecting included. */
  timeoutMs: number;
  /** PUSH_MAX_SUBSCRIPTIONS_PER_USER: registering one more drops the user's least recently registered. */
  maxSubscriptionsPerUser: number;
  /** PUSH_MAX_ATTEMPTS: tries of one delivery before it is given up (the first one included). */
  maxAttempts: number;
  /** PUSH_RETRY_BASE_MS: wait before the first retry; doubled after each failure. */
  retryBaseMs: number;
  /**
   * PUSH_ENDPOINT_ALLOW_PRIVATE: deliver to endpoints resolving to private, loopback or
   * link-local addresses. Tests only: otherwise a subscription could make the server reach
   * into its own network (SSRF).
   */
  allowPrivateEndpoints: boolean;
  /** PUSH_ENDPOINT_CA: PEM of an extra CA trusted for push endpoints (a test's own push service). */
  endpointCa?: string;
}

/** Limits and retention of the telemetry ingest (HARDENING.md "Limits"). */
export interface TelemetryConfig {
  /** TELEMETRY_MAX_BODY_BYTES: a request's body after gunzip (413 beyond). */
  maxBodyBytes: number;
  /** TELEMETRY_RATE_PER_MINUTE: requests from one client address in any minute, on every instance together (429 beyond). */
  ratePerMinute: number;
  /** TELEMETRY_RETENTION_DAYS: stored events older than this are deleted by the telemetry-retention job. */
  retentionDays: number;
  /** TELEMETRY_QUEUE_MAX: accepted events an instance holds before writing them; beyond, new ones are dropped and counted. */
  queueMaxEvents: number;
}

export interface TracingConfig {
  /**
   * On when OTEL_EXPORTER_OTLP_ENDPOINT (or OTEL_EXPORTER_OTLP_TRACES_ENDPOINT) is set, or
   * OTEL_TRACES_EXPORTER names an exporter other than `none`; OTEL_SDK_DISABLED=true keeps it off.
   */
  enabled: boolean;
  /** service.name to give the SDK: classroom-api, unless OTEL_SERVICE_NAME or OTEL_RESOURCE_ATTRIBUTES names one (the SDK reads those). */
  serviceName?: string;
  /** TRACE_RESOLVER_THRESHOLD_MS: a resolver running this long or longer gets a span of its own. */
  resolverThresholdMs: number;
  /** OTEL_TRACES_SAMPLER (default parentbased_always_on) and its OTEL_TRACES_SAMPLER_ARG ratio (default 1). */
  sampler: { name: TraceSampler; ratio: number };
}

export const TRACE_SAMPLERS = [
  "always_on",
  "always_off",
  "traceidratio",
  "parentbased_always_on",
  "parentbased_always_off",
  "parentbased_traceidratio",
] as const;
export type TraceSampler = (typeof TRACE_SAMPLERS)[number];

/** Document limits (src/schema/operation-limits.ts) plus the transports' size limits. */
export interface OperationLimits extends DocumentLimits {
  maxHttpBodyBytes: number;
  maxWsFrameBytes: number;
  maxSubscriptionsPerSocket: number;
  /** MAX_SOCKETS_PER_USER: open WebSocket connections of one user on an instance; the newest beyond closes 4429. */
  maxSocketsPerUser: number;
  /** WS_PENDING_PER_IP: sockets of one client address open without connection_init yet; the upgrade beyond answers 429. */
  maxPendingSocketsPerIp: number;
  /** WS_NEW_PER_IP_PER_MINUTE: new sockets of one client address in any minute; the upgrade beyond answers 429. */
  maxNewSocketsPerIpPerMinute: number;
  /** MAX_JSON_DEPTH: levels of a JSON scalar input (settings, board props, signal payload); BAD_USER_INPUT beyond. */
  maxJsonDepth: number;
}

/** Size limits of what the services accept and buffer (HARDENING.md, RULES.md "Delivery"). */
export interface ServiceLimits {
  /** MAX_BOARD_OPS_PER_BATCH: board events per applyBoardEvents (BAD_USER_INPUT beyond). */
  maxBoardOpsPerBatch: number;
  /** MAX_SIGNAL_PAYLOAD_BYTES: a WebRTC signal's payload as JSON (PAYLOAD_TOO_LARGE beyond). */
  maxSignalPayloadBytes: number;
  /** MAX_CURSOR_PAYLOAD_BYTES: a cursor update as JSON (PAYLOAD_TOO_LARGE beyond). */
  maxCursorPayloadBytes: number;
  /** MAX_TIMELINE_BUCKETS: buckets of timelineBuckets and report (BAD_USER_INPUT beyond). */
  maxTimelineBuckets: number;
  /** SUBSCRIBER_BUFFER_FRAMES: frames a subscriber may have waiting before RESYNC_REQUIRED. */
  subscriberBufferFrames: number;
  /** SUBSCRIBER_BUFFER_BYTES: bytes its socket may hold unsent before RESYNC_REQUIRED. */
  subscriberBufferBytes: number;
}

/**
 * false: the socket's peer is the client; true: every peer is a proxy (the leftmost
 * X-Forwarded-For is the client); a number: that many proxies in front; a list: the CIDRs
 * of the proxies.
 */
export type TrustProxy = boolean | number | string[];

type Env = Record<string, string | undefined>;

function int(env: Env, name: string, fallback: number, min = 0): number {
  const raw = env[name];
  if (raw === undefined || raw === "") return fallback;
  const value = Number(raw);
  if (!Number.isSafeInteger(value) || value < min) {
    throw new ConfigError(`${name} must be an integer >= ${min}, got "${raw}"`);
  }
  return value;
}

/** Accepts "3600", "3600s", "90m", "1h", "2d"; answers seconds. */
export function parseDurationSeconds(name: string, raw: string): number {
  const match = /^(\d+)\s*(s|m|h|d)?$/.exec(raw.trim());
  if (!match) throw new ConfigError(`${name} must be a duration like 3600, 15m, 1h or 2d, got "${raw}"`);
  const units: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86400 };
  const seconds = Number(match[1]) * units[match[2] ?? "s"];
  if (seconds <= 0) throw new ConfigError(`${name} must be positive`);
  return seconds;
}

function duration(env: Env, name: string, fallback: string): number {
  return parseDurationSeconds(name, env[name] || fallback);
}

function bool(env: Env, name: string, fallback: boolean): boolean {
  const raw = env[name];
  if (raw === undefined || raw === "") return fallback;
  if (/^(1|true|yes|on)$/i.test(raw)) return true;
  if (/^(0|false|no|off)$/i.test(raw)) return false;
  throw new ConfigError(`${name} must be true or false, got "${raw}"`);
}

/** Express's names for address ranges, as TRUST_PROXY accepts them. */
const NAMED_RANGES: Record<string, string[]> = {
  loopback: ["127.0.0.0/8", "::1/128"],
  linklocal: ["169.254.0.0/16", "fe80::/10"],
  uniquelocal: ["10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "fc00::/7"],
};

/** Unset or false, true, a hop count, or a comma-separated list of CIDRs, addresses and Express's range names. */
export function parseTrustProxy(raw: string | undefined): TrustProxy {
  const value = (raw ?? "").trim();
  if (value === "" || /^false$/i.test(value)) return false;
  if (/^true$/i.test(value)) return true;
  if (/^\d+$/.test(value)) return Number(value) || false;
  return value.split(",").flatMap((item) => {
    const entry = item.trim().toLowerCase();
    if (NAMED_RANGES[entry]) return NAMED_RANGES[entry];
    const [address, prefix, extra] = entry.split("/");
    const family = isIP(address);
    const bits = family === 4 ? 32 : 128;
    const valid = family !== 0 && extra === undefined && (prefix === undefined || (/^\d+$/.test(prefix) && Number(prefix) <= bits));
    if (!valid) {
      throw new ConfigError(`TRUST_PROXY must be true, false, a hop count or proxy CIDRs (or loopback, linklocal, uniquelocal), got "${item.trim()}"`);
    }
    return [`${address}/${prefix ?? bits}`];
  });
}

function url(env: Env, name: string, protocols: string[]): string | undefined {
  const raw = env[name];
  if (!raw) return undefined;
  let parsed: URL;
  try {
    parsed = new URL(raw);
  } catch {
    throw new ConfigError(`${name} is not a URL`);
  }
  if (!protocols.includes(parsed.protocol)) {
    throw new ConfigError(`${name} must start with ${protocols.join(" or ")}`);
  }
  return raw;
}

/** Reads and validates the configuration from `env` (process.env by default). */
export function loadConfig(env: Env = process.env): Config {
  const databaseUrl = url(env, "DATABASE_URL", ["postgres:", "postgresql:"]);
  const jwtSecret = env.JWT_SECRET || undefined;
  if (databaseUrl && !jwtSecret) {
    // Every instance on a shared database must sign with the same secret.
    throw new ConfigError("JWT_SECRET is required when DATABASE_URL is set");
  }
  if (jwtSecret && Buffer.byteLength(jwtSecret) < 32) {
    throw new ConfigError("JWT_SECRET must be at least 32 bytes");
  }
  const metricsToken = env.METRICS_TOKEN || undefined;
  // Sent as `Authorization: Bearer <token>`: header-safe characters only, and long enough
  // that guessing it is not an option.
  if (metricsToken !== undefined && !/^[\x21-\x7e]{16,}$/.test(metricsToken)) {
    throw new ConfigError("METRICS_TOKEN must be at least 16 printable characters without spaces");
  }
  const logLevel = env.LOG_LEVEL || "info";
  if (!["fatal", "error", "warn", "info", "debug", "trace", "silent"].includes(logLevel)) {
    throw new ConfigError(`LOG_LEVEL must be a pino level, got "${logLevel}"`);
  }
  const logFormat = env.LOG_FORMAT || "auto";
  if (!["json", "pretty", "auto"].includes(logFormat)) throw new ConfigError(`LOG_FORMAT must be json, pretty or auto, got "${logFormat}"`);
  return {
    port: int(env, "PORT", 4000),
    host: env.HOST || "0.0.0.0",
    dataDir: env.DATA_DIR || "./data",
    databaseUrl,
    redisUrl: url(env, "REDIS_URL", ["redis:", "rediss:"]),
    redisPrefix: env.REDIS_PREFIX ?? "classroom:",
    jwtSecret,
    jwtIssuer: env.JWT_ISSUER || "classroom-api",
    jwtAudience: env.JWT_AUDIENCE || "classroom-clients",
    accessTokenTtlSeconds: duration(env, "ACCESS_TOKEN_TTL", "1h"),
    refreshMaxAgeSeconds: duration(env, "REFRESH_MAX_AGE", "30d"),
    sessionTokenTtlSeconds: duration(env, "SESSION_TOKEN_TTL", "2h"),
    jwtClockToleranceSeconds: int(env, "JWT_CLOCK_TOLERANCE_SECONDS", 5),
    soloQuotaBytes: int(env, "SOLO_QUOTA_BYTES", 52_428_800),
    soloSnapshotKeepLast: int(env, "SOLO_SNAPSHOT_KEEP_LAST", 20, 1),
    snapshotEveryEvents: int(env, "SNAPSHOT_EVERY_EVENTS", 500, 1),
    autosaveAfterMs: int(env, "AUTOSAVE_AFTER_MS", 10_000, 1),
    reconnectGraceMs: int(env, "RECONNECT_GRACE_MS", 30_000),
    presenceTtlMs: int(env, "PRESENCE_TTL_MS", 15_000, 1),
    cursorTickMs: int(env, "CURSOR_TICK_MS", 50, 1),
    expiryGraceMs: int(env, "EXPIRY_GRACE_MS", 900_000),
    sessionMaxDurationMs: duration(env, "SESSION_MAX_DURATION", "4h") * 1000,
    backfillMax: int(env, "BACKFILL_MAX", 10_000, 1),
    latestSeqHeartbeatMs: int(env, "LATEST_SEQ_HEARTBEAT_MS", 5000, 1),
    corsOrigins: (env.CORS_ORIGINS ?? "")
      .split(",")
      .map((o) => o.trim())
      .filter(Boolean),
    logLevel,
    logFormat: logFormat === "auto" ? undefined : (logFormat as LogFormat),
    introspection: bool(env, "INTROSPECTION", true),
    limits: {
      maxDepth: int(env, "MAX_QUERY_DEPTH", 10, 1),
      maxAliases: int(env, "MAX_QUERY_ALIASES", 15, 0),
      maxTokens: int(env, "MAX_QUERY_TOKENS", 2000, 1),
      maxCost: int(env, "MAX_QUERY_COST", 5000, 1),
      maxPageSize: int(env, "MAX_PAGE_SIZE", 100, 1),
      maxHttpBodyBytes: int(env, "MAX_HTTP_BODY_BYTES", 1_048_576, 1024),
      maxWsFrameBytes: int(env, "MAX_WS_FRAME_BYTES", 1_048_576, 1024),
      maxSubscriptionsPerSocket: int(env, "MAX_SUBSCRIPTIONS_PER_SOCKET", 50, 1),
      maxSocketsPerUser: int(env, "MAX_SOCKETS_PER_USER", 20, 1),
      maxPendingSocketsPerIp: int(env, "WS_PENDING_PER_IP", 200, 1),
      maxNewSocketsPerIpPerMinute: int(env, "WS_NEW_PER_IP_PER_MINUTE", 600, 1),
      maxJsonDepth: int(env, "MAX_JSON_DEPTH", 32, 1),
    },
    rateLimits: {
      loginPerEmailAndIpPerMinute: int(env, "LOGIN_RATE_PER_EMAIL_IP", 10, 1),
      loginPerEmailPerMinute: int(env, "LOGIN_RATE_PER_EMAIL", 100, 1),
      loginPerIpPerMinute: int(env, "LOGIN_RATE_PER_IP", 100, 1),
      registerPerIpPerHour: int(env, "REGISTER_RATE_PER_IP", 100, 1),
      soloSessionsPerUserPerHour: int(env, "SOLO_SESSION_RATE_PER_USER", 60, 1),
      classroomsPerUserPerHour: int(env, "CLASSROOM_RATE_PER_USER", 20, 1),
      sessionsPerUserPerHour: int(env, "SESSION_RATE_PER_USER", 30, 1),
      wrongAccessCodesPerUserPerMinute: int(env, "WRONG_CODE_RATE_PER_USER", 10, 1),
      cursorMovesPerSecond: int(env, "CURSOR_RATE_PER_USER", 20, 1),
      cursorAbuseDropsPer10s: int(env, "CURSOR_ABUSE_DROPS", 100, 1),
    },
    serviceLimits: {
      maxBoardOpsPerBatch: int(env, "MAX_BOARD_OPS_PER_BATCH", 500, 1),
      maxSignalPayloadBytes: int(env, "MAX_SIGNAL_PAYLOAD_BYTES", 65_536, 1),
      maxCursorPayloadBytes: int(env, "MAX_CURSOR_PAYLOAD_BYTES", 2048, 64),
      maxTimelineBuckets: int(env, "MAX_TIMELINE_BUCKETS", 1000, 1),
      subscriberBufferFrames: int(env, "SUBSCRIBER_BUFFER_FRAMES", 1000, 2),
      subscriberBufferBytes: int(env, "SUBSCRIBER_BUFFER_BYTES", 4_194_304, 65_536),
    },
    trustProxy: parseTrustProxy(env.TRUST_PROXY),
    statementTimeoutMs: int(env, "STATEMENT_TIMEOUT_MS", 5000, 0),
    databasePoolSize: int(env, "DATABASE_POOL_SIZE", 10, 1),
    passwordHashCost: { memoryKiB: 19_456, iterations: 2 },
    connectionInitWaitMs: int(env, "CONNECTION_INIT_WAIT_MS", 3000, 1),
    wsKeepAliveMs: int(env, "WS_KEEPALIVE_MS", 12_000, 1000),
    jobsEnabled: bool(env, "JOBS_ENABLED", true),
    metricsToken,
    metricsEnabled: bool(env, "METRICS_ENABLED", true),
    boardCacheBytes: int(env, "BOARD_CACHE_BYTES", 67_108_864, 0),
    replayCacheBytes: int(env, "REPLAY_CACHE_BYTES", 134_217_728, 0),
    telemetry: {
      maxBodyBytes: int(env, "TELEMETRY_MAX_BODY_BYTES", 32_768, 1024),
      ratePerMinute: int(env, "TELEMETRY_RATE_PER_MINUTE", 300, 1),
      retentionDays: int(env, "TELEMETRY_RETENTION_DAYS", 14, 1),
      queueMaxEvents: int(env, "TELEMETRY_QUEUE_MAX", 10_000, 1),
    },
    tracing: tracingConfig(env),
    push: pushConfig(env, databaseUrl),
    video: videoConfig(env),
  };
}

function videoConfig(env: Env): VideoConfig {
  const provider = env.VIDEO_PROVIDER || "p2p";
  if (provider === "p2p") return { provider };
  if (provider !== "daily") throw new ConfigError(`VIDEO_PROVIDER must be p2p or daily, got "${provider}"`);
  const required = (name: string) => {
    const value = env[name];
    if (!value) throw new ConfigError(`${name} is required with VIDEO_PROVIDER=daily`);
    return value;
  };
  const apiKey = required("DAILY_API_KEY");
  const domain = required("DAILY_DOMAIN");
  if (!/^[A-Za-z0-9.-]+$/.test(domain)) throw new ConfigError(`DAILY_DOMAIN must be a subdomain or a host name, got "${domain}"`);
  const secretText = required("DAILY_WEBHOOK_SECRET");
  const webhookSecret = Buffer.from(secretText, "base64");
  if (webhookSecret.length < 16 || webhookSecret.toString("base64").replace(/=+$/, "") !== secretText.replace(/=+$/, ""))
    throw new ConfigError("DAILY_WEBHOOK_SECRET must be the base64 secret the provider shows (16 bytes or more)");
  const apiUrl = (env.DAILY_API_URL || "https://api.daily.co/v1").replace(/\/+$/, "");
  let url: URL;
  try {
    url = new URL(apiUrl);
  } catch {
    throw new ConfigError(`DAILY_API_URL must be an http(s) URL, got "${apiUrl}"`);
  }
  if (url.protocol !== "https:" && url.protocol !== "http:") throw new ConfigError(`DAILY_API_URL must be an http(s) URL, got "${apiUrl}"`);
  return {
    provider,
    daily: { apiKey, apiUrl, domain, webhookSecret, timeoutMs: int(env, "DAILY_TIMEOUT_MS", 5000, 100) },
    retryBaseMs: int(env, "VIDEO_RETRY_BASE_MS", 30_000, 0),
  };
}

function pushConfig(env: Env, databaseUrl: string | undefined): PushConfig {
  const vapidPublicKey = env.VAPID_PUBLIC_KEY || undefined;
  const vapidPrivateKey = env.VAPID_PRIVATE_KEY || undefined;
  if (!vapidPublicKey !== !vapidPrivateKey) throw new ConfigError("VAPID_PUBLIC_KEY and VAPID_PRIVATE_KEY are set together or not at all");
  // An uncompressed P-256 point (65 bytes) and a P-256 scalar (32 bytes), base64url as web-push prints them.
  if (vapidPublicKey && !/^[A-Za-z0-9_-]{87}$/.test(vapidPublicKey))
    throw new ConfigError("VAPID_PUBLIC_KEY must be a base64url P-256 public key (87 characters)");
  if (vapidPrivateKey && !/^[A-Za-z0-9_-]{43}$/.test(vapidPrivateKey))
    throw new ConfigError("VAPID_PRIVATE_KEY must be a base64url P-256 private key (43 characters)");
  const vapidSubject = env.VAPID_SUBJECT || "mailto:webpush@localhost";
  if (!/^(mailto:|https:\/\/)\S+$/.test(vapidSubject)) throw new ConfigError("VAPID_SUBJECT must be a mailto: or https:// URL");
  const requested = env.PUSH_ENABLED === undefined || env.PUSH_ENABLED === "" ? undefined : bool(env, "PUSH_ENABLED", true);
  if (requested && databaseUrl && !vapidPublicKey) {
    throw new ConfigError("VAPID_PUBLIC_KEY and VAPID_PRIVATE_KEY are required with DATABASE_URL when PUSH_ENABLED=true");
  }
  return {
    enabled: requested ?? !(databaseUrl && !vapidPublicKey),
    vapidPublicKey,
    vapidPrivateKey,
    vapidSubject,
    timeoutMs: int(env, "PUSH_TIMEOUT_MS", 5000, 100),
    maxSubscriptionsPerUser: int(env, "PUSH_MAX_SUBSCRIPTIONS_PER_USER", 20, 1),
    maxAttempts: int(env, "PUSH_MAX_ATTEMPTS", 5, 1),
    retryBaseMs: int(env, "PUSH_RETRY_BASE_MS", 30_000, 0),
    allowPrivateEndpoints: bool(env, "PUSH_ENDPOINT_ALLOW_PRIVATE", false),
    endpointCa: env.PUSH_ENDPOINT_CA || undefined,
  };
}

function tracingConfig(env: Env): TracingConfig {
  const exporters = (env.OTEL_TRACES_EXPORTER ?? "")
    .split(",")
    .map((name) => name.trim())
    .filter((name) => name !== "" && name !== "none");
  const requested = !!(env.OTEL_EXPORTER_OTLP_ENDPOINT || env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT) || exporters.length > 0;
  const sampler = (env.OTEL_TRACES_SAMPLER || "parentbased_always_on") as TraceSampler;
  if (!TRACE_SAMPLERS.includes(sampler)) throw new ConfigError(`OTEL_TRACES_SAMPLER must be one of ${TRACE_SAMPLERS.join(", ")}, got "${sampler}"`);
  const ratio = Number(env.OTEL_TRACES_SAMPLER_ARG || "1");
  if (!(ratio >= 0 && ratio <= 1)) throw new ConfigError(`OTEL_TRACES_SAMPLER_ARG must be a ratio from 0 to 1, got "${env.OTEL_TRACES_SAMPLER_ARG}"`);
  const named = !!env.OTEL_SERVICE_NAME || /(?:^|,)\s*service\.name\s*=/.test(env.OTEL_RESOURCE_ATTRIBUTES ?? "");
  return {
    // OTEL_TRACES_EXPORTER=none turns tracing off even with an endpoint, as the SDK would.
    enabled: requested && !/^\s*none\s*$/.test(env.OTEL_TRACES_EXPORTER ?? "") && !bool(env, "OTEL_SDK_DISABLED", false),
    serviceName: named ? undefined : "classroom-api",
    resolverThresholdMs: int(env, "TRACE_RESOLVER_THRESHOLD_MS", 10, 0),
    sampler: { name: sampler, ratio },
  };
}
