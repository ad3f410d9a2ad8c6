import "reflect-metadata";
import { createServices } from "../app";
import { resolveJwtSecret } from "../auth/jwt-secret";
import { TokenService } from "../auth/tokens";
import { loadConfig } from "../config";
import { openDatabase } from "../db/open-database";
import { createLogger } from "../infra/logger";
import { createSharedInfra } from "../infra/shared-infra";
import { findJob, jobs } from "./registry";

/**
 * `npm run job -- <name>`: runs one job now against the configured database and prints its
 * summary. Exit codes: 0 done, 1 failed (or the embedded DATA_DIR is held by a server, where
 * the jobs run inside it), 2 no such job. With DATABASE_URL it runs beside the servers: jobs
 * are idempotent, and with REDIS_URL its events reach their subscribers.
 */
async function main(): Promise<void> {
  const name = process.argv[2];
  const job = findJob(name);
  if (!job) {
    const known = jobs.map((j) => `  ${j.name.padEnd(20)} ${j.description}`).join("\n");
    console.error(`${name ? `unknown job "${name}"` : "usage: npm run job -- <name>"}\njobs:\n${known}`);
    process.exit(2);
  }
  const config = loadConfig();
  const logger = createLogger(config.logLevel, { format: config.logFormat, fd: 2 }); // stdout carries the summary alone
  const { db, close } = await openDatabase(config, "job");
  try {
    if (await db.showMigrations()) throw new Error("The database has pending migrations: run `npm run migrate` first.");
    // Only what jobs use: the database, the services and the bus their events go out on.
    const infra = await createSharedInfra(config, logger);
    try {
      const services = createServices(db, config, { bus: infra.bus, limiter: infra.limiter, tokens: new TokenService(resolveJwtSecret(config), config) });
      console.log((await job.run({ services, config, logger, now: () => new Date() })).summary);
    } finally {
      await infra.close();
    }
  } finally {
    await close();
  }
}

main().catch((err) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
