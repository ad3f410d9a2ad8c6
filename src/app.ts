import "reflect-metadata";
import http from "node:http";
import type { AddressInfo } from "node:net";
import express from "express";
import type { DataSource } from "typeorm";
import { AccessPolicy } from "./auth/access";
import { PasswordHasher } from "./auth/passwords";
import { resolveJwtSecret } from "./auth/jwt-secret";
import { resolveVapidKeys } from "./auth/vapid-keys";
import { TokenService } from "./auth/tokens";
import type { Config } from "./config";
import { createDataSource, databaseKind } from "./db/data-source";
import { loggableError } from "./db/transient";
import { createLogger, type Logger } from "./infra/logger";
import { Metrics } from "./infra/metrics";
import { traceSlowResolvers, tracingOn } from "./infra/tracing";
import type { RateLimiter } from "./infra/rate-limiter";
import { createSharedInfra } from "./infra/shared-infra";
import { MemoryPresenceStore, type PresenceStore } from "./realtime/presence";
import { createGraphQLHttp } from "./http/graphql-http";
import { graphiqlRouter } from "./http/graphiql";
import { webAppRouter } from "./http/web-app";
import { healthRouter } from "./http/health";
import { metricsRouter } from "./http/metrics";
import { cors, httpErrorHandler, notFoundHandler, securityHeaders } from "./http/security";
import { trustFunction } from "./http/client-address";
import { requestIds } from "./http/request-id";
import { TELEMETRY_PATHS, telemetryHandler } from "./http/telemetry";
import type { EventBus } from "./realtime/event-bus";
import { jobs as jobDefinitions } from "./jobs/registry";
import { createJobScheduler } from "./jobs/scheduler";
import type { JobScheduler } from "./jobs/job";
import { createRealtimeServer, type RealtimeServer } from "./ws/ws-server";
import { buildGraphQLSchema } from "./schema/build-schema";
import { createErrorFormatter } from "./schema/errors";
import type { Services } from "./services";
import { BookingService } from "./services/booking.service";
import { ClassroomService } from "./services/classroom.service";
import { HistoryService } from "./services/history.service";
import { SyncService } from "./services/sync.service";
import { ReportService } from "./services/report.service";
import { TeachingStatsService } from "./services/teaching-stats.service";
import { LessonExportService } from "./services/lesson-export.service";
import { PersonalExportService } from "./services/personal-export.service";
import { lessonExportRouter } from "./http/lesson-export";
import { ParticipantService } from "./services/participant.service";
import { PresenceService } from "./services/presence.service";
import { SignalService } from "./services/signal.service";
import { SessionStore } from "./services/session-store";
import { BoardService } from "./services/board.service";
import { SessionConnections } from "./services/connections";
import { SessionFeed } from "./services/session-feed.service";
import { SessionService } from "./services/session.service";
import { SeatService } from "./services/seat.service";
import { LifecycleService } from "./services/lifecycle.service";
import { SessionBatches } from "./services/session-batches.service";
import { BoardExportService } from "./services/board-export.service";
import { ReplayService } from "./services/replay.service";
import { SnapshotService } from "./services/snapshot.service";
import { SnapshotRecorder } from "./services/snapshot-recorder";
import { BoardCaptures } from "./services/board-captures.service";
import { StorageQuota } from "./services/storage-quota";
import { exportRouter } from "./http/export";
import { UserService } from "./services/user.service";
import { AccountService } from "./services/account.service";
import { TelemetryService } from "./services/telemetry.service";
import { DEFAULT_WRITER_LIMITS, TelemetryWriter } from "./services/telemetry-writer";
import { countCommits } from "./services/lesson-metrics";
import { observePolicyEvaluations } from "./auth/policy-evaluations";
import { poolStats } from "./db/pool-stats";
import { WebPushSender } from "./infra/push-sender";
import { PushNotifier } from "./services/push-notifier";
import { PushService } from "./services/push.service";
import { LessonNotices } from "./services/lesson-notices";
import { VideoRooms } from "./services/video-rooms.service";
import { VideoCallEvents } from "./services/video-call-events";
import { VideoCallService } from "./services/video-call.service";
import { DailyVideoProvider, p2pVideo } from "./infra/video-provider";
import { VIDEO_WEBHOOK_PATH, videoWebhookHandler } from "./http/video-webhook";

export interface App {
  config: Config;
  logger: Logger;
  db: DataSource;
  bus: EventBus;
  services: Services;
  tokens: TokenService;
  httpServer: http.Server;
  /** The background jobs' scheduler (W6); started by listen() when JOBS_ENABLED. */
  jobs: JobScheduler;
  /** Listens on config.port/host (0 picks a free port), then starts the job schedule; answers the base URL. */
  listen(): Promise<string>;
  /** Graceful stop: refuse new work, close sockets with 1001, drain HTTP, close pools. */
  stop(): Promise<void>;
}

