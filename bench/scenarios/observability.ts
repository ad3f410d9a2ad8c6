/**
 * observability: what the instrumentation of issue 14 costs. Two API servers on the same
 * Postgres and Redis, one as shipped (Prometheus metrics on, tracing off: no OTEL_*
 * variable) and one with METRICS_ENABLED=false; the fanout and ingest rounds of those
 * scenarios run against each in turn (alternating, so the machine's noise falls on both).
 * The "baseline" here is the same server without metrics, so a ratio of 1 means the metrics
 * cost nothing; the goal is at most 5% lost. Checked as in fanout and ingest: every
 * subscriber gets every event once and in order, every board holds exactly the ops sent.
 */
import { ROUNDS, check, scaled, scaledMs } from "../lib/measure";
import { alternate, med, row, type Scenario, type ScenarioContext } from "../lib/scenario";
import { createSession, type ApiServer, type SeededUser } from "../lib/stack";
import { projectRound, type RoundResult } from "./fanout";

const INGEST_BATCH = 50;
const INGEST_SESSIONS = 4;

interface IngestSample {
  ops: number;
  ms: number;
  opsPerSec: number;
}

/** One ingest round (ingest.ts's, project side) on fresh sessions of `server`, verified in the database. */
async function ingestRound(ctx: ScenarioContext, server: ApiServer, tutor: SeededUser, batches: number): Promise<IngestSample> {
  const sessions = await Promise.all(Array.from({ length: INGEST_SESSIONS }, () => createSession(server.url, tutor, [])));
  const sample = await ctx.load.call<IngestSample>("ingest", "project", { url: server.url, token: tutor.token, sessions, batches });
  const { rows } = await ctx.stack.db.query<{ events: string }>(
    `SELECT count(e.id) AS events FROM classroom_sessions s LEFT JOIN session_events e ON e.session_id = s.id AND e.board_version IS NOT NULL
     WHERE s.id = ANY($1) GROUP BY s.id`,
    [sessions],
  );
  check(rows.length === INGEST_SESSIONS && rows.every((r) => Number(r.events) === batches * INGEST_BATCH), `observability: a board lost ops`);
  return sample;
}

export const observability: Scenario = {
  name: "observability",
  async run(ctx) {
    const withMetrics = await ctx.stack.startServer(ctx.profileName("metrics"));
    const without = await ctx.stack.startServer(ctx.profileName("no-metrics"), { METRICS_ENABLED: "false" });
    try {
      const metricsOff = await fetch(`${without.url}/metrics`);
      check(metricsOff.status === 404, `observability: GET /metrics answers ${metricsOff.status} with METRICS_ENABLED=false`);
      const subscribers = scaled(200, 10);
      const stepMs = scaledMs(1500);
      // One tutor per server's ingest sessions (createSession is limited to 30 an hour per user), one for fanout.
      const [tutor, ingestWith, ingestWithout] = await ctx.stack.seedUsers("observability-tutor", 3, "TUTOR");
      const students = await ctx.stack.seedUsers("observability-student", subscribers, "STUDENT");
      const fanoutSessions = new Map([
        [withMetrics, await createSession(withMetrics.url, tutor, students)],
        [without, await createSession(without.url, tutor, students)],
      ]);
      ctx.log(`fanout: ${subscribers} subscribers, ${stepMs} ms per rate`);
      const fanout = await alternate(
        ctx,
        () => projectRound(ctx, withMetrics, fanoutSessions.get(withMetrics)!, tutor, students, stepMs),
        () => projectRound(ctx, without, fanoutSessions.get(without)!, tutor, students, stepMs),
      );
      const batches = Math.max(1, Math.round(scaled(100_000) / ROUNDS / INGEST_SESSIONS / INGEST_BATCH));
      const warmUp = Math.max(1, Math.round(batches / 8));
      await ingestRound(ctx, withMetrics, ingestWith, warmUp);
      await ingestRound(ctx, without, ingestWithout, warmUp);
      ctx.log(`ingest: ${INGEST_SESSIONS} sessions × ${batches} batches of ${INGEST_BATCH}`);
      const ingest = await alternate(
        ctx,
        () => ingestRound(ctx, withMetrics, ingestWith, batches),
        () => ingestRound(ctx, without, ingestWithout, batches),
      );
      const top = (s: RoundResult) => Math.max(...s.deliveredPerSec);
      return [
        row(
          "fanout, metrics on",
          "delivered/s",
          med(fanout.project, top),
          med(fanout.baseline, top),
          { op: ">=", value: 0.95 },
          `baseline: the same server with METRICS_ENABLED=false; p99 at 100 events/s ${med(fanout.project, (s) => s.p99)} vs ${med(fanout.baseline, (s) => s.p99)} ms`,
        ),
        row(
          "ingest, metrics on",
          "ops/s",
          med(ingest.project, (s) => s.opsPerSec),
          med(ingest.baseline, (s) => s.opsPerSec),
          { op: ">=", value: 0.95 },
          "baseline: the same server with METRICS_ENABLED=false",
        ),
      ];
    } finally {
      await Promise.all([withMetrics.stop(), without.stop()]);
    }
  },
};
