/**
 * Throw-away real PostgreSQL and Redis servers for tests and benchmarks.
 *
 * Each server lives in its own `mkdtemp` directory under `os.tmpdir()`, listens
 * only on 127.0.0.1 on a free port, and is tuned for speed over durability.
 * Servers are children of this process: `stop()` shuts them down and removes
 * their directory; as a safety net every server still running when this process
 * exits (normally, or via an unhandled SIGINT/SIGTERM/SIGHUP) is SIGKILLed.
 * A SIGKILL of this process itself cannot be caught, so callers should still
 * `stop()` what they start.
 */
import { ChildProcess, execFile, execFileSync, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import * as fs from "node:fs";
import * as net from "node:net";
import * as os from "node:os";
import * as path from "node:path";
import { setTimeout as delay } from "node:timers/promises";
import { promisify } from "node:util";
import { Client } from "pg";

const execFileAsync = promisify(execFile);

/** How often readiness / exit is polled. */
const POLL_MS = 50;

// ---------------------------------------------------------------------------
// Binaries

/**
 * Locates an executable by name.
 *
 * Searches, in order: every directory on `PATH`, then `/usr/lib/postgresql/<ver>/bin`
 * (highest version first; Debian's `postgresql` package installs its server
 * binaries there, off `PATH`), then `/usr/bin` and `/usr/sbin`.
 * @returns the absolute path of the first executable regular file found, or
 *   `undefined` if there is none.
 */
export function findBinary(name: string): string | undefined {
  const dirs = (process.env.PATH ?? "").split(path.delimiter).filter(Boolean);
  try {
    const versions = fs.readdirSync("/usr/lib/postgresql").sort((a, b) => b.localeCompare(a, "en", { numeric: true }));
    for (const v of versions) dirs.push(path.join("/usr/lib/postgresql", v, "bin"));
  } catch {
    // no Debian postgresql installed
  }
  dirs.push("/usr/bin", "/usr/sbin");
  for (const dir of dirs) {
    const candidate = path.resolve(dir, name);
    try {
      fs.accessSync(candidate, fs.constants.X_OK);
      if (fs.statSync(candidate).isFile()) return candidate;
    } catch {
      // not here
    }
  }
  return undefined;
}

/**
 * Tells which real servers this machine can start, i.e. whether the binaries
 * `startPostgres` (`postgres` + `initdb`) and `startRedis` (`redis-server`) need
 * are found by {@link findBinary}. Starts nothing.
 */
export function realServersAvailable(): { postgres: boolean; redis: boolean } {
  return {
    postgres: findBinary("postgres") !== undefined && findBinary("initdb") !== undefined,
    redis: findBinary("redis-server") !== undefined,
  };
}

/**
 * `initdb` must match the `postgres` it prepares a cluster for, so prefer the
 * one next to the real (symlink-resolved) `postgres` binary.
 */
function postgresBinaries(): { postgres: string; initdb: string } {
  const postgres = findBinary("postgres");
  if (!postgres) throw new Error("startPostgres: no `postgres` binary found (install the Debian `postgresql` package)");
  const sibling = path.join(path.dirname(fs.realpathSync(postgres)), "initdb");
  const initdb = fs.existsSync(sibling) ? sibling : findBinary("initdb");
  if (!initdb) throw new Error("startPostgres: no `initdb` binary found next to " + postgres);
  return { postgres, initdb };
}

// ---------------------------------------------------------------------------
// Ports

/**
 * Resolves to a TCP port on 127.0.0.1 that was free a moment ago (the OS picks
 * it by binding port 0, then the probe socket is closed). Another process could
 * take it before the caller binds it, which is unlikely in a test run.
 */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.on("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

// ---------------------------------------------------------------------------
// Running as an unprivileged user (Postgres refuses to run as root)

interface RunAs {
  uid: number;
  gid: number;
}

const FALLBACK_USER = "classroom-test";
let runAsCache: RunAs | undefined | null = null; // null: not looked up yet

function lookupUser(name: string): RunAs | undefined {
  try {
    const id = (flag: string) => Number(execFileSync("id", [flag, name], { encoding: "utf8", stdio: "pipe" }).trim());
    return { uid: id("-u"), gid: id("-g") };
  } catch {
    return undefined;
  }
}

/**
 * When we are root, Postgres must run as someone else: the `postgres` user the
 * Debian package creates, else our own system user, created on first use.
 * When we are not root, Postgres simply runs as us (undefined).
 */
function postgresRunAs(): RunAs | undefined {
  if (runAsCache !== null) return runAsCache;
  if (process.getuid?.() !== 0) return (runAsCache = undefined);
  let user = lookupUser("postgres") ?? lookupUser(FALLBACK_USER);
  if (!user) {
    try {
      execFileSync("useradd", ["--system", "--no-create-home", "--shell", "/usr/sbin/nologin", FALLBACK_USER], {
        stdio: "pipe",
      });
    } catch (err) {
      // Another test process may have created it concurrently: look again below.
      if (!lookupUser(FALLBACK_USER)) throw new Error(`startPostgres: cannot create user ${FALLBACK_USER}: ${err}`, { cause: err });
    }
    user = lookupUser(FALLBACK_USER)!;
  }
  return (runAsCache = user);
}

// ---------------------------------------------------------------------------
// Child process bookkeeping and the exit-time safety net

interface Proc {
  child: ChildProcess;
  /** Resolves once the process has exited (or failed to spawn). */
  exited: Promise<void>;
  done: boolean;
  how?: string;
}

const liveProcs = new Set<Proc>();
const liveDirs = new Set<string>();
let hooksInstalled = false;

/** SIGKILL the whole process group: Postgres backends are children of the postmaster. */
function killGroup(proc: Proc): void {
  if (proc.done || proc.child.pid === undefined) return;
  try {
    process.kill(-proc.child.pid, "SIGKILL");
  } catch {
    proc.child.kill("SIGKILL");
  }
}

function cleanupSync(): void {
  for (const proc of liveProcs) killGroup(proc);
  for (const dir of liveDirs) fs.rmSync(dir, { recursive: true, force: true, maxRetries: 3 });
}

function installExitHooks(): void {
  if (hooksInstalled) return;
  hooksInstalled = true;
  process.on("exit", cleanupSync);
  // Dying from a signal's default action skips 'exit', so stand in for the
  // default: only when no one else handles the signal (if someone does, they
  // decide, and 'exit' will still fire when they end the process).
  for (const sig of ["SIGINT", "SIGTERM", "SIGHUP"] as const) {
    const onSignal = () => {
      if (process.listenerCount(sig) > 1) return;
      cleanupSync();
      process.removeListener(sig, onSignal);
      process.kill(process.pid, sig);
    };
    process.on(sig, onSignal);
  }
}

/**
 * Spawns a server with its output appended to `logFile`. It gets its own process
 * group (detached) so it can be killed with all its children, and is unref'd so
 * that a test file which forgets to stop it still exits (the exit hook kills it).
 */
function spawnServer(cmd: string, args: string[], logFile: string, runAs?: RunAs): Proc {
  installExitHooks();
  const fd = fs.openSync(logFile, "a");
  const child = spawn(cmd, args, {
    cwd: path.dirname(logFile), // readable by runAs; our own cwd may not be
    stdio: ["ignore", fd, fd],
    detached: true,
    ...(runAs ?? {}),
  });
  fs.closeSync(fd);
  child.unref();
  const proc: Proc = { child, exited: undefined!, done: false };
  proc.exited = new Promise((resolve) => {
    const finish = (how: string) => {
      if (proc.done) return;
      proc.done = true;
      proc.how = how;
      liveProcs.delete(proc);
      resolve();
    };
    child.once("exit", (code, signal) => finish(signal ? `killed by ${signal}` : `exit code ${code}`));
    child.once("error", (err) => finish(`spawn error: ${err.message}`));
  });
  liveProcs.add(proc);
  return proc;
}

/**
 * Sends `signal`, waits up to `graceMs` for the exit, then SIGKILLs the group.
 * The child is ref'd meanwhile so the event loop stays alive until it is gone.
 */
async function stopProc(proc: Proc, signal: NodeJS.Signals, graceMs: number): Promise<void> {
  if (proc.done) return;
  proc.child.ref();
  proc.child.kill(signal);
  const timer = setTimeout(() => killGroup(proc), graceMs);
  await proc.exited;
  clearTimeout(timer);
}

function logTail(logFile: string): string {
  try {
    return fs.readFileSync(logFile, "utf8").slice(-4000);
  } catch {
    return "(no log)";
  }
}

/** Polls `probe` until it returns true; fails early if the process dies, or at `deadline`. */
async function waitReady(what: string, proc: Proc, logFile: string, deadline: number, probe: () => Promise<boolean>) {
  for (;;) {
    if (proc.done) throw new Error(`${what} exited during start-up (${proc.how}). Log:\n${logTail(logFile)}`);
    if (await probe()) return;
    if (Date.now() > deadline) {
      throw new Error(`${what} did not accept connections before the deadline. Log:\n${logTail(logFile)}`);
    }
    await delay(POLL_MS);
  }
}

function makeTempDir(prefix: string): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  liveDirs.add(dir);
  return dir;
}

function removeTempDir(dir: string): void {
  fs.rmSync(dir, { recursive: true, force: true, maxRetries: 3 });
  liveDirs.delete(dir);
}

// ---------------------------------------------------------------------------
// PostgreSQL

export interface PostgresOptions {
  /** TCP port on 127.0.0.1; default: a free one. */
  port?: number;
  /** Bound on initdb, and on each start-up (first start and restarts), in ms; default 60 000. */
  timeoutMs?: number;
  /** Extra server settings (`-c name=value`), overriding the defaults. */
  settings?: Record<string, string | number>;
}

export interface PostgresServer {
  /** Admin URL: `postgres://postgres@127.0.0.1:PORT/postgres` (trust auth, superuser). */
  readonly url: string;
  readonly port: number;
  readonly dataDir: string;
  /** Creates a fresh empty database (default name `t_<random hex>`) and resolves to its URL. */
  createDatabase(name?: string): Promise<string>;
  /** Drops the database named in `url`, disconnecting its sessions; no error if it is gone. */
  dropDatabase(url: string): Promise<void>;
  /** Fast-shuts the server down (its sessions are cut) and starts it again on the same port and data. */
  restart(): Promise<void>;
  /** Fast-shuts the server down (its sessions are cut), keeping its data: an outage until {@link start}. */
  shutdown(): Promise<void>;
  /** Starts a server that was shut down again on the same port and data; no-op if it is running. */
  start(): Promise<void>;
  /** Stops the server and deletes its temp dir. Idempotent. */
  stop(): Promise<void>;
}

async function pgAccepts(port: number): Promise<boolean> {
  const client = new Client({ host: "127.0.0.1", port, user: "postgres", database: "postgres", connectionTimeoutMillis: 2000 });
  client.on("error", () => {});
  try {
    await client.connect();
    await client.query("select 1");
    return true;
  } catch {
    return false; // refused, or "the database system is starting up"
  } finally {
    await client.end().catch(() => {});
  }
}

function quoteIdent(name: string): string {
  return '"' + name.replace(/"/g, '""') + '"';
}

/**
 * Starts a throw-away PostgreSQL server.
 *
 * Runs `initdb` (trust auth, superuser `postgres`, UTF8, C locale) into a fresh
 * temp dir, then `postgres` listening on 127.0.0.1 only, unix sockets in that
 * temp dir, with fsync/full_page_writes/synchronous_commit off (data is
 * disposable) and max_connections=200. When run as root it runs as the
 * `postgres` user, or as a system user `classroom-test` that it creates; that
 * user must be able to traverse `os.tmpdir()`.
 * Resolves once a client can connect and query; rejects after `timeoutMs` (or
 * as soon as the server exits) with the server log in the message, leaving
 * nothing behind.
 */
export async function startPostgres(opts: PostgresOptions = {}): Promise<PostgresServer> {
  const bins = postgresBinaries();
  const runAs = postgresRunAs();
  const timeoutMs = opts.timeoutMs ?? 60_000;
  const port = opts.port ?? (await freePort());
  const dir = makeTempDir("pg-test-");
  const dataDir = path.join(dir, "data");
  const logFile = path.join(dir, "server.log");
  if (runAs) fs.chownSync(dir, runAs.uid, runAs.gid);

  try {
    await execFileAsync(bins.initdb, ["-D", dataDir, "--auth=trust", "-U", "postgres", "--encoding=UTF8", "--no-locale", "--no-sync"], {
      cwd: dir,
      timeout: timeoutMs,
      ...(runAs ?? {}),
    });
  } catch (err) {
    removeTempDir(dir);
    const e = err as { stdout?: string; stderr?: string; message: string };
    throw new Error(`startPostgres: initdb failed: ${e.message}\n${e.stdout ?? ""}${e.stderr ?? ""}`, { cause: err });
  }

  const settings: Record<string, string | number> = {
    listen_addresses: "127.0.0.1",
    fsync: "off",
    full_page_writes: "off",
    synchronous_commit: "off",
    max_connections: 200,
    ...opts.settings,
  };
  const args = ["-D", dataDir, "-p", String(port), "-k", dir];
  for (const [k, v] of Object.entries(settings)) args.push("-c", `${k}=${v}`);

  let proc: Proc;
  const launch = async () => {
    proc = spawnServer(bins.postgres, args, logFile, runAs);
    const deadline = Date.now() + timeoutMs;
    try {
      await waitReady(`postgres on port ${port}`, proc, logFile, deadline, () => pgAccepts(port));
    } catch (err) {
      killGroup(proc);
      await proc.exited;
      throw err;
    }
  };
  try {
    await launch();
  } catch (err) {
    removeTempDir(dir);
    throw err;
  }

  const url = `postgres://postgres@127.0.0.1:${port}/postgres`;
  const admin = async <T>(fn: (c: Client) => Promise<T>): Promise<T> => {
    const client = new Client({ connectionString: url });
    await client.connect();
    try {
      return await fn(client);
    } finally {
      await client.end();
    }
  };
  let stopping: Promise<void> | undefined;

  return {
    url,
    port,
    dataDir,
    async createDatabase(name = `t_${randomBytes(6).toString("hex")}`) {
      await admin((c) => c.query(`CREATE DATABASE ${quoteIdent(name)}`));
      return `postgres://postgres@127.0.0.1:${port}/${encodeURIComponent(name)}`;
    },
    async dropDatabase(dbUrl: string) {
      const name = decodeURIComponent(new URL(dbUrl).pathname.slice(1));
      await admin((c) => c.query(`DROP DATABASE IF EXISTS ${quoteIdent(name)} WITH (FORCE)`));
    },
    async restart() {
      if (stopping) throw new Error("PostgresServer.restart: server was stopped");
      await stopProc(proc, "SIGINT", 15_000); // SIGINT = "fast" shutdown
      await launch();
    },
    async shutdown() {
      if (stopping) throw new Error("PostgresServer.shutdown: server was stopped");
      await stopProc(proc, "SIGINT", 15_000);
    },
    async start() {
      if (stopping) throw new Error("PostgresServer.start: server was stopped");
      if (!proc.done) return;
      await launch();
    },
    stop() {
      stopping ??= (async () => {
        await stopProc(proc, "SIGINT", 15_000);
        removeTempDir(dir);
      })();
      return stopping;
    },
  };
}

// ---------------------------------------------------------------------------
// Redis

export interface RedisOptions {
  /** TCP port on 127.0.0.1; default: a free one. */
  port?: number;
  /** Bound on each start-up, in ms; default 20 000. */
  timeoutMs?: number;
}

export interface RedisServer {
  /** `redis://127.0.0.1:PORT` */
  readonly url: string;
  readonly port: number;
  /** SIGKILLs the server (a crash, for failure tests) and resolves once it has exited. */
  kill(): Promise<void>;
  /** Starts the server again on the same port (empty: nothing is persisted); no-op if it is running. */
  start(): Promise<void>;
  /** Stops the server and deletes its temp dir. Idempotent; the server cannot be started again. */
  stop(): Promise<void>;
}

/** Raw RESP PING, so readiness needs no client library and no reconnect logic. */
function redisPing(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const sock = net.connect({ host: "127.0.0.1", port });
    let reply = "";
    const done = (ok: boolean) => {
      sock.destroy();
      resolve(ok);
    };
    sock.setTimeout(2000, () => done(false));
    sock.on("error", () => done(false));
    sock.on("connect", () => sock.write("PING\r\n"));
    sock.on("data", (chunk) => {
      reply += chunk.toString();
      if (reply.includes("\r\n")) done(reply.startsWith("+PONG")); // "-LOADING ..." is not ready
    });
  });
}