/**
 * The composition root: infrastructure → services → schema → transports. Everything an
 * instance holds is created here, so two instances can run side by side in one process.
 * The database must already be migrated (src/main.ts and the tests do that); the app owns
 * it from here and closes it on stop.
 */
export async function createApp(config: Config, deps: { logger?: Logger; db?: DataSource } = {}): Promise<App> {
  const logger = deps.logger ?? createLogger(config.logLevel, { format: config.logFormat });
  const db = deps.db ?? createDataSource(config);
  if (!db.isInitialized) await db.initialize();

  // METRICS_ENABLED=false: an empty registry, no /metrics route, and none of the instrumentation below.
  const metrics = new Metrics({ enabled: config.metricsEnabled });
  const infra = await createSharedInfra(config, logger, metrics);
  const { bus, limiter, presence } = infra;

  const tokens = new TokenService(resolveJwtSecret(config), config, metrics.enabled ? metrics.tokenOperation : undefined);
  const services = createServices(db, config, { bus, limiter, tokens, presence, logger, metrics });

  // Jobs: created here, started once listening, stopped before the bus and the database close.
  const jobs = createJobScheduler(jobDefinitions, { services, config, logger, now: () => new Date() });
  const stopCounting: Array<() => void> = [];
  if (metrics.enabled) {
    stopCounting.push(jobs.onRun((run) => metrics.jobRan(run.job, run.error === undefined, run.durationMs)));
    stopCounting.push(observePolicyEvaluations(metrics.policyEvaluated));
    metrics.measure({ dbPool: () => poolStats(db) });
  }

  const schema = await buildGraphQLSchema({ maxJsonDepth: config.limits.maxJsonDepth });
  // Resolvers slower than TRACE_RESOLVER_THRESHOLD_MS get spans of their own; untouched with tracing off.
  if (tracingOn()) traceSlowResolvers(schema, config.tracing.resolverThresholdMs);
  const formatError = createErrorFormatter(
    (error, requestId, transient) =>
      transient
        ? logger.warn({ requestId, cause: (error as { code?: string }).code ?? (error as Error).message }, "database briefly unavailable: the client retries")
        : logger.error({ err: loggableError(error), requestId }, "unexpected error"),
    { hideSuggestions: !config.introspection },
  );

  const expressApp = express();
  const httpServer = http.createServer(expressApp);
  const graphqlHttp = await createGraphQLHttp({ schema, config, services, tokens, formatError, httpServer });
  const realtime: RealtimeServer = createRealtimeServer({ httpServer, schema, config, services, tokens, formatError, logger });

  expressApp.disable("x-powered-by");
  // The same rule clientAddress applies, so req.ip and the per-IP limits agree.
  const trust = trustFunction(config.trustProxy);
  expressApp.set("trust proxy", trust);
  expressApp.use(requestIds, securityHeaders);
  const allowOrigins = cors(config.corsOrigins);
  const jsonBody = express.json({ limit: config.limits.maxHttpBodyBytes });
  // Operations are POSTed: answered before the routers of the other paths are walked.
  expressApp.post("/graphql", allowOrigins, jsonBody, graphqlHttp.handler);
  // Telemetry reads its own body (no express.json): its 32 KiB limit holds after gunzip, while it streams.
  expressApp.post(
    TELEMETRY_PATHS,
    allowOrigins,
    telemetryHandler({
      telemetry: services.telemetry,
      limiter,
      tokens,
      trust,
      metrics: services.metrics,
      limits: config.telemetry,
      log: (err, requestId) => logger.error({ err, requestId }, "telemetry ingest failed"),
    }),
  );
  // The video provider's webhooks (W7) read their own body: the signature is over the raw bytes.
  if (config.video.provider === "daily") {
    expressApp.post(
      VIDEO_WEBHOOK_PATH,
      videoWebhookHandler({
        secret: config.video.daily.webhookSecret,
        events: services.videoCalls,
        log: (err, requestId) => logger.error({ err, requestId }, "video webhook failed"),
      }),
    );
  }
  // Set first thing by stop(): /readyz answers 503 while in-flight work drains.
  let draining = false;
  expressApp.use(healthRouter(db, bus, { draining: () => draining }));
  // Disabled metrics: GET /metrics is not found, like any other unknown path.
  if (metrics.enabled) expressApp.use(metricsRouter(metrics.registry, config.metricsToken));
  // CORS_ORIGINS for the API and the board downloads (fetched by the same browser apps), ahead
  // of every router on those paths: GraphiQL's GET /graphql route would otherwise answer a
  // preflight itself (Express's automatic OPTIONS), without the CORS headers.
  expressApp.use(["/graphql", "/export", TELEMETRY_PATHS[0]], allowOrigins);
  if (config.introspection) expressApp.use(graphiqlRouter());
  // The reference frontend (web/), built into dist/web by `npm run build`.
  expressApp.use(webAppRouter());
  const logExport = (err: unknown, requestId: string | undefined) => logger.error({ err, requestId }, "export failed");
  expressApp.use(exportRouter(services, tokens, logExport));
  expressApp.use(lessonExportRouter(services, tokens, logExport));
  expressApp.use("/graphql", jsonBody, graphqlHttp.handler);
  expressApp.use(notFoundHandler);
  expressApp.use(httpErrorHandler((err, requestId) => logger.error({ err, requestId }, "http error")));

  let stopping: Promise<void> | undefined;
  return {
    config,
    logger,
    db,
    bus,
    services,
    tokens,
    httpServer,
    jobs,
    listen() {
      return new Promise((resolve, reject) => {
        httpServer.once("error", reject);
        httpServer.listen(config.port, config.host, () => {
          const { port } = httpServer.address() as AddressInfo;
          const host = config.host === "0.0.0.0" || config.host === "::" ? "localhost" : config.host;
          logger.info({ port, database: databaseKind(config), redis: bus.health() }, "listening");
          // Not awaited: with BullMQ, registering the schedules waits for Redis, and serving must not.
          if (config.jobsEnabled) jobs.start().catch((err) => logger.error({ err }, "job schedule failed to start"));
          resolve(`http://${host}:${port}`);
        });
      });
    },
    stop() {
      draining = true;
      stopping ??= (async () => {
        await realtime.close();
        await graphqlHttp.apollo.stop(); // stops accepting and drains in-flight HTTP requests
        if (httpServer.listening) await new Promise((resolve) => httpServer.close(resolve));
        await services.telemetry.close(); // no event comes any more: the queued ones are written while the database is open
        services.presence.close(); // no move comes any more: its timeline listeners and cursor batches go, before the bus does
        await jobs.stop(); // waits for a running job, which writes to the database and publishes
        await infra.close();
        if (db.isInitialized) await db.destroy();
        for (const stop of stopCounting.splice(0)) stop();
      })();
      return stopping;
    },
  };
}

