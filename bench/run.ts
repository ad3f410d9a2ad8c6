/**
 * `npm run bench` (every scenario) or `npm run bench -- <name> …`: starts a throw-away
 * Postgres and Redis, then per scenario an API server process, a load-generator process and
 * the baseline's own process, runs project and baseline rounds alternately, and prints
 * the table (project / baseline medians, ratio, goal) and writes bench/results/latest.json.
 * A scenario whose answer is wrong fails the run (exit code 1), however fast it was.
 *
 * Environment: BENCH_SCALE (default 1; 0.1 for a quick run), BENCH_ROUNDS (default 3),
 * BENCH_PROFILE=1 (the API server writes a CPU profile per scenario under
 * bench/results/profiles; `node dist/bench/profile.js` summarises them).
 */
import "reflect-metadata";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { ROUNDS, SCALE, WrongAnswer } from "./lib/measure";
import type { Row, Scenario, ScenarioContext } from "./lib/scenario";
import { PROFILE_DIR, missingSessionField, requireBinaries, startStack, type ApiServer } from "./lib/stack";
import { Worker } from "./lib/worker";
import { classroom } from "./scenarios/classroom";
import { observability } from "./scenarios/observability";
import { connections } from "./scenarios/connections";
import { cursors } from "./scenarios/cursors";
import { fanout } from "./scenarios/fanout";
import { fanoutWide } from "./scenarios/fanout-wide";
import { ingest } from "./scenarios/ingest";
import { query } from "./scenarios/query";
import { report } from "./scenarios/report";
import { seek } from "./scenarios/seek";

const SCENARIOS: Scenario[] = [fanout, fanoutWide, ingest, seek, query, report, cursors, connections, classroom, observability];
const RESULTS = path.resolve(__dirname, "../../bench/results");

type Outcome = Row & { status: "measured" | "not available" | "wrong answer" | "error" };

const started = Date.now();
const stamp = () => `${((Date.now() - started) / 1000).toFixed(0).padStart(4)}s`;

