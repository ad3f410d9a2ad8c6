import "reflect-metadata";
import http from "node:http";
import type { AddressInfo } from "node:net";
import express from "express";
import type { Redis } from "ioredis";
import type { DataSource } from "typeorm";
import { AccessPolicy } from "./auth/access";
import { PasswordHasher } from "./auth/passwords";
import { resolveJwtSecret } from "./auth/jwt-secret";
import { TokenService } from "./auth/tokens";
import type { Config } from "./config";
import { createDataSource, databaseKind } from "./db/data-source";
import { createLogger, type Logger } from "./infra/logger";
import { MemoryRateLimiter, RedisRateLimiter, type RateLimiter } from "./infra/rate-limiter";
import { createRedis, whenReady } from "./infra/redis";
import { createGraphQLHttp } from "./http/graphql-http";
import { graphiqlRouter } from "./http/graphiql";
import { healthRouter } from "./http/health";
import { cors, httpErrorHandler, notFoundHandler, securityHeaders } from "./http/security";
import { MemoryEventBus, RedisEventBus, type EventBus } from "./realtime/event-bus";
import { createRealtimeServer, type RealtimeServer } from "./realtime/ws-server";
import { buildGraphQLSchema } from "./schema/build-schema";
import { createErrorFormatter } from "./schema/errors";
import type { Services } from "./services";
import { SessionStore } from "./services/session-store";
import { SessionService } from "./services/session.service";
import { UserService } from "./services/user.service";

export interface App {
  config: Config;
  logger: Logger;
  db: DataSource;
  bus: EventBus;
  services: Services;
  tokens: TokenService;
  httpServer: http.Server;
  /** Listens on config.port/host (0 picks a free port); answers the base URL. */
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
  const logger = deps.logger ?? createLogger(config.logLevel);
  const db = deps.db ?? createDataSource(config);
  if (!db.isInitialized) await db.initialize();

  const redisClients: Redis[] = [];
  let bus: EventBus;
  let limiter: RateLimiter;
  if (config.redisUrl) {
    const commands = createRedis(config.redisUrl, "classroom-commands", logger);
    const subscriber = createRedis(config.redisUrl, "classroom-subscriber", logger, { subscriber: true });
    redisClients.push(commands);
    // Best effort: serve with shared counters and pub/sub from the first request when Redis
    // is up; when it is not, start anyway (readiness depends on the database alone).
    if (!(await whenReady(commands, 5000))) logger.warn("redis not reachable at start; continuing without it");
    bus = new RedisEventBus(commands, subscriber, config.redisPrefix);
    limiter = new RedisRateLimiter(commands, config.redisPrefix);
  } else {
    bus = new MemoryEventBus();
    limiter = new MemoryRateLimiter();
  }

  const tokens = new TokenService(resolveJwtSecret(config), config);
  const access = new AccessPolicy(db);
  const store = new SessionStore(db, bus);
  const services: Services = {
    access,
    users: new UserService(db, new PasswordHasher(config.passwordHashCost), tokens, limiter, bus, config.rateLimits),
    sessions: new SessionService(store, access, tokens, limiter),
  };

  const schema = await buildGraphQLSchema();
  const formatError = createErrorFormatter(
    (error, requestId) => logger.error({ err: error, requestId }, "unexpected error"),
    { hideSuggestions: !config.introspection },
  );

  const expressApp = express();
  const httpServer = http.createServer(expressApp);
  const graphqlHttp = await createGraphQLHttp({ schema, config, services, tokens, formatError, httpServer });
  const realtime: RealtimeServer = createRealtimeServer({ httpServer, schema, config, services, tokens, formatError, logger });

  expressApp.disable("x-powered-by");
  expressApp.set("trust proxy", false);
  expressApp.use(securityHeaders);
  expressApp.use(healthRouter(db, bus));
  if (config.introspection) expressApp.use(graphiqlRouter());
  expressApp.use(
    "/graphql",
    cors(config.corsOrigins),
    express.json({ limit: config.limits.maxHttpBodyBytes }),
    graphqlHttp.handler,
  );
  expressApp.use(notFoundHandler);
  expressApp.use(httpErrorHandler((err) => logger.error({ err }, "http error")));

  let stopping: Promise<void> | undefined;
  return {
    config,
    logger,
    db,
    bus,
    services,
    tokens,
    httpServer,
    listen() {
      return new Promise((resolve, reject) => {
        httpServer.once("error", reject);
        httpServer.listen(config.port, config.host, () => {
          const { port } = httpServer.address() as AddressInfo;
          const host = config.host === "0.0.0.0" || config.host === "::" ? "localhost" : config.host;
          logger.info({ port, database: databaseKind(config), redis: bus.health() }, "listening");
          resolve(`http://${host}:${port}`);
        });
      });
    },
    stop() {
      stopping ??= (async () => {
        await realtime.close();
        await graphqlHttp.apollo.stop(); // stops accepting and drains in-flight HTTP requests
        if (httpServer.listening) await new Promise((resolve) => httpServer.close(resolve));
        await bus.close();
        await Promise.all(redisClients.map((r) => r.quit().catch(() => r.disconnect())));
        if (db.isInitialized) await db.destroy();
      })();
      return stopping;
    },
  };
}

/** Applies pending migrations; answers the names of those it ran. */
export async function migrate(db: DataSource): Promise<string[]> {
  if (!db.isInitialized) await db.initialize();
  const ran = await db.runMigrations({ transaction: "each" });
  return ran.map((m) => m.name);
}
