import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from "prom-client";
import type { ResyncReason } from "../domain/errors";
import { OperationDurations } from "./operation-metrics";
import { RecentRate } from "./recent-rate";

/** How a pooled database connection is doing, read when /metrics is scraped. */
export interface PoolStats {
  inUse: number;
  idle: number;
  /** Requests waiting for a connection. */
  waiting: number;
}

/**
 * What the gauges read when scraped, set by the composition root (src/app.ts) once the parts
 * that know exist. Each answers 0 (or nothing) until set: sync_queue_depth stays 0 until
 * offline sync (W4) is built.
 */
export interface MetricSources {
  /** Sessions with a WebRTC signalling subscriber on this instance. */
  webrtcSessions: () => number;
  /** Seated users holding a realtime connection on this instance (one per user per session). */
  onlineUsers: () => number;
  syncQueueDepth: () => number;
  /** Unexpired web push subscriptions of every user (a count in the database, read per scrape). */
  pushSubscriptions: () => number | Promise<number>;
  /** The database pool; undefined while there is none to read. */
  dbPool: () => PoolStats | undefined;
}

/** Board operations by what became of them. */
export type BoardOutcome = "applied" | "conflict" | "rejected";
/** Why events were read from the timeline again for delivery (delivery_retry_total). */
export type RetryReason = "gap" | "resubscribed" | "heartbeat" | "backfill";
/** Why a live frame did not reach a subscriber. */
export type DropReason = "overflow" | "closed" | "failed";
/** What was done with a token (token_operations_total). */
export type TokenOperation = "issue" | "verify" | "refresh" | "revoke" | "reject";

const BOARD_OUTCOMES: readonly BoardOutcome[] = ["applied", "conflict", "rejected"];
const RETRY_REASONS: readonly RetryReason[] = ["gap", "resubscribed", "heartbeat", "backfill"];
const DROP_REASONS: readonly DropReason[] = ["overflow", "closed", "failed"];
const RESYNC_REASONS: readonly ResyncReason[] = ["slow_subscriber", "backfill_max", "fell_behind"];
const TOKEN_OPERATIONS: readonly TokenOperation[] = ["issue", "verify", "refresh", "revoke", "reject"];

/**
 * A child per label value, bound once: prom-client's labels() hashes its arguments on every
 * call, which the hot paths (a live frame, a board op, a token check) must not pay.
 */
function bindEach<V extends string, C>(values: readonly V[], child: (value: V) => C): Record<V, C> {
  return Object.fromEntries(values.map((value) => [value, child(value)])) as Record<V, C>;
}

/** Children bound on first use, for a label whose values the schema or the code bounds (root fields, topics, job names). */
class ChildrenByLabel<C> {
  private readonly children = new Map<string, C>();

  constructor(private readonly bind: (value: string) => C) {}

  get(value: string): C {
    let child = this.children.get(value);
    if (!child) this.children.set(value, (child = this.bind(value)));
    return child;
  }
}

/**
 * The instance's Prometheus metrics (O1), one registry per app so that several apps in one
 * test process never share counters. GET /metrics serves `registry`. Label values are bounded
 * sets (an outcome, a root field, a signal type, an operation name capped by
 * OperationNames): never a user, session or token id.
 */
export class Metrics {
  readonly registry = new Registry();

  /** METRICS_ENABLED: when false the registry stays empty and the costly instrumentation (timers, stamps, plugins) is not installed. */
  readonly enabled: boolean;

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

  // --- Seed 002, task 4.1 ("Metrics Exporter"): its names, with this system's meaning of each.

  private readonly sources: MetricSources = {
    webrtcSessions: () => 0,
    onlineUsers: () => 0,
    syncQueueDepth: () => 0,
    pushSubscriptions: () => 0,
    dbPool: () => undefined,
  };

  /** Where the gauges read on each scrape come from (the composition root sets them). */
  measure(sources: Partial<MetricSources>): void {
    Object.assign(this.sources, sources);
  }