async function main(): Promise<number> {
  const names = process.argv.slice(2).filter((a) => !a.startsWith("-"));
  const unknown = names.filter((n) => !SCENARIOS.some((s) => s.name === n));
  if (unknown.length) {
    console.error(`bench: unknown scenario ${unknown.join(", ")}; known: ${SCENARIOS.map((s) => s.name).join(", ")}`);
    return 2;
  }
  const chosen = names.length ? SCENARIOS.filter((s) => names.includes(s.name)) : SCENARIOS;
  requireBinaries();
  const profiling = process.env.BENCH_PROFILE === "1";
  if (profiling) fs.mkdirSync(PROFILE_DIR, { recursive: true });

  console.log(`bench: scale ${SCALE}, ${ROUNDS} rounds per side, ${os.cpus().length} CPUs (${os.cpus()[0]?.model ?? "?"})`);
  const stack = await startStack((m) => console.log(`[${stamp()}] ${m}`));
  // Interrupted: the API servers and workers go too; on exit the Postgres and Redis follow.
  for (const signal of ["SIGINT", "SIGTERM"] as const) {
    process.once(signal, () => {
      console.error(`bench: ${signal}, stopping`);
      stack.kill();
      process.exit(130);
    });
  }
  const outcomes: Outcome[] = [];
  try {
    for (const scenario of chosen) {
      const t0 = Date.now();
      const load = Worker.start(`${scenario.name} load generator`);
      const baselines: Worker[] = [];
      const ctx: ScenarioContext = {
        stack,
        load,
        startBaseline() {
          const worker = Worker.start(`${scenario.name} baseline`);
          baselines.push(worker);
          return worker;
        },
        profileName: (suffix) => (profiling ? `${scenario.name}${suffix ? "-" + suffix : ""}` : undefined),
        log: (m) => console.log(`[${stamp()}] ${scenario.name}: ${m}`),
        withServer: (async <T>(fn: (server: ApiServer) => Promise<T>, needs?: string): Promise<T | string> => {
          const server = await stack.startServer(ctx.profileName());
          try {
            return (needs && (await missingSessionField(server.url, needs))) || (await fn(server));
          } finally {
            await server.stop();
          }
        }) as ScenarioContext["withServer"],
        async withEmbeddedServer(fn) {
          const server = await stack.startEmbeddedServer(ctx.profileName("embedded"));
          try {
            return await fn(server);
          } finally {
            await server.stop();
          }
        },
      };
      ctx.log("start");
      try {
        const result = await scenario.run(ctx);
        if (typeof result === "string") {
          ctx.log(`not available: ${result}`);
          outcomes.push(blank(scenario.name, "not available", result));
        } else {
          for (const wrong of new Set(result.map((r) => r.wrong).filter(Boolean))) ctx.log(`WRONG ANSWER: ${wrong}`);
          for (const r of result) {
            outcomes.push({ ...r, status: r.wrong ? "wrong answer" : "measured", notes: [r.notes, r.wrong].filter(Boolean).join("; ") });
          }
        }
      } catch (err) {
        const wrong = err instanceof WrongAnswer;
        const message = err instanceof Error ? err.message : String(err);
        console.error(`[${stamp()}] ${scenario.name}: ${wrong ? "WRONG ANSWER" : "ERROR"}: ${err instanceof Error && !wrong ? err.stack : message}`);
        outcomes.push(blank(scenario.name, wrong ? "wrong answer" : "error", message.split("\n")[0]));
      } finally {
        await Promise.all([load.stop(), ...baselines.map((b) => b.stop())]);
      }
      ctx.log(`done in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
    }
  } finally {
    await stack.stop();
  }

  printTable(outcomes);
  fs.mkdirSync(RESULTS, { recursive: true });
  const json = outcomes.map(({ name, project, baseline, ratio, goal, met, unit, status, notes, executions, embedded }) => ({
    name,
    project,
    baseline,
    ratio,
    goal,
    met,
    unit,
    status,
    ...(embedded !== undefined ? { embedded, embeddedRatio: embedded / baseline } : {}),
    ...(notes ? { notes } : {}),
    ...(executions ? { executions } : {}),
  }));
  fs.writeFileSync(path.join(RESULTS, "latest.json"), JSON.stringify(json, null, 2) + "\n");
  console.log(`\nwrote bench/results/latest.json; total ${((Date.now() - started) / 1000).toFixed(0)} s`);
  if (profiling) console.log(`CPU profiles in ${PROFILE_DIR}: node dist/bench/profile.js`);
  return outcomes.some((o) => o.status === "wrong answer" || o.status === "error") ? 1 : 0;
}

function blank(name: string, status: Outcome["status"], notes: string): Outcome {
  return { name, unit: "", project: NaN, baseline: NaN, ratio: NaN, goal: "", met: false, status, notes };
}

const fmt = (n: number) => (Number.isNaN(n) ? "-" : Math.abs(n) >= 100 ? n.toFixed(0) : Math.abs(n) >= 1 ? n.toFixed(2) : n.toPrecision(3));

function printTable(outcomes: Outcome[]): void {
  // embedded: the project on its embedded default (PGlite), and its ratio to the same baseline.
  const header = ["scenario", "unit", "project", "baseline", "ratio", "goal", "met?", "embedded (ratio)"];
  const lines = outcomes.map((o) => [
    o.name,
    o.unit,
    fmt(o.project),
    fmt(o.baseline),
    fmt(o.ratio),
    o.goal,
    o.status === "measured" ? (o.met ? "yes" : "NO") : o.status.toUpperCase(),
    o.embedded === undefined ? "" : `${fmt(o.embedded)} (${fmt(o.embedded / o.baseline)})`,
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => l[i].length)));
  const show = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i])).join("  ");
  console.log("\n" + show(header));
  console.log(widths.map((w) => "-".repeat(w)).join("  "));
  for (const l of lines) console.log(show(l));
  for (const o of outcomes) if (o.notes) console.log(`  ${o.name}: ${o.notes}`);
}

main().then(
  (code) => process.exit(code),
  (err) => {
    console.error("bench:", err instanceof Error ? err.stack : err);
    process.exit(1);
  },
);
