import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import type { Client } from "graphql-ws";
import { assertError, ok } from "../support/assertions";
import { backends } from "../support/backends";
import { activeLesson, type User } from "../support/lesson";
import { parsePrometheusText, sampleValue, type Family } from "../support/prometheus-text";
import { watch } from "../support/subscriptions";
import { startTestServer, type TestServer } from "../support/test-server";

const TOKEN = "metrics-token-0123456789abcdef";

/** The exposition format prom-client answers (text, version 0.0.4). */
function assertPrometheusText(res: Response, body: string): void {
  assert.equal(res.status, 200);
  assert.match(res.headers.get("content-type") ?? "", /^text\/plain; version=0\.0\.4/);
  assert.equal(res.headers.get("cache-control"), "no-store");
  // The live-delivery counter (issue 10) and the process metrics of prom-client's defaults.
  assert.match(body, /^# TYPE realtime_executions_total counter$/m);
  assert.match(body, /^realtime_executions_total \d+$/m);
  assert.match(body, /^process_cpu_user_seconds_total \d/m);
  assert.match(body, /^process_resident_memory_bytes \d/m);
  assert.match(body, /^nodejs_heap_size_used_bytes \d/m);
}

const READ_BOARD = `query ReadBoard($s: ID!) { session(id: $s) { board { version lastSeq } } }`;
const APPLY = (name: string) => `mutation ${name}($s: ID!, $events: [BoardEventInput!]!) {
  applyBoardEvents(sessionId: $s, events: $events) { version accepted { seq } conflicts { clientOpId } }
}`;
const BOARD_FEED = (name: string) => `subscription ${name}($s: ID!, $after: Int) { boardEvents(sessionId: $s, afterSeq: $after) { seq type } }`;
const SIGNAL_FEED = `subscription SignalFeed($s: ID!) { signals(sessionId: $s) { type } }`;
const SEND_SIGNAL = `mutation SendOffer($s: ID!, $input: SignalInput!) { sendSignal(sessionId: $s, input: $input) }`;
const PING = `mutation($s: ID!, $input: SignalInput!) { sendSignal(sessionId: $s, input: $input) }`;

const stroke = (baseVersion: number, n: number) => ({
  clientOpId: `metrics-op-${n}`,
  type: "STROKE",
  baseVersion,
  data: {
    id: `stroke-${n}`,
    points: [
      [0, 0],
      [n, n],
    ],
    color: "#000",
  },
});

/** One operation over a graphql-ws client: its single result. */
function overSocket(client: Client, query: string, variables: Record<string, unknown>): Promise<{ data?: any; errors?: readonly unknown[] }> {
  return new Promise((resolve, reject) => {
    let result: { data?: any; errors?: readonly unknown[] } | undefined;
    client.subscribe({ query, variables }, { next: (r) => void (result = r), error: reject, complete: () => resolve(result ?? {}) });
  });
}

/** GET /metrics, parsed strictly: every line of the body follows the grammar and every sample has HELP and TYPE. */
async function scrape(server: TestServer): Promise<Map<string, Family>> {
  const res = await fetch(`${server.url}/metrics`);
  assert.equal(res.status, 200);
  return parsePrometheusText(await res.text());
}

/** What a label value must never look like: it would name a user, a session or a token (one series each). */
const ID_LIKE: Array<[string, RegExp]> = [
  ["a UUID", /[0-9a-f]{8}[-_][0-9a-f]{4}[-_][0-9a-f]{4}[-_][0-9a-f]{4}[-_][0-9a-f]{12}/i],
  ["a long hex string", /[0-9a-f]{16,}/i],
  ["more than 6 digits", /^\d{7,}$/],
  ["an email", /@/],
];

for (const backend of backends) {
  describe(`GET /metrics after a scripted lesson [${backend.name}]`, { skip: backend.skip, timeout: 60_000 }, () => {
    let server: TestServer;
    let metrics: Map<string, Family>;
    let tutor: User;
    let student: User;
    let pings = 0;
    /** Signal frames the student's subscription received (the first pings may precede it). */
    let signalFrames = 0;

    before(async () => {
      // BACKFILL_MAX 5: a resume from the session's first seq is past it (RESYNC_REQUIRED).
      server = await startTestServer(backend, { env: { BACKFILL_MAX: "5" } });
      const lesson = await activeLesson(server, 1);
      tutor = lesson.tutor;
      student = lesson.students[0];
      const s = lesson.sessionId;
      const board = ok(await server.gql(READ_BOARD, { s }, tutor.token)).session.board;
      // A stranger's read: the policy says no (the session reads as null).
      assert.equal(ok(await server.gql(READ_BOARD, { s }, lesson.stranger.token)).session, null);

      const studentSocket = server.wsClient(student.token);
      const tutorSocket = server.wsClient(tutor.token);
      const feed = watch(server, student.token, BOARD_FEED("BoardFeed"), { s, after: board.lastSeq }, studentSocket);
      const signals = watch(server, student.token, SIGNAL_FEED, { s }, studentSocket);
      // A signals subscription sends nothing first: it is live once a broadcast JOIN reaches it.
      while (signals.received.length === 0) {
        assert.ok(++pings < 100, "the signals subscription never became live");
        ok(await server.gql(PING, { s, input: { type: "JOIN", payload: { ping: pings } } }, tutor.token));
        await new Promise((r) => setTimeout(r, 20));
      }

      // Three board ops: two over HTTP, one over the socket; then a batch refused whole.
      const first = ok(await server.gql(APPLY("Draw"), { s, events: [stroke(board.version, 1), stroke(board.version + 1, 2)] }, tutor.token));
      const { version } = first.applyBoardEvents;
      const third = await overSocket(tutorSocket, APPLY("DrawOverSocket"), { s, events: [stroke(version, 3)] });
      assert.equal(third.errors, undefined, JSON.stringify(third.errors));
      assertError(await server.gql(APPLY("RejectedDraw"), { s, events: [{ ...stroke(version + 1, 4), type: "RESTORE" }] }, tutor.token), "BAD_USER_INPUT");
      ok(await server.gql(SEND_SIGNAL, { s, input: { type: "OFFER", toUserId: student.id, payload: { sdp: "v=0" } } }, tutor.token));

      for (let n = 0; n < 3; n++) assert.equal((await feed.next()).data.boardEvents.type, "STROKE");
      await signals.until((frame) => frame.data.signals.type === "OFFER");
      signalFrames = signals.received.length;
      // A resume within BACKFILL_MAX reads the three back; one from the start is past it.
      const resumed = watch(server, student.token, BOARD_FEED("BoardCatchUp"), { s, after: board.lastSeq }, studentSocket);
      for (let n = 0; n < 3; n++) assert.equal((await resumed.next()).data.boardEvents.type, "STROKE");
      assert.equal(await watch(server, student.token, BOARD_FEED("BoardResume"), { s, after: 0 }, studentSocket).refusal(), "RESYNC_REQUIRED");

      // Names a client might put an id in, over both transports: labelled "other".
      ok(await server.gql(`query Q_4f1c2a9e8b7d6c5e4f3a2b1c0d9e { me { id } }`, {}, tutor.token));
      ok(await server.gql(`query U12345678 { me { id } }`, {}, tutor.token));
      const claimed = await fetch(server.graphqlUrl, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ query: "{ nothingHere }", operationName: `${student.email}` }),
      });
      assert.equal(claimed.status, 400);
      assert.equal((await overSocket(tutorSocket, `query Me_${student.id.replace(/-/g, "_")} { me { id } }`, {})).errors, undefined);

      await server.app.jobs.runNow("expire-sessions");
      metrics = await scrape(server);
    });
    after(() => server?.stop());

    const value = (name: string, labels: Record<string, string> = {}) => sampleValue(metrics, name, labels);
    const operations = (labels: Record<string, string>) => value("graphql_operation_duration_seconds_count", labels);

    it("exposes every metric of seed 002 this system has, under its name, with HELP and TYPE", () => {
      const expected: Record<string, string> = {
        realtime_connections: "gauge",
        webrtc_sessions_active: "gauge",
        webrtc_participants_total: "counter",
        webrtc_signals_total: "counter",
        delivery_retry_total: "counter",
        presence_active_users: "gauge",
        presence_heartbeats_total: "counter",
        board_operations_total: "counter",
        board_operations_per_second: "gauge",
        sync_queue_depth: "gauge",
        push_subscriptions_active: "gauge",
        policy_evaluations_total: "counter",
        token_operations_total: "counter",
        graphql_operation_duration_seconds: "histogram",
        graphql_subscriptions_started_total: "counter",
        graphql_subscriptions_ended_total: "counter",
        realtime_deliveries_total: "counter",
        realtime_deliveries_dropped_total: "counter",
        realtime_resync_required_total: "counter",
        pubsub_delivery_lag_seconds: "histogram",
        job_runs_total: "counter",
        job_duration_seconds: "histogram",
        db_pool_connections: "gauge",
        realtime_timeline_hubs: "gauge",
        presence_cursor_moves_dropped_total: "counter",
        process_cpu_user_seconds_total: "counter",
        nodejs_eventloop_lag_seconds: "gauge",
      };
      for (const [name, type] of Object.entries(expected)) {
        const family = metrics.get(name);
        assert.ok(family, `${name} is missing`);
        assert.equal(family.type, type, name);
        assert.ok(family.help.length > 20, `${name} has no real help text`);
      }
    });

    it("counts the lesson: seats, board ops by outcome, signals by type, and the ops/s window", () => {
      assert.equal(value("webrtc_participants_total"), 2); // the tutor and the student took a seat
      assert.equal(value("board_operations_total", { outcome: "applied" }), 3);
      assert.equal(value("board_operations_total", { outcome: "rejected" }), 1);
      assert.equal(value("board_operations_total", { outcome: "conflict" }), 0);
      assert.ok(value("board_operations_per_second") > 0);
      assert.equal(value("webrtc_signals_total", { type: "OFFER" }), 1);
      assert.equal(value("webrtc_signals_total", { type: "JOIN" }), pings);
      assert.equal(value("webrtc_sessions_active"), 1); // the student's signals subscription
      assert.equal(value("presence_active_users", { status: "online" }), 1); // the student, seated and subscribed
      assert.ok(value("presence_heartbeats_total") >= 2);
      assert.equal(value("sync_queue_depth"), 0);
      assert.equal(value("push_subscriptions_active"), 0);
    });

    it("counts the live side: sockets, subscriptions, deliveries per fan-out, resumes and RESYNC_REQUIRED", () => {
      assert.equal(value("realtime_connections", { type: "websocket" }), 2);
      assert.equal(value("realtime_connections", { type: "boardEvents" }), 2);
      assert.equal(value("realtime_connections", { type: "signals" }), 1);
      assert.equal(value("graphql_subscriptions_started_total", { field: "boardEvents" }), 2); // the refused resume never started
      assert.equal(value("realtime_deliveries_total", { field: "boardEvents" }), 6);
      assert.equal(value("realtime_deliveries_total", { field: "signals" }), signalFrames);
      assert.equal(value("realtime_resync_required_total", { reason: "backfill_max" }), 1);
      assert.ok(value("delivery_retry_total", { reason: "backfill" }) >= 3);
      assert.equal(value("realtime_deliveries_dropped_total"), 0);
      assert.ok(value("pubsub_delivery_lag_seconds_count", { topic: "signals" }) >= signalFrames);
    });

    it("times the named operations by type, outcome and transport", () => {
      assert.equal(operations({ operation: "ReadBoard", type: "query", outcome: "ok", transport: "http" }), 2);
      assert.equal(operations({ operation: "Draw", type: "mutation", outcome: "ok", transport: "http" }), 1);
      assert.equal(operations({ operation: "DrawOverSocket", type: "mutation", outcome: "ok", transport: "ws" }), 1);
      assert.equal(operations({ operation: "RejectedDraw", type: "mutation", outcome: "error", transport: "http" }), 1);
      assert.equal(operations({ operation: "SendOffer", type: "mutation", outcome: "ok", transport: "http" }), 1);
      assert.equal(operations({ operation: "BoardFeed", type: "subscription", outcome: "ok", transport: "ws" }), 1);
      assert.equal(operations({ operation: "BoardResume", type: "subscription", outcome: "error", transport: "ws" }), 1);
      assert.ok(operations({ operation: "anonymous", type: "mutation", transport: "http" }) >= pings);
      // The id-like names and the claimed email: "other", never themselves.
      assert.equal(operations({ operation: "other", transport: "http" }), 3);
      assert.equal(operations({ operation: "other", transport: "ws" }), 1);
    });

    it("counts tokens, policy decisions, jobs and the database pool", () => {
      assert.ok(value("token_operations_total", { kind: "issue" }) >= 5); // three registrations, two seats
      assert.ok(value("token_operations_total", { kind: "verify" }) >= 1);
      assert.ok(value("policy_evaluations_total", { outcome: "allowed" }) >= 1);
      assert.ok(value("policy_evaluations_total", { outcome: "denied" }) >= 1); // the stranger's read
      assert.equal(value("job_runs_total", { job: "expire-sessions", outcome: "ok" }), 1);
      assert.equal(value("job_duration_seconds_count", { job: "expire-sessions" }), 1);
      for (const state of ["in_use", "idle", "waiting"])
        assert.ok(
          metrics.get("db_pool_connections")?.samples.some((s) => s.labels.state === state),
          state,
        );
      assert.ok(value("db_pool_connections", { state: "in_use" }) + value("db_pool_connections", { state: "idle" }) >= 1);
    });

    it("never has a label value that looks like an id, in the whole scrape", () => {
      const found: string[] = [];
      for (const family of metrics.values()) {
        for (const sample of family.samples) {
          for (const [label, text] of Object.entries(sample.labels)) {
            for (const [what, pattern] of ID_LIKE) if (pattern.test(text)) found.push(`${sample.name}{${label}="${text}"} looks like ${what}`);
          }
        }
      }
      assert.deepEqual(found, []);
      // The lesson's own ids appear nowhere in the text either.
      const ids = [tutor.id, student.id];
      for (const family of metrics.values())
        for (const sample of family.samples) for (const text of Object.values(sample.labels)) for (const id of ids) assert.ok(!text.includes(id));
    });
  });

  describe(`GET /metrics with METRICS_ENABLED=false [${backend.name}]`, { skip: backend.skip }, () => {
    let server: TestServer;
    before(async () => {
      server = await startTestServer(backend, { env: { METRICS_ENABLED: "false" } });
    });
    after(() => server?.stop());

    it("is not found, and the API works without its instrumentation", async () => {
      const res = await fetch(`${server.url}/metrics`);
      assert.equal(res.status, 404);
      assert.doesNotMatch(await res.text(), /realtime_executions_total|process_cpu/);
      const { tutor, sessionId } = await activeLesson(server, 1);
      const board = ok(await server.gql(READ_BOARD, { s: sessionId }, tutor.token)).session.board;
      const socket = server.wsClient(tutor.token);
      const feed = watch(server, tutor.token, BOARD_FEED("BoardFeed"), { s: sessionId, after: board.lastSeq }, socket);
      const applied = await overSocket(socket, APPLY("DrawOverSocket"), { s: sessionId, events: [stroke(board.version, 1)] });
      assert.equal(applied.errors, undefined, JSON.stringify(applied.errors));
      assert.equal((await feed.next()).data.boardEvents.type, "STROKE");
      assert.equal(server.app.services.metrics.registry.getMetricsAsArray().length, 0);
    });
  });

  describe(`GET /metrics [${backend.name}]`, { skip: backend.skip }, () => {
    describe("without METRICS_TOKEN", () => {
      let server: TestServer;
      before(async () => {
        server = await startTestServer(backend);
      });
      after(() => server?.stop());

      it("answers the Prometheus text with the realtime counters and process metrics, to anyone", async () => {
        const res = await fetch(`${server.url}/metrics`);
        assertPrometheusText(res, await res.text());
      });

      it("counts on the registry of this instance", async () => {
        server.app.services.metrics.liveExecutions.inc(3);
        const res = await fetch(`${server.url}/metrics`);
        const body = await res.text();
        assert.match(body, /^realtime_executions_total 3$/m);
      });
    });

    describe("with METRICS_TOKEN set", () => {
      let server: TestServer;
      before(async () => {
        server = await startTestServer(backend, { env: { METRICS_TOKEN: TOKEN } });
      });
      after(() => server?.stop());

      const metrics = (authorization?: string) => fetch(`${server.url}/metrics`, { headers: authorization === undefined ? {} : { authorization } });

      for (const [what, authorization] of [
        ["no Authorization header", undefined],
        ["a wrong token", `Bearer ${TOKEN.slice(0, -1)}x`],
        ["a longer token", `Bearer ${TOKEN}0`],
        ["the token without the Bearer scheme", TOKEN],
        ["the right token under the Basic scheme", `Basic ${TOKEN}`],
      ] as const) {
        it(`refuses ${what} with 401 and no metrics`, async () => {
          const res = await metrics(authorization);
          assert.equal(res.status, 401);
          assert.match(res.headers.get("www-authenticate") ?? "", /^Bearer/);
          const body = await res.text();
          assert.doesNotMatch(body, /realtime_executions_total|process_cpu/);
          assert.deepEqual(JSON.parse(body).errors[0].extensions, { code: "UNAUTHENTICATED" });
        });
      }

      it("answers the metrics to the right token", async () => {
        const res = await metrics(`Bearer ${TOKEN}`);
        assertPrometheusText(res, await res.text());
      });
    });
  });
}