  /** Open sockets and running subscriptions; type is "websocket" or a subscription's root field, a set the schema bounds. */
  readonly realtimeConnections = new Gauge({
    name: "realtime_connections",
    help: 'Realtime connections on this instance by type: type="websocket" counts authenticated graphql-ws sockets, every other type is a running subscription by its root field (boardEvents, presence, signals, systemEvents, myProfile)',
    labelNames: ["type"] as const,
    registers: [this.registry],
  });
  readonly connectionsOf = new ChildrenByLabel((type) => this.realtimeConnections.labels(type));

  readonly webrtcSessionsActive: Gauge = new Gauge({
    name: "webrtc_sessions_active",
    help: "Sessions with at least one WebRTC signalling subscriber (a peer exchanging offers, answers and ICE candidates) on this instance; summed over instances a session with peers on two instances counts twice",
    registers: [this.registry],
    collect: (): void => this.webrtcSessionsActive.set(this.sources.webrtcSessions()),
  });

  readonly webrtcParticipants = new Counter({
    name: "webrtc_participants_total",
    help: "Participants who took a seat in a session (PARTICIPANT_JOIN committed on this instance; joining again while seated is not counted)",
    registers: [this.registry],
  });

  readonly webrtcSignals = new Counter({
    name: "webrtc_signals_total",
    help: "WebRTC signals relayed by sendSignal on this instance, by SignalType (OFFER, ANSWER, ICE_CANDIDATE, media toggles); refused signals are not counted",
    labelNames: ["type"] as const,
    registers: [this.registry],
  });
  readonly signalsOf = new ChildrenByLabel((type) => this.webrtcSignals.labels(type));

  readonly deliveryRetries = new Counter({
    name: "delivery_retry_total",
    help: 'Timeline events read back from the database to deliver them again, by reason: "gap" (an announcement skipped ahead: pub/sub lost or reordered a message), "resubscribed" (pub/sub reconnected), "heartbeat" (a latest-seq heartbeat showed this instance behind), "backfill" (a subscriber resuming with afterSeq, or joining behind its hub); rate(...[1m]) * 60 is the seed\'s delivery_retry_rate',
    labelNames: ["reason"] as const,
    registers: [this.registry],
  });
  readonly retries = bindEach(RETRY_REASONS, (reason) => this.deliveryRetries.labels(reason));

  readonly presenceActiveUsers: Gauge = new Gauge({
    name: "presence_active_users",
    help: 'Users present in sessions through this instance, by status: status="online" counts seated users holding at least one realtime connection here, once per user and session (JOINING and RECONNECTING are participant statuses in the database, not presence)',
    labelNames: ["status"] as const,
    registers: [this.registry],
    collect: (): void => this.presenceActiveUsers.labels("online").set(this.sources.onlineUsers()),
  });

  readonly presenceHeartbeats = new Counter({
    name: "presence_heartbeats_total",
    help: "Presence heartbeats of realtime connections on this instance (one when a connection starts, then every PRESENCE_TTL_MS / 3 while it lasts)",
    registers: [this.registry],
  });

  readonly boardOperations = new Counter({
    name: "board_operations_total",
    help: 'Board operations by outcome: "applied" (committed board events on this instance, server-made ones such as restores and imports included), "conflict" (ops applyBoardEvents reported as conflicts, applied or skipped per the strategy), "rejected" (ops of batches refused with an error, nothing of which was applied)',
    labelNames: ["outcome"] as const,
    registers: [this.registry],
  });
  readonly boardOps = bindEach(BOARD_OUTCOMES, (outcome) => this.boardOperations.labels(outcome));
  private readonly appliedRate = new RecentRate(10);

  readonly boardOperationsPerSecond: Gauge = new Gauge({
    name: "board_operations_per_second",
    help: "Board operations applied on this instance per second, averaged over the last 10 seconds when scraped",
    registers: [this.registry],
    collect: (): void => this.boardOperationsPerSecond.set(this.appliedRate.perSecond()),
  });

