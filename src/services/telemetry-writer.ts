import type { DataSource } from "typeorm";
import { loggableError } from "../db/transient";
import type { Metrics } from "../infra/metrics";

/**
 * One accepted event, ready for the database: a JSON object whose keys are the columns of
 * the insert's record type (INSERT_EVENTS), `event` included. Built once, when accepted, so
 * its size is known and a batch is a string concatenation.
 */
export interface TelemetryRow {
  json: string;
}

export interface TelemetryWriterLimits {
  /** Events held at most (TELEMETRY_QUEUE_MAX); beyond, new ones are dropped and counted. */
  maxEvents: number;
  /** Characters of JSON held at most, whatever the count. */
  maxChars: number;
  /** Events and characters of JSON per INSERT statement at most. */
  batchEvents: number;
  batchChars: number;
  /** How long an event waits for others before a partial batch is written. */
  flushAfterMs: number;
}

export const DEFAULT_WRITER_LIMITS: Omit<TelemetryWriterLimits, "maxEvents"> = {
  maxChars: 16 * 1024 * 1024,
  batchEvents: 500,
  batchChars: 1024 * 1024,
  flushAfterMs: 1000,
};

/**
 * One statement per batch, whatever its size: the rows travel as one jsonb array. The sender
 * is kept only while their account exists (a token may outlive it; the foreign key would
 * otherwise fail the whole batch).
 */
const INSERT_EVENTS = `
  INSERT INTO telemetry_events (received_at, user_id, type, level, client_timestamp, platform, app_version, session_id, event)
  SELECT t.received_at, u.id, t.type, t.level, t.client_timestamp, t.platform, t.app_version, t.session_id, t.event
  FROM jsonb_to_recordset($1::jsonb) AS t(
    received_at timestamptz, user_id uuid, type text, level text, client_timestamp timestamptz,
    platform text, app_version text, session_id uuid, event jsonb)
  LEFT JOIN users u ON u.id = t.user_id`;

/** At most one log line about dropped events per this many ms (an outage drops every batch). */
const DROP_LOG_EVERY_MS = 10_000;

/**
 * The telemetry ingest's storage, best effort (W3): accepted events wait in a bounded
 * in-memory queue and are written in multi-row batches, one batch at a time. Nothing here
 * ever fails a request: a full queue, a failed write or a stopped writer drops the events,
 * counts them in `telemetry_events_total{outcome="dropped"}` and says so in the log, at most
 * once every 10 s.
 */
export class TelemetryWriter {
  private queue: TelemetryRow[] = [];
  private queuedChars = 0;
  private timer: NodeJS.Timeout | undefined;
  private draining: Promise<void> | undefined;
  private closed = false;
  private droppedSinceLog = 0;
  private lastDropLogAt = -Infinity;

  constructor(
    private readonly db: DataSource,
    private readonly metrics: Metrics,
    private readonly limits: TelemetryWriterLimits,
    private readonly warn: (details: Record<string, unknown>, message: string) => void = () => undefined,
  ) {}

  /** Events waiting to be written. */
  get pending(): number {
    return this.queue.length;
  }

  /** Queues `rows` for writing; those that do not fit (or arrive after close) are dropped and counted. */
  enqueue(rows: readonly TelemetryRow[]): void {
    let dropped = 0;
    for (const row of rows) {
      if (this.closed || this.queue.length >= this.limits.maxEvents || this.queuedChars + row.json.length > this.limits.maxChars) {
        dropped += 1;
        continue;
      }
      this.queue.push(row);
      this.queuedChars += row.json.length;
    }
    if (dropped > 0) this.dropped(dropped, this.closed ? "stopped" : "queue full");
    if (this.queue.length === 0 || this.draining) return;
    if (this.queue.length >= this.limits.batchEvents || this.queuedChars >= this.limits.batchChars) {
      void this.flush();
    } else if (!this.timer) {
      this.timer = setTimeout(() => void this.flush(), this.limits.flushAfterMs);
      this.timer.unref();
    }
  }

  /**
   * Writes everything queued, in batches; resolves when the queue is empty (written, or
   * dropped after a failed write). Never rejects. Concurrent calls share one drain.
   */
  flush(): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.draining ??= this.drain().finally(() => {
      this.draining = undefined;
    });
    return this.draining;
  }

  /** Stops accepting (later events are dropped), then writes what is queued; call before the database closes. */
  async close(): Promise<void> {
    this.closed = true;
    await this.flush();
  }

  private async drain(): Promise<void> {
    while (this.queue.length > 0) {
      const batch = this.takeBatch();
      try {
        await this.db.query(INSERT_EVENTS, [`[${batch.map((row) => row.json).join(",")}]`]);
      } catch (err) {
        this.dropped(batch.length, "write failed", err);
      }
    }
  }

  private takeBatch(): TelemetryRow[] {
    let count = 0;
    let chars = 0;
    while (count < this.queue.length && count < this.limits.batchEvents && (count === 0 || chars + this.queue[count].json.length <= this.limits.batchChars)) {
      chars += this.queue[count].json.length;
      count += 1;
    }
    this.queuedChars -= chars;
    return this.queue.splice(0, count);
  }

  private dropped(count: number, reason: string, err?: unknown): void {
    this.metrics.telemetryEvents.inc({ outcome: "dropped" }, count);
    this.droppedSinceLog += count;
    const now = Date.now();
    if (now - this.lastDropLogAt < DROP_LOG_EVERY_MS) return;
    this.lastDropLogAt = now;
    this.warn({ dropped: this.droppedSinceLog, reason, ...(err ? { err: loggableError(err) } : {}) }, "telemetry events dropped");
    this.droppedSinceLog = 0;
  }
}
