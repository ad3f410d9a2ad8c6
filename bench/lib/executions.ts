/**
 * The `executions` figure (issue 10): GraphQL executions of live frames per published event,
 * read from the servers' GET /metrics (`realtime_executions_total`) around a round. Shared
 * delivery executes once per event per distinct operation, so the figure must not exceed the
 * number of distinct operations an event meets; a figure of 1 per subscriber means none of it
 * is shared. Absent (undefined) when a server has no such counter.
 */
import http from "node:http";
import { median } from "./measure";
import { BENCH_METRICS_TOKEN } from "./stack";

const COUNTER = "realtime_executions_total";

/** The counter's value on the server at `baseUrl`, or undefined when it does not serve it. */
export function readExecutions(baseUrl: string): Promise<number | undefined> {
  return new Promise((resolve, reject) => {
    const req = http.get(`${baseUrl}/metrics`, { headers: { authorization: `Bearer ${BENCH_METRICS_TOKEN}` } }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("error", reject);
      res.on("end", () => {
        if (res.statusCode !== 200) return resolve(undefined);
        const match = new RegExp(`^${COUNTER}(?:\\{[^}]*\\})? (\\S+)$`, "m").exec(Buffer.concat(chunks).toString("utf8"));
        resolve(match ? Number(match[1]) : undefined);
      });
    });
    req.on("error", reject);
  });
}

/** The sum of the counter over `urls`, or undefined when any of them lacks it. */
export async function readExecutionsOf(urls: string[]): Promise<number | undefined> {
  const values = await Promise.all(urls.map(readExecutions));
  return values.some((v) => v === undefined) ? undefined : values.reduce<number>((sum, v) => sum + (v as number), 0);
}

/** Executions per event over a round: (after - before) / events; undefined when not counted. */
export function perEvent(before: number | undefined, after: number | undefined, events: number): number | undefined {
  if (before === undefined || after === undefined || events <= 0) return undefined;
  return Math.round(((after - before) / events) * 1000) / 1000;
}

/** What a scenario's result JSON and note carry about executions. */
export interface ExecutionsFigure {
  /** Median executions per event over the project's rounds; null when the server does not count them. */
  perEvent: number | null;
  /** The most an event may cost: the distinct operations it meets (summed over instances). */
  distinctOperations: number;
  /** Each project round's figure (null: not counted). */
  rounds: Array<number | null>;
}

/**
 * The figure from the rounds' values, its note for the table, and `wrong` when a round
 * executed more per event than there are distinct operations. A counter that reads 0 (shared
 * delivery not built yet) is reported, never failed.
 */
export function executionsFigure(rounds: Array<number | undefined>, distinctOperations: number): { figure: ExecutionsFigure; note: string; wrong?: string } {
  const counted = rounds.filter((r): r is number => r !== undefined).sort((a, b) => a - b);
  const middle = counted.length ? median(counted) : null;
  const figure: ExecutionsFigure = { perEvent: middle, distinctOperations, rounds: rounds.map((r) => r ?? null) };
  const note =
    middle === null
      ? `executions/event: not counted (no ${COUNTER} on GET /metrics)`
      : `executions/event ${middle} (${distinctOperations} distinct operation${distinctOperations === 1 ? "" : "s"} per event${middle === 0 ? "; the counter reads 0: not counting yet" : ""})`;
  const worst = counted.length ? counted[counted.length - 1] : undefined;
  const wrong =
    worst !== undefined && worst > distinctOperations
      ? `executions: ${worst} GraphQL executions per event, more than the ${distinctOperations} distinct operation${distinctOperations === 1 ? "" : "s"} an event meets`
      : undefined;
  return { figure, note, wrong };
}