/**
 * Starts a throw-away redis-server on 127.0.0.1 (free port unless `opts.port`),
 * with no persistence (`--save "" --appendonly no`), working dir a fresh temp
 * dir, in the foreground (daemonize no) as a child of this process.
 * Resolves once it answers PING with PONG; rejects after `timeoutMs` (or as
 * soon as it exits) with its log in the message, leaving nothing behind.
 */
export async function startRedis(opts: RedisOptions = {}): Promise<RedisServer> {
  const bin = findBinary("redis-server");
  if (!bin) throw new Error("startRedis: no `redis-server` binary found (install the Debian `redis-server` package)");
  const port = opts.port ?? (await freePort());
  const dir = makeTempDir("redis-test-");
  const logFile = path.join(dir, "server.log");
  const args = ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", dir, "--daemonize", "no", "--logfile", ""];

  let proc: Proc | undefined;
  const launch = async () => {
    proc = spawnServer(bin, args, logFile);
    const deadline = Date.now() + (opts.timeoutMs ?? 20_000);
    try {
      await waitReady(`redis-server on port ${port}`, proc, logFile, deadline, () => redisPing(port));
    } catch (err) {
      killGroup(proc);
      await proc.exited;
      throw err;
    }
  };
  try {
    await launch();
  } catch (err) {
    removeTempDir(dir);
    throw err;
  }

  let stopping: Promise<void> | undefined;
  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    async kill() {
      if (!proc || proc.done) return;
      proc.child.ref();
      killGroup(proc);
      await proc.exited;
    },
    async start() {
      if (stopping) throw new Error("RedisServer.start: server was stopped");
      if (proc && !proc.done) return;
      await launch();
    },
    stop() {
      stopping ??= (async () => {
        if (proc) await stopProc(proc, "SIGTERM", 10_000);
        removeTempDir(dir);
      })();
      return stopping;
    },
  };
}
