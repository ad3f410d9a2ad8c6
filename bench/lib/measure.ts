/**
 * Numbers: the scale knob, rounds, medians and percentiles, and what /proc says about a
 * process (CPU time, resident memory). Linux only, like the rest of the harness.
 */
import fs from "node:fs";

/** BENCH_SCALE (default 1): multiplies every size; 0.1 is a quick run. */
export const SCALE = (() => {
  const raw = process.env.BENCH_SCALE;
  const value = raw === undefined || raw === "" ? 1 : Number(raw);
  if (!(value > 0)) throw new Error(`BENCH_SCALE must be a positive number, got "${raw}"`);
  return value;
})();

/** BENCH_ROUNDS (default 3): rounds of each side per scenario, alternating. */
export const ROUNDS = Math.max(1, Number(process.env.BENCH_ROUNDS) || 3);

/** `n` scaled, never below `min`. */
export function scaled(n: number, min = 1): number {
  return Math.max(min, Math.round(n * SCALE));
}

/** A duration in ms scaled, but never below a third of it (short windows are only noise). */
export function scaledMs(ms: number): number {
  return Math.round(ms * Math.max(1 / 3, Math.min(1, SCALE)));
}

export function median(values: number[]): number {
  return percentile(values, 50);
}

export function percentile(values: number[], p: number): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[rank];
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

const TICKS = 100; // USER_HZ: 100 on every Linux this runs on

/** CPU seconds (user + system) the process has used so far. */
export function cpuSeconds(pid: number): number {
  const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return (Number(fields[11]) + Number(fields[12])) / TICKS; // utime, stime (fields 14, 15)
}

/** Resident set size of the process, bytes. */
export function rssBytes(pid: number): number {
  const status = fs.readFileSync(`/proc/${pid}/status`, "utf8");
  const match = /VmRSS:\s+(\d+) kB/.exec(status);
  if (!match) throw new Error(`no VmRSS for ${pid}`);
  return Number(match[1]) * 1024;
}

/** Fails the scenario: a wrong answer never counts, however fast. */
export class WrongAnswer extends Error {}

export function check(condition: unknown, message: string): asserts condition {
  if (!condition) throw new WrongAnswer(message);
}

/**
 * Checks that a stream of numbers (seq, version) only ever goes up by exactly one from
 * `start`: every item once, in order, none missing in between.
 */
export class Sequence {
  count = 0;
  error?: string;
  constructor(private last: number) {}
  see(n: number, what: string): void {
    if (this.error) return;
    if (n !== this.last + 1) this.error = `${what}: got ${n} after ${this.last}`;
    this.last = n;
    this.count += 1;
  }
  get lastSeen(): number {
    return this.last;
  }
}