  readonly syncQueueDepth: Gauge = new Gauge({
    name: "sync_queue_depth",
    help: "Offline sync operations waiting to be applied (W4). Offline sync is not built yet: always 0 until it is",
    registers: [this.registry],
    collect: (): void => this.syncQueueDepth.set(this.sources.syncQueueDepth()),
  });

  readonly pushSubscriptionsActive: Gauge = new Gauge({
    name: "push_subscriptions_active",
    help: "Registered, unexpired web push subscriptions (W5), of all users and instances (counted in the database)",
    registers: [this.registry],
    // A scrape during a database outage keeps the last value rather than failing the whole scrape.
    collect: async (): Promise<void> => {
      try {
        this.pushSubscriptionsActive.set(await this.sources.pushSubscriptions());
      } catch {
        /* the last value stays */
      }
    },
  });

  /** Web push deliveries by outcome: sent, gone (404/410, subscription removed), failed (retried), given_up, refused (internal address). */
  readonly pushDeliveries = new Counter({
    name: "push_deliveries_total",
    help: "Web push delivery attempts by outcome: sent, gone (subscription removed), failed (to be retried), given_up, refused (internal endpoint address)",
    labelNames: ["outcome"] as const,
    registers: [this.registry],
  });

  readonly policyEvaluations = new Counter({
    name: "policy_evaluations_total",
    help: "Authorization decisions of src/auth (session and account policies) by outcome, allowed or denied; with several apps in one process each counts all of them",
    labelNames: ["outcome"] as const,
    registers: [this.registry],
  });
  private readonly policyOutcomes = bindEach(["allowed", "denied"] as const, (outcome) => this.policyEvaluations.labels(outcome));
  /** Counts one authorization decision (src/auth/policy-evaluations.ts calls it). */
  readonly policyEvaluated = (allowed: boolean): void => (allowed ? this.policyOutcomes.allowed : this.policyOutcomes.denied).inc();

  readonly tokenOperations = new Counter({
    name: "token_operations_total",
    help: 'JWT operations by kind: "issue" (access and session tokens signed), "verify" (tokens accepted), "reject" (tokens refused: invalid, expired, revoked, or too old to refresh), "refresh" (refreshAccessToken allowed), "revoke" (logout and password changes made here)',
    labelNames: ["kind"] as const,
    registers: [this.registry],
  });
  private readonly tokenKinds = bindEach(TOKEN_OPERATIONS, (kind) => this.tokenOperations.labels(kind));
  /** Counts one token operation (TokenService calls it). */
  readonly tokenOperation = (kind: TokenOperation): void => this.tokenKinds[kind].inc();

  // --- What an operator needs beside them.

  readonly operationDuration = new Histogram({
    name: "graphql_operation_duration_seconds",
    help: 'GraphQL operations by operation name (anonymous, or "other" past the first 100 names or for names that could hold an id), type (query, mutation, subscription: the time to start its stream; unknown when refused before the operation was known), outcome (ok, error: the client\'s or a domain refusal, server_error: internal or database unavailable) and transport (http, ws)',
    labelNames: ["operation", "type", "outcome", "transport"] as const,
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [this.registry],
  });
  readonly operations = new OperationDurations(this.operationDuration);

  readonly subscriptionsStarted = new Counter({
    name: "graphql_subscriptions_started_total",
    help: "Subscriptions whose stream started on this instance, by root field",
    labelNames: ["field"] as const,
    registers: [this.registry],
  });

  readonly subscriptionsEnded = new Counter({
    name: "graphql_subscriptions_ended_total",
    help: 'Subscriptions that ended on this instance, by root field and outcome: "complete" (the client completed it, its socket closed or the server completed it) or "error" (ended with an error: RESYNC_REQUIRED, FORBIDDEN …)',
    labelNames: ["field", "outcome"] as const,
    registers: [this.registry],
  });

