import fs from "node:fs";
import path from "node:path";
import { DataSource, type DataSourceOptions, type Logger as TypeOrmLogger } from "typeorm";
import type { Config } from "../config";
import { entities } from "../entities";
import { migrations } from "../../migrations";
import { PGlitePool, pgliteDriver } from "./pglite-pool";
import { useFastTimestamps } from "./timestamps";

export type DatabaseKind = "postgres" | "embedded";

/** Where the database lives: a real Postgres with DATABASE_URL, else PGlite in DATA_DIR. */
export function databaseKind(config: Pick<Config, "databaseUrl">): DatabaseKind {
  return config.databaseUrl ? "postgres" : "embedded";
}

/**
 * The DataSource for `config`: real Postgres through `pg` when DATABASE_URL is set, the
 * embedded PGlite otherwise (':memory:' for a throw-away one). The schema comes only from
 * migrations: synchronize is never on.
 */
export function createDataSource(
  config: Pick<Config, "databaseUrl" | "dataDir" | "statementTimeoutMs" | "databasePoolSize">,
  logger?: TypeOrmLogger,
): DataSource {
  const common = {
    type: "postgres",
    entities,
    migrations,
    migrationsTableName: "migrations",
    synchronize: false,
    migrationsRun: false,
    // Migrations create what they need; ids come from gen_random_uuid(), which is core
    // Postgres, while uuid-ossp does not exist in PGlite.
    installExtensions: false,
    logger,
    logging: logger ? ["query", "error"] : false,
  } as const;
  if (config.databaseUrl) {
    useFastTimestamps();
    return new DataSource({
      ...common,
      url: config.databaseUrl,
      // A statement stuck behind a lock gives a clear error instead of a hung request.
      extra: {
        max: config.databasePoolSize,
        statement_timeout: config.statementTimeoutMs || undefined,
        lock_timeout: config.statementTimeoutMs || undefined,
        connectionTimeoutMillis: 10_000,
      },
    } as DataSourceOptions);
  }
  const dataDir = config.dataDir === ":memory:" ? undefined : path.join(config.dataDir, "pg");
  if (dataDir) fs.mkdirSync(config.dataDir, { recursive: true }); // PGlite creates only the last level
  return new DataSource({
    ...common,
    driver: pgliteDriver(new PGlitePool({ dataDir })),
  } as DataSourceOptions);
}
