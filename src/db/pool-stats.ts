import type { DataSource } from "typeorm";
import type { PoolStats } from "../infra/metrics";

/** What pg's Pool (and PGlitePool, which mimics it) tells of its connections. */
interface CountingPool {
  totalCount: number;
  idleCount: number;
  waitingCount: number;
}

/**
 * The connections of `db`'s pool (db_pool_connections): TypeORM's postgres driver keeps it as
 * `master`, a pg Pool on a real Postgres or the PGlitePool of the embedded database. Undefined
 * before the DataSource is initialized or after it is destroyed.
 */
export function poolStats(db: DataSource): PoolStats | undefined {
  if (!db.isInitialized) return undefined;
  const pool = (db.driver as { master?: Partial<CountingPool> }).master;
  if (!pool || typeof pool.totalCount !== "number" || typeof pool.idleCount !== "number" || typeof pool.waitingCount !== "number") return undefined;
  return { inUse: pool.totalCount - pool.idleCount, idle: pool.idleCount, waiting: pool.waitingCount };
}
