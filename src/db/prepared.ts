import { Pool } from "pg";
import { QueryFailedError, type DataSource } from "typeorm";

/** Statement text → its prepared statement's name (the same text always has the same name). */
const names = new Map<string, string>();
/** Each connection keeps every statement it prepared: texts beyond this many run unprepared. */
const MAX_PREPARED = 64;

/**
 * Runs one statement outside any transaction, on real Postgres as a named prepared
 * statement: each pooled connection parses it once and may keep its plan, where a plain
 * query is parsed and planned on every call (half of the database's CPU for a board write).
 * For the hot statements whose text is fixed (their values are all parameters). On the
 * embedded PGlite, a plain query. Logged and failing (QueryFailedError) as DataSource.query.
 */
export async function queryPrepared<T = Record<string, unknown>>(db: DataSource, text: string, params: readonly unknown[]): Promise<T[]> {
  const pool = (db.driver as unknown as { master?: unknown }).master;
  if (!(pool instanceof Pool) || (names.size >= MAX_PREPARED && !names.has(text))) return (await db.query(text, params as unknown[])) as T[];
  let name = names.get(text);
  if (!name) names.set(text, (name = `p${names.size + 1}`));
  db.logger.logQuery(text, params as unknown[]);
  try {
    return (await pool.query({ name, text, values: params as unknown[] })).rows as T[];
  } catch (err) {
    db.logger.logQueryError(err as Error, text, params as unknown[]);
    throw new QueryFailedError(text, params as unknown[], err as Error);
  }
}
