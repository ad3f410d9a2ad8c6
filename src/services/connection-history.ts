import type { DataSource, EntityManager } from "typeorm";

/** At most one connection quality sample per participant in this long (issue 18). */
export const QUALITY_SAMPLE_INTERVAL_SECONDS = 10;

/**
 * Keeps a participant's new connectionQuality, inside the transaction that holds the
 * session's lock (so two instances cannot both insert): a new sample, unless their last one
 * is under 10 s old, whose value it then replaces. One statement.
 */
export async function recordConnectionQuality(tx: EntityManager, sessionId: string, userId: string, quality: string | null): Promise<void> {
  await tx.query(
    `WITH recent AS (
       SELECT id FROM connection_quality_samples
        WHERE session_id = $1 AND user_id = $2 AND at > now() - make_interval(secs => $4)
        ORDER BY at DESC LIMIT 1
     ), replaced AS (
       UPDATE connection_quality_samples c SET quality = $3 FROM recent WHERE c.id = recent.id RETURNING c.id
     )
     INSERT INTO connection_quality_samples (session_id, user_id, quality)
     SELECT $1, $2, $3 WHERE NOT EXISTS (SELECT 1 FROM replaced)`,
    [sessionId, userId, quality, QUALITY_SAMPLE_INTERVAL_SECONDS],
  );
}

/** Counts one relayed signal of `type` (the signal itself is not recorded: it carries network addresses). */
export async function countSignal(db: DataSource, sessionId: string, type: string): Promise<void> {
  await db.query(
    `INSERT INTO session_signal_counts AS c (session_id, type, count) VALUES ($1, $2, 1)
     ON CONFLICT (session_id, type) DO UPDATE SET count = c.count + 1`,
    [sessionId, type],
  );
}

/** What the lesson report adds from the connection history: per user, seconds per quality level; signal counts by type. */
export interface ConnectionHistory {
  qualitySeconds: Map<string, Record<string, number>>;
  signalCountsByType: Record<string, number>;
}

/**
 * The session's connection history in one statement: each sample lasts until the
 * participant's next one, the last until the session's actual end (or now while it runs);
 * a cleared quality (null) counts for no level.
 */
export async function readConnectionHistory(db: DataSource, sessionId: string): Promise<ConnectionHistory> {
  const [row] = (await db.query(
    `SELECT
       (SELECT COALESCE(json_agg(json_build_object('user_id', user_id, 'quality', quality, 'seconds', seconds)), '[]'::json)
          FROM (SELECT user_id, quality, floor(sum(GREATEST(0, extract(epoch FROM COALESCE(next_at, end_at) - at))))::int AS seconds
                  FROM (SELECT c.user_id, c.quality, c.at,
                               lead(c.at) OVER (PARTITION BY c.user_id ORDER BY c.at, c.id) AS next_at,
                               COALESCE(s.actual_end, now()) AS end_at
                          FROM connection_quality_samples c JOIN classroom_sessions s ON s.id = c.session_id
                         WHERE c.session_id = $1) spans
                 WHERE quality IS NOT NULL
                 GROUP BY user_id, quality) levels) AS quality,
       (SELECT COALESCE(json_object_agg(type, count), '{}'::json) FROM session_signal_counts WHERE session_id = $1) AS signals`,
    [sessionId],
  )) as Array<{ quality: unknown; signals: unknown }>;
  const parse = <T>(value: unknown): T => (typeof value === "string" ? (JSON.parse(value) as T) : (value as T));
  const qualitySeconds = new Map<string, Record<string, number>>();
  for (const level of parse<Array<{ user_id: string; quality: string; seconds: number }>>(row.quality)) {
    const levels = qualitySeconds.get(level.user_id) ?? {};
    levels[level.quality] = level.seconds;
    qualitySeconds.set(level.user_id, levels);
  }
  return { qualitySeconds, signalCountsByType: parse<Record<string, number>>(row.signals) };
}
