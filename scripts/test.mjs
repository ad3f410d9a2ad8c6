#!/usr/bin/env node
// Test runner behind `npm test` (which builds first): runs the compiled tests in
// dist/tests/{unit,integration,e2e} with node's test runner, against the
// embedded backend (PGlite + in-process pub/sub) always and, when the binaries
// exist, against ONE real PostgreSQL and ONE real Redis shared by the whole run.
//
// Usage: node scripts/test.mjs [filter…] [--test-* options for node --test]
//   filter: a suite name (unit, integration, e2e) or a substring of the test
//   file's path, e.g. `node scripts/test.mjs unit` or `node scripts/test.mjs auth`.
//   The faults suite (dist/tests/faults: real Postgres, Redis and API processes that it
//   kills and restarts itself; `npm run test:faults`) is not part of the default run: only
//   the filter `faults`, or one naming `faults/…`, selects its files.
//
// Environment given to the tests:
//   TEST_REAL_SERVERS=1     + TEST_DATABASE_URL (admin url; tests create their own
//                             databases) and TEST_REDIS_URL
//   TEST_REAL_SERVERS=skip  only outside CI, when the binaries are missing.
import { execFileSync, spawn } from "node:child_process";
import { existsSync, readdirSync } from "node:fs";
import path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const SUITES = ["unit", "integration", "e2e"];
/** Suites only an explicit filter selects (see Usage). */
const OPT_IN_SUITES = ["faults"];
const inCI = !!process.env.CI && !["0", "false"].includes(process.env.CI.toLowerCase());

function fail(message) {
  console.error(`test: ${message}`);
  process.exit(1);
}

// --- arguments: `--test-*` options go to node, everything else filters files
const args = process.argv.slice(2);
const nodeTestOptions = args.filter((a) => a.startsWith("--"));
const filters = args.filter((a) => !a.startsWith("--"));

// --- test files
function walk(dir) {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? walk(path.join(dir, e.name)) : e.name.endsWith(".test.js") ? [path.join(dir, e.name)] : [],
  );
}
let files = [];
const optedIn = OPT_IN_SUITES.filter((suite) => filters.some((f) => f === suite || f.includes(`${suite}/`)));
for (const suite of [...SUITES, ...optedIn]) {
  const optIn = OPT_IN_SUITES.includes(suite);
  for (const file of walk(path.join(root, "dist/tests", suite))) {
    const rel = path.relative(path.join(root, "dist"), file); // tests/unit/x.test.js
    // tsc never deletes outputs: skip compiled tests whose source is gone.
    if (!existsSync(path.join(root, rel.replace(/\.js$/, ".ts")))) {
      console.warn(`test: skipping stale ${path.join("dist", rel)} (no ${rel.replace(/\.js$/, ".ts")})`);
      continue;
    }
    const selected = optIn
      ? filters.some((f) => f === suite || (f.includes(`${suite}/`) && rel.includes(f)))
      : filters.length === 0 || filters.some((f) => f === suite || rel.includes(f));
    if (selected) files.push(file);
  }
}
if (files.length === 0) {
  fail(
    filters.length
      ? `no compiled test file matches ${filters.join(", ")} in dist/tests/{${[...SUITES, ...OPT_IN_SUITES]}} (did the build run?)`
      : `no compiled test files (*.test.js) in dist/tests/{${SUITES}}: run \`npm run build\` first, or add tests`,
  );
}

// --- real servers
const serversJs = path.join(root, "dist/tests/support/servers.js");
if (!existsSync(serversJs)) fail(`${path.relative(root, serversJs)} is missing: run \`npm run build\` first`);
const servers = (await import(pathToFileURL(serversJs).href)).default;

function version(binary, pattern) {
  try {
    return execFileSync(servers.findBinary(binary), ["--version"], { encoding: "utf8" }).match(pattern)?.[1] ?? "?";
  } catch {
    return "?";
  }
}

const env = { ...process.env };
const running = [];
let child;
let exiting = false;

