/**
 * `node dist/bench/profile.js [file.cpuprofile …]`: where the API server's CPU time went in
 * the profiles `BENCH_PROFILE=1 npm run bench` wrote (default: every one in
 * bench/results/profiles): top functions by self time, and self time by package / source
 * folder.
 */
import fs from "node:fs";
import path from "node:path";
import { PROFILE_DIR } from "./lib/stack";

interface ProfileNode {
  id: number;
  children?: number[];
  callFrame: { functionName: string; url: string; lineNumber: number };
}

interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

const root = path.resolve(__dirname, "../..");
const TOP = Number(process.env.PROFILE_TOP) || 15;

/** node_modules/<pkg>, dist/src/<folder>, node:internal, or (program)/(gc)/(idle). */
function area(url: string, fn: string): string {
  if (!url) return fn.startsWith("(") ? fn : "(native)";
  const mod = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (mod) return mod[1];
  const src = /dist\/src\/([^/]+)/.exec(url);
  if (src) return `src/${src[1]}`;
  if (url.startsWith("node:")) return "node internals";
  return path.relative(root, url.replace(/^file:\/\//, ""));
}

function summarise(file: string): void {
  const profile = JSON.parse(fs.readFileSync(file, "utf8")) as CpuProfile;
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const selfUs = new Map<number, number>();
  profile.samples.forEach((id, i) => selfUs.set(id, (selfUs.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0)));
  const total = [...selfUs.values()].reduce((a, b) => a + b, 0);
  const byFunction = new Map<string, number>();
  const byArea = new Map<string, number>();
  let idle = 0;
  for (const [id, us] of selfUs) {
    const { functionName, url, lineNumber } = byId.get(id)!.callFrame;
    if (functionName === "(idle)") idle += us;
    const where = url ? `${path.relative(root, url.replace(/^file:\/\//, ""))}:${lineNumber + 1}` : "";
    const key = `${functionName || "(anonymous)"} ${where}`.trim();
    byFunction.set(key, (byFunction.get(key) ?? 0) + us);
    const a = area(url, functionName);
    byArea.set(a, (byArea.get(a) ?? 0) + us);
  }
  const busy = total - idle;
  // Total (inclusive) time of the project's own functions: where in src/ the time starts.
  const parent = new Map<number, number>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const inclusive = new Map<string, number>();
  for (const [id, us] of selfUs) {
    const seen = new Set<string>();
    for (let n: number | undefined = id; n !== undefined; n = parent.get(n)) {
      const { functionName, url, lineNumber } = byId.get(n)!.callFrame;
      if (!/dist\/src\//.test(url)) continue;
      const key = `${functionName || "(anonymous)"} ${path.relative(root, url.replace(/^file:\/\//, ""))}:${lineNumber + 1}`;
      if (seen.has(key)) continue;
      seen.add(key);
      inclusive.set(key, (inclusive.get(key) ?? 0) + us);
    }
  }
  const pct = (us: number) => `${((100 * us) / busy).toFixed(1).padStart(5)}%`;
  console.log(`\n== ${path.basename(file)}: ${(total / 1e6).toFixed(1)} s sampled, ${(busy / 1e6).toFixed(1)} s busy (percentages of busy time)`);
  console.log("-- by package / folder");
  for (const [a, us] of [...byArea]
    .filter(([a]) => a !== "(idle)")
    .sort((x, y) => y[1] - x[1])
    .slice(0, 12))
    console.log(`${pct(us)}  ${a}`);
  console.log("-- top functions by self time");
  for (const [f, us] of [...byFunction]
    .filter(([f]) => !f.startsWith("(idle)"))
    .sort((x, y) => y[1] - x[1])
    .slice(0, TOP))
    console.log(`${pct(us)}  ${f}`);
  console.log("-- src/ functions by total time (self + callees)");
  for (const [f, us] of [...inclusive].sort((x, y) => y[1] - x[1]).slice(0, TOP)) console.log(`${pct(us)}  ${f}`);
}

const files = process.argv.slice(2);
const chosen = files.length
  ? files
  : fs.existsSync(PROFILE_DIR)
    ? fs
        .readdirSync(PROFILE_DIR)
        .filter((f) => f.endsWith(".cpuprofile"))
        .map((f) => path.join(PROFILE_DIR, f))
    : [];
if (chosen.length === 0) {
  console.error("profile: no .cpuprofile files: run `BENCH_PROFILE=1 npm run bench` first");
  process.exit(1);
}
chosen.forEach(summarise);
