import "reflect-metadata";
import { createApp, migrate } from "./app";
import { ConfigError, loadConfig } from "./config";
import { databaseKind } from "./db/data-source";
import { openDatabase } from "./db/open-database";
import { createLogger } from "./infra/logger";

/** `npm start`: one server, HTTP and WebSocket on one port, until SIGTERM or SIGINT. */
async function main(): Promise<void> {
  const config = loadConfig();
  const logger = createLogger(config.logLevel, { format: config.logFormat });
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
  console.log(`Classroom API ready at ${url}/graphql (GraphiQL in a browser, graphql-ws on the same path)`);

  let signals = 0;
  const shutdown = (signal: NodeJS.Signals) => {
    if (++signals > 1) process.exit(1); // a second signal: stop waiting
    logger.info({ signal }, "shutting down");
    app
      .stop()
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