/**
 * The domain services over `db`: the server's (createApp) and `npm run job`'s, built the same
 * way so a job run by hand behaves as one run by the scheduler.
 */
export function createServices(
  db: DataSource,
  config: Config,
  {
    bus,
    limiter,
    tokens,
    presence = new MemoryPresenceStore(),
    logger,
    metrics = new Metrics({ defaultMetrics: false }),
  }: { bus: EventBus; limiter: RateLimiter; tokens: TokenService; presence?: PresenceStore; logger?: Logger; metrics?: Metrics },
): Services {
  // Realtime work in the background (presence heartbeats, a hub's gap reads) retries on its
  // own after a failure; the failures are still worth a line in the log, at most one every
  // 10 s (a Redis outage fails every connection's heartbeat).
  let failed = 0;
  let reportedAt = -Infinity;
  const onRealtimeError = (err: unknown) => {
    failed += 1;
    if (Date.now() - reportedAt < 10_000) return;
    reportedAt = Date.now();
    logger?.warn({ err, failures: failed }, "realtime background work failed; it is retried");
    failed = 0;
  };
  // Counters whose increments are skipped, not only unserved, with METRICS_ENABLED=false.
  const counting = metrics.enabled;
  const access = new AccessPolicy(db);
  const store = new SessionStore(db, bus);
  const { maxPageSize } = config.limits;
  const { serviceLimits } = config;
  const subscriberBuffer = { frames: serviceLimits.subscriberBufferFrames, bytes: serviceLimits.subscriberBufferBytes };
  const quota = new StorageQuota(config.soloQuotaBytes);
  const recorder = new SnapshotRecorder(quota, config.snapshotEveryEvents);
  const board = new BoardService(store, access, config.boardCacheBytes, serviceLimits.maxBoardOpsPerBatch, recorder);
  const captures = new BoardCaptures(store, board, recorder, quota, config.soloSnapshotKeepLast);
  const snapshots = new SnapshotService(store, access, board, recorder, quota, maxPageSize);
  const sessions = new SessionService(store, access, limiter, { ...config.rateLimits, maxPageSize });
  const lifecycle = new LifecycleService(store, access, captures);
  const participants = new ParticipantService(store, access);
  const connections = new SessionConnections(
    presence,
    bus,
    config,
    (sessionId, userId, online) => participants.connectionChanged(sessionId, userId, online),
    onRealtimeError,
    counting ? metrics.presenceHeartbeats : undefined,
  );
  const feed = new SessionFeed(
    db,
    bus,
    access,
    connections,
    {
      backfillMax: config.backfillMax,
      heartbeatMs: config.latestSeqHeartbeatMs,
      subscriberBuffer,
      retried: counting ? (reason, events) => metrics.retries[reason].inc(events) : undefined,
    },
    store,
    onRealtimeError,
  );
  metrics.countHubsWith(() => feed.hubCount);
  const signals = new SignalService(
    db,
    access,
    participants,
    bus,
    feed,
    connections,
    {
      maxPayloadBytes: serviceLimits.maxSignalPayloadBytes,
      subscriberBuffer,
    },
    counting ? metrics : undefined,
  );
  if (counting) {
    countCommits(store, metrics);
    metrics.measure({ webrtcSessions: () => signals.activeSessions, onlineUsers: () => connections.onlineUsers });
  }
  // Web push (W5): off without keys on a shared database (config.ts); the keys are resolved
  // like the JWT secret, generated into DATA_DIR on the embedded default.
  const vapid = config.push.enabled ? resolveVapidKeys(config) : undefined;
  const pushSender = vapid && new WebPushSender({ subject: config.push.vapidSubject, ...vapid }, config.push);
  const pushNotifier = new PushNotifier(db, pushSender, config.push, counting ? metrics : undefined);
  const lessonNotices = new LessonNotices(db, pushNotifier, feed, (err) => logger?.warn({ err }, "web push notification failed"));
  lessonNotices.watch(store);
  if (counting && pushSender) metrics.measure({ pushSubscriptions: () => pushNotifier.activeSubscriptions() });
  // The video provider (W7): with p2p (the default) no room is made and no request leaves.
  const video = config.video;
  const videoProvider = video.provider === "daily" ? new DailyVideoProvider(video.daily) : p2pVideo;
  const videoOptions = { sessionMaxDurationMs: config.sessionMaxDurationMs, retryBaseMs: video.provider === "daily" ? video.retryBaseMs : 0 };
  const videoRooms = new VideoRooms(db, videoProvider, videoOptions);
  videoRooms.watch(store);
  const reports = new ReportService(db, access);
  const users = new UserService(db, new PasswordHasher(config.passwordHashCost), tokens, limiter, bus, config.rateLimits, subscriberBuffer);
  const seats = new SeatService(store, access, tokens, limiter, config.rateLimits, captures);
  const services: Services = {
    access,
    users,
    accounts: new AccountService(db, users, seats),
    sessions,
    seats,
    lifecycle,
    sessionBatches: new SessionBatches(db, access),
    classrooms: new ClassroomService(db, access, sessions, limiter, { ...config.rateLimits, maxPageSize }),
    bookings: new BookingService(store, access, sessions, lifecycle, maxPageSize),
    participants,
    feed,
    presence: new PresenceService(
      access,
      connections,
      feed,
      store,
      bus,
      {
        cursorTickMs: config.cursorTickMs,
        cursorMovesPerSecond: config.rateLimits.cursorMovesPerSecond,
        cursorAbuseDropsPer10s: config.rateLimits.cursorAbuseDropsPer10s,
        maxCursorPayloadBytes: serviceLimits.maxCursorPayloadBytes,
        subscriberBuffer,
      },
      metrics,
      onRealtimeError,
    ),
    signals,
    board,
    reports,
    lessonExport: new LessonExportService(db, access, reports),
    personalExport: new PersonalExportService(db, limiter),
    teachingStats: new TeachingStatsService(db),
    history: new HistoryService(db, access, snapshots, { maxPageSize, maxTimelineBuckets: serviceLimits.maxTimelineBuckets }),
    sync: new SyncService(db, access, board, maxPageSize),
    snapshots,
    captures,
    replay: new ReplayService(db, access, config.replayCacheBytes, config.snapshotEveryEvents, maxPageSize, metrics),
    boardExport: new BoardExportService(access, board, snapshots),
    telemetry: new TelemetryService(
      db,
      new TelemetryWriter(db, metrics, { ...DEFAULT_WRITER_LIMITS, maxEvents: config.telemetry.queueMaxEvents }, (details, message) =>
        logger?.warn(details, message),
      ),
      metrics,
      { maxJsonDepth: config.limits.maxJsonDepth, maxPageSize },
    ),
    push: new PushService(db, pushNotifier, vapid?.publicKey, config.push.maxSubscriptionsPerUser),
    pushNotifier,
    lessonNotices,
    videoRooms,
    videoCall: new VideoCallService(store, access, videoProvider, videoRooms, feed, videoOptions),
    videoCalls: new VideoCallEvents(store),
    metrics,
  };
  return services;
}

/** Applies pending migrations; answers the names of those it ran. */
export async function migrate(db: DataSource): Promise<string[]> {
  if (!db.isInitialized) await db.initialize();
  const ran = await db.runMigrations({ transaction: "each" });
  return ran.map((m) => m.name);
}