// Stops servers, then exits. A second signal during that exits at once (the
// exit hook in servers.js SIGKILLs whatever is still running).
async function shutdown(code) {
  if (exiting) process.exit(code);
  exiting = true;
  await Promise.allSettled(running.map((s) => s.stop()));
  process.exit(code);
}
for (const [sig, n] of [
  ["SIGINT", 2],
  ["SIGTERM", 15],
]) {
  process.on(sig, () => {
    // Let the tests finish their own teardown first; the exit path then stops servers.
    if (child && child.exitCode === null && !exiting) child.kill(sig);
    else void shutdown(128 + n);
  });
}

const available = servers.realServersAvailable();
// The faults suite starts (and kills) servers of its own: no shared ones for it alone.
const onlyOptIn = files.every((file) => OPT_IN_SUITES.some((suite) => file.startsWith(path.join(root, "dist/tests", suite) + path.sep)));
let backends = "embedded (PGlite + in-process pub/sub)";
if (onlyOptIn) {
  if (inCI && !(available.postgres && available.redis)) fail("CI is set but PostgreSQL or Redis is not installed (see .ci/run)");
  backends = `the suite's own PostgreSQL and Redis${available.postgres && available.redis ? "" : " (not installed here: skipped)"}`;
  env.TEST_REAL_SERVERS = available.postgres && available.redis ? "1" : "skip";
  delete env.TEST_DATABASE_URL;
  delete env.TEST_REDIS_URL;
} else if (available.postgres && available.redis) {
  try {
    const [pg, redis] = await Promise.all([servers.startPostgres().then((s) => (running.push(s), s)), servers.startRedis().then((s) => (running.push(s), s))]);
    env.TEST_REAL_SERVERS = "1";
    env.TEST_DATABASE_URL = pg.url;
    env.TEST_REDIS_URL = redis.url;
    const pgVersion = version("postgres", /\(PostgreSQL\) (\S+)/);
    const redisVersion = version("redis-server", /v=(\S+)/);
    backends += ` and real (PostgreSQL ${pgVersion} at ${pg.url}, Redis ${redisVersion} at ${redis.url})`;
  } catch (err) {
    console.error(`test: could not start the real servers:\n${err?.stack ?? err}`);
    await shutdown(1);
  }
} else {
  const missing = [
    !available.postgres && "PostgreSQL (postgres + initdb: Debian package `postgresql`)",
    !available.redis && "Redis (redis-server: Debian package `redis-server`)",
  ].filter(Boolean);
  // In CI the real-server runs must never be silently skipped.
  if (inCI) fail(`CI is set but ${missing.join(" and ")} not found; install them (see .ci/run)`);
  console.warn(`test: WARNING: ${missing.join(" and ")} not found: only the embedded backend will run`);
  env.TEST_REAL_SERVERS = "skip";
  // Don't let tests pick up URLs from the outer environment that nobody started for this run.
  delete env.TEST_DATABASE_URL;
  delete env.TEST_REDIS_URL;
}
console.log(`backends: ${backends}`);

// --- run
/** `--test-concurrency` exists from node 20.10 and 21. */
function hasTestConcurrencyFlag() {
  const [major, minor] = process.versions.node.split(".").map(Number);
  return major > 20 || (major === 20 && minor >= 10);
}
// A test that waits forever (an event that never comes) fails after 10 minutes (node applies it to each test file too) instead of
// hanging the run; `--test-timeout=…` on the command line overrides it.
const timeout = nodeTestOptions.some((o) => o.startsWith("--test-timeout")) ? [] : ["--test-timeout=600000"];
// Fault files one at a time: each runs its own servers and times its recoveries.
const concurrency =
  optedIn.length && !nodeTestOptions.some((o) => o.startsWith("--test-concurrency")) && hasTestConcurrencyFlag() ? ["--test-concurrency=1"] : [];
child = spawn(process.execPath, ["--test", "--test-reporter=spec", ...timeout, ...concurrency, ...nodeTestOptions, ...files], {
  cwd: root,
  env,
  stdio: "inherit",
});
const code = await new Promise((resolve) => {
  child.on("error", (err) => (console.error(`test: cannot run node --test: ${err.message}`), resolve(1)));
  child.on("exit", (c, signal) => resolve(c ?? (signal ? 128 + ({ SIGINT: 2, SIGTERM: 15 }[signal] ?? 9) : 1)));
});
await shutdown(code);
