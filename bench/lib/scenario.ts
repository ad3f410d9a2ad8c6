/** What a scenario file exports, and what it answers. */
import { ROUNDS, median } from "./measure";
import type { ExecutionsFigure } from "./executions";
import type { ApiServer, Stack } from "./stack";
import type { Worker } from "./worker";

export interface ScenarioContext {
  stack: Stack;
  /** The load generator process (started for the scenario, stopped after it). */
  load: Worker;
  /** A fresh baseline-server process; the scenario stops it. */
  startBaseline(): Worker;
  /** Name of the CPU profile the API server should write (BENCH_PROFILE=1), else undefined. */
  profileName(suffix?: string): string | undefined;
  log(message: string): void;
  /**
   * Runs `fn` against a fresh API server process (profiled under the scenario's name),
   * stopped after. With `needs`, a ClassroomSession field: when the server's schema lacks
   * it, answers why instead of running `fn`.
   */
  withServer<T>(fn: (server: ApiServer) => Promise<T>): Promise<T>;
  withServer<T>(fn: (server: ApiServer) => Promise<T>, needs: string): Promise<T | string>;
  /** `fn` against a fresh API server process on the embedded default (Stack.startEmbeddedServer), stopped after. */
  withEmbeddedServer<T>(fn: (server: ApiServer) => Promise<T>): Promise<T>;
}

/**
 * One line of the table. `ratio` is project / baseline; `goal` says which way it must go,
 * e.g. { op: ">=", value: 0.5 }; `absolute` goals compare `project` itself (not a ratio).
 */
export interface Row {
  name: string;
  unit: string;
  project: number;
  baseline: number;
  ratio: number;
  goal: string;
  met: boolean;
  notes?: string;
  /** Measured, but the answer was wrong: the run fails, the numbers are still shown. */
  wrong?: string;
  /** The project's figure on the embedded default (PGlite, in-process pub/sub), in `unit`; no goal. */
  embedded?: number;
  /** GraphQL executions per event (fanout scenarios), stored in the result JSON. */
  executions?: ExecutionsFigure;
}

export interface Scenario {
  name: string;
  /** Answers its rows, or a string saying why it is not available on this server. */
  run(ctx: ScenarioContext): Promise<Row[] | string>;
}

type Goal = { op: ">=" | "<="; value: number; absolute?: boolean };

/** A row from the two medians and a goal. */
export function row(name: string, unit: string, project: number, baseline: number, goal: Goal, notes?: string): Row {
  const ratio = project / baseline;
  const subject = goal.absolute ? project : ratio;
  const met = goal.op === ">=" ? subject >= goal.value : subject <= goal.value;
  const goalText = goal.absolute ? `${goal.op} ${goal.value} ${unit}` : `ratio ${goal.op} ${goal.value}`;
  return { name, unit, project, baseline, ratio, goal: goalText, met, notes };
}

/**
 * Runs `rounds` rounds of each side, alternating project and baseline so that noise from
 * the shared machine falls on both; answers each side's samples (one object per round).
 */
export async function alternate<T>(
  ctx: ScenarioContext,
  project: (round: number) => Promise<T>,
  baseline: (round: number) => Promise<T>,
  rounds = ROUNDS,
): Promise<{ project: T[]; baseline: T[] }> {
  const samples = { project: [] as T[], baseline: [] as T[] };
  for (let round = 0; round < rounds; round++) {
    // Start with the baseline every other round, so neither side always runs on a warmer machine.
    const order: Array<"project" | "baseline"> = round % 2 === 0 ? ["project", "baseline"] : ["baseline", "project"];
    for (const side of order) {
      const sample = await (side === "project" ? project(round) : baseline(round));
      ctx.log(`round ${round + 1}/${rounds} ${side}: ${JSON.stringify(sample)}`);
      samples[side].push(sample);
    }
  }
  return samples;
}

/** `rounds` rounds of the project on the embedded default (after the alternating ones), logged as they go. */
export async function embeddedRounds<T>(ctx: ScenarioContext, run: (round: number) => Promise<T>, rounds = ROUNDS): Promise<T[]> {
  const samples: T[] = [];
  for (let round = 0; round < rounds; round++) {
    const sample = await run(round);
    ctx.log(`round ${round + 1}/${rounds} embedded: ${JSON.stringify(sample)}`);
    samples.push(sample);
  }
  return samples;
}

/** The median of one field over samples. */
export function med<T>(samples: T[], pick: (s: T) => number): number {
  return median(samples.map(pick));
}
