import "reflect-metadata";
import type * as AppModule from "./app";
import { ConfigError, loadConfig } from "./config";
import type * as DataSourceModule from "./db/data-source";
import type * as OpenDatabaseModule from "./db/open-database";
import type * as LoggerModule from "./infra/logger";
import { startTracing } from "./infra/tracing";

/** `npm start`: one server, HTTP and WebSocket on one port, until SIGTERM or SIGINT. */
async function main(): Promise<void> {
  const config = loadConfig();
  // Before anything loads http, pg, ioredis or express: the instrumentations patch them as
  // they are first required, so the rest of the server is required only after this.
  const tracing = config.tracing.enabled ? startTracing({ serviceName: config.tracing.serviceName, sampler: config.tracing.sampler }) : undefined;
  /* eslint-disable @typescript-eslint/no-require-imports */
  const { createApp, migrate } = require("./app") as typeof AppModule;
  const { databaseKind } = require("./db/data-source") as typeof DataSourceModule;
  const { openDatabase } = require("./db/open-database") as typeof OpenDatabaseModule;
  const { createLogger } = require("./infra/logger") as typeof LoggerModule;
  /* eslint-enable @typescript-eslint/no-require-imports */
  const logger = createLogger(config.logLevel, { format: config.logFormat, traceIds: config.tracing.enabled });
  const { db, lock } = await openDatabase(config, "server");
  if (databaseKind(config) === "embedded") {
    const ran = await migrate(db);
    if (ran.length) logger.info({ migrations: ran }, "applied migrations");
  } else if (await db.showMigrations()) {
    await db.destroy();
    throw new ConfigError("The database has pending migrations: run `npm run migrate` first.");
  }
  const app = await createApp(config, { logger, db });
  const url = await app.listen();
  console.log(`Classroom API ready at ${url}/graphql (GraphiQL in a browser, graphql-ws on the same path); the web app at ${url}/app`);

  let signals = 0;
  const shutdown = (signal: NodeJS.Signals) => {
    if (++signals > 1) process.exit(1); // a second signal: stop waiting
    logger.info({ signal }, "shutting down");
    app
      .stop()
      // The spans of the last requests are still buffered: exported before exiting.
      .then(() => tracing?.shutdown().catch((err) => logger.warn({ err }, "tracing did not flush")))
      .then(() => {
        lock?.release();
        process.exit(0);
      })
      .catch((err) => {
        logger.error({ err }, "shutdown failed");
        lock?.release();
        process.exit(1);
      });
  };
  process.on("SIGTERM", shutdown);
  process.on("SIGINT", shutdown);
}

main().catch((err) => {
  console.error(err instanceof ConfigError ? `Configuration error: ${err.message}` : err);
  process.exit(1);
});
