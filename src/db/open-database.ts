import type { DataSource } from "typeorm";
import type { Config } from "../config";
import { createDataSource, databaseKind } from "./data-source";
import { DataDirLock } from "./data-dir-lock";

export interface OpenDatabase {
  db: DataSource;
  /** Held on the embedded database (DATA_DIR) so no second process opens it. */
  lock?: DataDirLock;
  close(): Promise<void>;
}

/**
 * Opens the configured database for a process (`purpose` names it in the lock file): on the
 * embedded default it takes the DATA_DIR lock first, so a job or admin command refuses to
 * run while a server holds it.
 */
export async function openDatabase(config: Config, purpose: string): Promise<OpenDatabase> {
  const lock = databaseKind(config) === "embedded" && config.dataDir !== ":memory:" ? DataDirLock.acquire(config.dataDir, purpose) : undefined;
  const db = createDataSource(config);
  try {
    await db.initialize();
  } catch (err) {
    lock?.release();
    throw err;
  }
  return {
    db,
    lock,
    async close() {
      if (db.isInitialized) await db.destroy();
      lock?.release();
    },
  };
}
