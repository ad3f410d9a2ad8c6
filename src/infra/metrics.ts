import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from "prom-client";

/**
 * The instance's Prometheus metrics (O1), one registry per app so that several apps in one
 * test process never share counters. GET /metrics serves `registry`.
 */
export class Metrics {
  readonly registry = new Registry();

  /** GraphQL executions of live frames: one per event per distinct operation on this instance (issue 10). */
  readonly liveExecutions = new Counter({
    name: "realtime_executions_total",
    help: "GraphQL executions of live subscription frames (one per event per distinct operation, not per subscriber)",
    registers: [this.registry],
  });

  /** Subscribers ended because their socket could not drain (RESYNC_REQUIRED). */
  readonly slowSubscribers = new Counter({
    name: "realtime_slow_subscribers_total",
    help: "Subscribers ended with RESYNC_REQUIRED because their socket or buffer could not keep up",
    registers: [this.registry],
  });

  /** Cursor moves refused by the 20/s limit (HARDENING.md: dropped and counted). */
  readonly cursorMovesDropped = new Counter({
    name: "presence_cursor_moves_dropped_total",
    help: "Cursor moves dropped by the per-user rate limit",
    registers: [this.registry],
  });

  /**
   * Seeks the replay cache could not answer, by the board events each replayed on top of its
   * keyframe: keyframes keep this under SNAPSHOT_EVERY_EVENTS (issue 12).
   */
  readonly replaySeekEvents = new Histogram({
    name: "replay_seek_events_replayed",
    help: "Board events a replayBoardAt seek replayed on top of its keyframe (seeks the replay cache answered are not counted)",
    buckets: [0, 10, 50, 100, 250, 500, 1000, 5000],
    registers: [this.registry],
  });

  /** Sessions whose timeline this instance follows (one hub each): live sessions with local subscribers, nothing left behind. */
  private countTimelineHubs = () => 0;
  readonly timelineHubs: Gauge = new Gauge({
    name: "realtime_timeline_hubs",
    help: "Sessions whose timeline this instance follows for its local subscribers",
    registers: [this.registry],
    collect: (): void => this.timelineHubs.set(this.countTimelineHubs()),
  });

  // Telemetry ingest (W3)
  /** Events answered 204 (`accepted`), and those of them never stored (`dropped`: queue full, write failed, stopped). */
  readonly telemetryEvents = new Counter({
    name: "telemetry_events_total",
    help: "Telemetry events accepted by POST /api/v1/logs/telemetry, and accepted ones dropped before reaching the database",
    labelNames: ["outcome"] as const,
    registers: [this.registry],
  });

  /** Telemetry requests by the status answered (204, 400, 413, 415, 429). */
  readonly telemetryRequests = new Counter({
    name: "telemetry_requests_total",
    help: "Requests to POST /api/v1/logs/telemetry by HTTP status",
    labelNames: ["status"] as const,
    registers: [this.registry],
  });

  /** Where `realtime_timeline_hubs` is read from. */
  countHubsWith(count: () => number): void {
    this.countTimelineHubs = count;
  }

  constructor(options: { defaultMetrics?: boolean } = {}) {
    if (options.defaultMetrics !== false) collectDefaultMetrics({ register: this.registry });
  }
}
