/**
 * report: the host's `report` of the long lesson (lib/lesson.ts), latency per call.
 * Baseline: one hand-written SQL aggregate through `pg` (events counted by user and type).
 * Checked: the report's eventCountsByType and each participant's boardEventCount equal the
 * aggregate's.
 */
import { Pool } from "pg";
import { gql } from "../lib/clients";
import { lessonOf } from "../lib/lesson";
import { check, percentile, scaled } from "../lib/measure";
import { alternate, med, row, type Scenario } from "../lib/scenario";

const CALLS = 20;
const REPORT = `query($s: ID!) { session(id: $s) { report { durationSeconds eventCountsByType attendance { user { id } boardEventCount chatMessageCount joinCount } } } }`;
const AGGREGATE = `SELECT user_id, type, count(*)::int AS n FROM session_events WHERE session_id = $1 GROUP BY user_id, type`;

interface Sample {
  p50: number;
  report?: { eventCountsByType: Record<string, number>; attendance: Array<{ user: { id: string }; boardEventCount: number }> };
}

export const remote = {
  async project(a: { url: string; token: string; sessionId: string; calls: number }): Promise<Sample> {
    const times: number[] = [];
    let report;
    for (let i = 0; i < a.calls; i++) {
      const t0 = performance.now();
      ({
        session: { report },
      } = await gql(a.url, REPORT, { s: a.sessionId }, a.token));
      times.push(performance.now() - t0);
    }
    return { p50: percentile(times, 50), report };
  },

  async baseline(a: { databaseUrl: string; sessionId: string; calls: number }): Promise<Sample> {
    const db = new Pool({ connectionString: a.databaseUrl, max: 1 });
    await db.query("SELECT 1");
    const times: number[] = [];
    for (let i = 0; i < a.calls; i++) {
      const t0 = performance.now();
      await db.query(AGGREGATE, [a.sessionId]);
      times.push(performance.now() - t0);
    }
    await db.end();
    return { p50: percentile(times, 50) };
  },
};

export const report: Scenario = {
  name: "report",
  async run(ctx) {
    return ctx.withServer(async (server) => {
      const lesson = await lessonOf(ctx.stack, server.url, ctx.log);
      const calls = scaled(CALLS, 5);
      const { rows } = await ctx.stack.db.query<{ user_id: string | null; type: string; n: number }>(AGGREGATE, [lesson.sessionId]);
      const byType: Record<string, number> = {};
      const boardByUser = new Map<string, number>();
      for (const r of rows) {
        byType[r.type] = (byType[r.type] ?? 0) + r.n;
        if (r.user_id && r.type.startsWith("BOARD_")) boardByUser.set(r.user_id, (boardByUser.get(r.user_id) ?? 0) + r.n);
      }
      ctx.log(`${lesson.events} events, ${calls} calls per round`);
      const samples = await alternate(
        ctx,
        async () => {
          const s = await ctx.load.call<Sample>("report", "project", { url: server.url, token: lesson.tutor.token, sessionId: lesson.sessionId, calls });
          const counts = s.report!.eventCountsByType;
          for (const type of new Set([...Object.keys(counts), ...Object.keys(byType)])) {
            check((counts[type] ?? 0) === (byType[type] ?? 0), `report: ${type} counted ${counts[type] ?? 0}, the events hold ${byType[type] ?? 0}`);
          }
          for (const p of s.report!.attendance) {
            const want = boardByUser.get(p.user.id) ?? 0;
            check(p.boardEventCount === want, `report: ${p.user.id} has boardEventCount ${p.boardEventCount}, the events hold ${want}`);
          }
          return { p50: Math.round(s.p50 * 100) / 100 };
        },
        async () => {
          const s = await ctx.load.call<Sample>("report", "baseline", { databaseUrl: ctx.stack.databaseUrl, sessionId: lesson.sessionId, calls });
          return { p50: Math.round(s.p50 * 100) / 100 };
        },
      );
      return [
        row(
          "report",
          "p50 ms",
          med(samples.project, (s) => s.p50),
          med(samples.baseline, (s) => s.p50),
          { op: "<=", value: 1.5 },
        ),
      ];
    }, "report");
  },
};
