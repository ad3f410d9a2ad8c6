import assert from "node:assert/strict";
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { once } from "node:events";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { describe, it } from "node:test";
import WebSocket from "ws";
import { backends, type Backend } from "../support/backends";
import { startRedis } from "../support/servers";

const root = path.resolve(__dirname, "../../..");
const secret = "process-test-secret-process-test-secret-0123";

interface Started {
  child: ChildProcess;
  url: string;
  exit: Promise<[number | null, NodeJS.Signals | null]>;
}

/** `node dist/src/main.js` (what `npm start` runs after building), resolved once it prints its URL. */
async function startProcess(env: Record<string, string>): Promise<Started> {
  const child = spawn(process.execPath, [path.join(root, "dist/src/main.js")], {
    env: { ...process.env, PORT: "0", HOST: "127.0.0.1", LOG_LEVEL: "warn", ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  const exit = once(child, "exit") as Promise<[number | null, NodeJS.Signals | null]>;
  let output = "";
  const url = await new Promise<string>((resolve, reject) => {
    const onData = (chunk: Buffer) => {
      output += chunk;
      const match = /ready at (http:\/\/\S+)\/graphql/.exec(output);
      if (match) resolve(match[1]);
    };
    child.stdout!.on("data", onData);
    child.stderr!.on("data", (chunk) => (output += chunk));
    void exit.then(([code]) => reject(new Error(`server exited with ${code} before listening:\n${output}`)));
  });
  return { child, url: url.replace("localhost", "127.0.0.1"), exit };
}

async function register(url: string): Promise<string> {
  const res = await fetch(`${url}/graphql`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({
      query: `mutation { register(input: { email: "p@example.test", password: "long enough password", displayName: "P", role: STUDENT }) { accessToken } }`,
    }),
  });
  const body = (await res.json()) as { data: { register: { accessToken: string } } };
  return body.data.register.accessToken;
}

/** An acknowledged graphql-ws connection with an open subscription. */
async function openSubscription(url: string, token: string): Promise<WebSocket> {
  const ws = new WebSocket(`${url.replace("http", "ws")}/graphql`, "graphql-transport-ws");
  await once(ws, "open");
  ws.send(JSON.stringify({ type: "connection_init", payload: { authorization: `Bearer ${token}` } }));
  const [ack] = await once(ws, "message");
  assert.equal(JSON.parse(String(ack)).type, "connection_ack");
  ws.send(JSON.stringify({ id: "1", type: "subscribe", payload: { query: "subscription { myProfile { id } }" } }));
  const [first] = await once(ws, "message");
  assert.equal(JSON.parse(String(first)).type, "next");
  return ws;
}

async function environmentFor(backend: Backend): Promise<{ env: Record<string, string>; dataDir: string }> {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "classroom-process-"));
  const databaseUrl = await backend.freshDatabase();
  const redisUrl = await backend.redisUrl();
  const env: Record<string, string> = { DATA_DIR: dataDir, JWT_SECRET: secret };
  if (databaseUrl) env.DATABASE_URL = databaseUrl;
  if (redisUrl) env.REDIS_URL = redisUrl;
  return { env, dataDir };
}

for (const backend of backends) {
  describe(`the server process [${backend.name}]`, { skip: backend.skip }, () => {
    it("starts, serves, and on SIGTERM closes sockets with 1001 and exits 0", async () => {
      const { env, dataDir } = await environmentFor(backend);
      if (backend.name === "real") {
        // Against a real database the server refuses to start before `npm run migrate`.
        const early = spawnSync(process.execPath, [path.join(root, "dist/src/main.js")], {
          env: { ...process.env, ...env, PORT: "0" },
          encoding: "utf8",
        });
        assert.equal(early.status, 1);
        assert.match(early.stderr, /pending migrations: run `npm run migrate`/);
        const migrate = spawnSync(process.execPath, [path.join(root, "dist/src/cli/migrate.js")], {
          env: { ...process.env, ...env },
          encoding: "utf8",
        });
        assert.equal(migrate.status, 0, migrate.stderr);
        assert.match(migrate.stdout, /Applied: Users/);
      }
      const server = await startProcess(env);
      const token = await register(server.url);
      const ws = await openSubscription(server.url, token);
      const closed = once(ws, "close");
      server.child.kill("SIGTERM");
      const [code] = await closed;
      assert.equal(code, 1001);
      assert.deepEqual(await server.exit, [0, null]);
      assert.equal(fs.existsSync(path.join(dataDir, "classroom.lock")), false, "lock released");
      fs.rmSync(dataDir, { recursive: true, force: true });
    });
  });
}

describe("the server process with Redis down [real]", { skip: backends.find((b) => b.name === "real")?.skip }, () => {
  it("exits on SIGTERM while Redis is unreachable, its jobs included (issue 11, finding 12)", async () => {
    const real = backends.find((b) => b.name === "real")!;
    const { env, dataDir } = await environmentFor(real);
    const migrate = spawnSync(process.execPath, [path.join(root, "dist/src/cli/migrate.js")], { env: { ...process.env, ...env }, encoding: "utf8" });
    assert.equal(migrate.status, 0, migrate.stderr);
    const redis = await startRedis(); // its own: the test stops it
    try {
      const server = await startProcess({ ...env, REDIS_URL: redis.url, JOBS_ENABLED: "true" });
      await register(server.url); // serving, its job worker connected
      await redis.stop();
      server.child.kill("SIGTERM");
      const exited = await Promise.race([server.exit, new Promise<"hung">((r) => setTimeout(() => r("hung"), 20_000).unref())]);
      if (exited === "hung") server.child.kill("SIGKILL");
      assert.deepEqual(exited, [0, null], "exits by itself, having released what it holds");
      assert.equal(fs.existsSync(path.join(dataDir, "classroom.lock")), false, "lock released");
    } finally {
      await redis.stop();
      fs.rmSync(dataDir, { recursive: true, force: true });
    }
  });
});

describe("the server process on the embedded default", () => {
  it("keeps what it stored in DATA_DIR across a restart, tokens included", async () => {
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "classroom-process-"));
    const env = { DATA_DIR: dataDir }; // no JWT_SECRET: generated into DATA_DIR
    const first = await startProcess(env);
    const token = await register(first.url);
    first.child.kill("SIGTERM");
    await first.exit;
    const second = await startProcess(env);
    const res = await fetch(`${second.url}/graphql`, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Bearer ${token}` },
      body: JSON.stringify({ query: "{ me { email } }" }),
    });
    assert.deepEqual(await res.json(), { data: { me: { email: "p@example.test" } } });
    second.child.kill("SIGTERM");
    await second.exit;
    fs.rmSync(dataDir, { recursive: true, force: true });
  });
});