  readonly deliveries = new Counter({
    name: "realtime_deliveries_total",
    help: "Live frames written to subscribers' sockets, by subscription root field (one per subscriber per frame)",
    labelNames: ["field"] as const,
    registers: [this.registry],
  });
  readonly deliveriesOf = new ChildrenByLabel((field) => this.deliveries.labels(field));

  readonly deliveriesDropped = new Counter({
    name: "realtime_deliveries_dropped_total",
    help: 'Live frames that did not reach a subscriber, by reason: "overflow" (its buffer or socket was full: it was ended with RESYNC_REQUIRED), "closed" (its socket had closed), "failed" (the frame could not be prepared)',
    labelNames: ["reason"] as const,
    registers: [this.registry],
  });
  readonly dropped = bindEach(DROP_REASONS, (reason) => this.deliveriesDropped.labels(reason));

  readonly resyncRequired = new Counter({
    name: "realtime_resync_required_total",
    help: 'Subscriptions ended with RESYNC_REQUIRED, by reason: "slow_subscriber" (its buffer or socket could not keep up), "backfill_max" (a resume further behind than BACKFILL_MAX), "fell_behind" (the server\'s listener for it fell behind while it caught up)',
    labelNames: ["reason"] as const,
    registers: [this.registry],
  });
  readonly resyncs = bindEach(RESYNC_REASONS, (reason) => this.resyncRequired.labels(reason));

  readonly pubsubLag = new Histogram({
    name: "pubsub_delivery_lag_seconds",
    help: "Seconds from a pub/sub publish to its arrival at this instance, by topic (timeline, presence, cursors, signals, profile, cursor-abuse, tokens-revoked). With Redis the publisher's clock stamps the message, so clock skew between hosts shows; the in-process bus measures its synchronous hand-over",
    labelNames: ["topic"] as const,
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    registers: [this.registry],
  });
  private readonly lagOf = new ChildrenByLabel((topic) => this.pubsubLag.labels(topic));
  /** Observes one message's publish-to-arrival lag (the event bus calls it). */
  readonly pubsubDelivered = (topic: string, seconds: number): void => this.lagOf.get(topic).observe(seconds);

  readonly jobRuns = new Counter({
    name: "job_runs_total",
    help: "Background job runs on this instance (scheduled or by hand), by job and outcome (ok, error)",
    labelNames: ["job", "outcome"] as const,
    registers: [this.registry],
  });

  readonly jobDuration = new Histogram({
    name: "job_duration_seconds",
    help: "How long background job runs on this instance took, by job",
    labelNames: ["job"] as const,
    buckets: [0.01, 0.05, 0.1, 0.5, 1, 5, 10, 30, 60, 300],
    registers: [this.registry],
  });

  /** Counts a finished job run. */
  jobRan(job: string, ok: boolean, durationMs: number): void {
    this.jobRuns.labels(job, ok ? "ok" : "error").inc();
    this.jobDuration.labels(job).observe(durationMs / 1000);
  }

  readonly dbPool: Gauge = new Gauge({
    name: "db_pool_connections",
    help: 'The database pool when scraped, by state: "in_use" (checked out), "idle", "waiting" (requests waiting for a connection). The embedded database is one connection',
    labelNames: ["state"] as const,
    registers: [this.registry],
    collect: (): void => {
      const stats = this.sources.dbPool();
      if (!stats) return;
      this.dbPool.labels("in_use").set(stats.inUse);
      this.dbPool.labels("idle").set(stats.idle);
      this.dbPool.labels("waiting").set(stats.waiting);
    },
  });

  /** Counts board ops applied (committed) now: board_operations_total and the per-second window. */
  boardOpsApplied(n: number): void {
    this.boardOps.applied.inc(n);
    this.appliedRate.add(n);
  }

  constructor(options: { defaultMetrics?: boolean; enabled?: boolean } = {}) {
    this.enabled = options.enabled !== false;
    // Disabled: nothing is served, and nothing samples the event loop or the heap.
    if (!this.enabled) this.registry.clear();
    else if (options.defaultMetrics !== false) collectDefaultMetrics({ register: this.registry });
  }
}
