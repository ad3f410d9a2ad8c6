import assert from "node:assert/strict";
import http from "node:http";
import net, { type AddressInfo, type Socket } from "node:net";
import { after, before, describe, it } from "node:test";
import { Client } from "pg";
import { backends, real } from "../support/backends";
import { startTestServer, type TestServer } from "../support/test-server";

/** The headers every response carries (src/http/security.ts). */
const SECURITY_HEADERS: Record<string, string> = {
  "x-content-type-options": "nosniff",
  "x-frame-options": "DENY",
  "referrer-policy": "no-referrer",
  "cross-origin-opener-policy": "same-origin",
  "cross-origin-resource-policy": "same-origin",
  "strict-transport-security": "max-age=31536000; includeSubDomains",
  "content-security-policy": "default-src 'none'; frame-ancestors 'none'",
  "permissions-policy": "camera=(), microphone=(), geolocation=(), display-capture=(), payment=(), usb=(), serial=(), bluetooth=()",
};

function assertSecurityHeaders(res: Response, what: string): void {
  for (const [name, value] of Object.entries(SECURITY_HEADERS)) assert.equal(res.headers.get(name), value, `${name} on ${what}`);
  assert.equal(res.headers.get("x-powered-by"), null, `x-powered-by on ${what}`);
}

const graphqlPost = (server: TestServer, body: string) => fetch(server.graphqlUrl, { method: "POST", headers: { "content-type": "application/json" }, body });

/**
 * An open WebSocket that never answers the server's close frame: App.stop() closes the
 * WebSocket server first and waits for every socket to close, so it stops there, listening,
 * until the socket is destroyed.
 */
function silentWebSocket(server: TestServer): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const req = http.request(server.wsUrl.replace(/^ws/, "http"), {
      headers: {
        Connection: "Upgrade",
        Upgrade: "websocket",
        "Sec-WebSocket-Version": "13",
        "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ==",
        "Sec-WebSocket-Protocol": "graphql-transport-ws",
      },
    });
    req.on("upgrade", (_res, socket) => resolve(socket));
    req.on("response", (res) => reject(new Error(`no upgrade: ${res.statusCode}`)));
    req.on("error", reject);
    req.end();
  });
}

for (const backend of backends) {
  describe(`health and headers [${backend.name}]`, { skip: backend.skip }, () => {
    let server: TestServer;
    before(async () => {
      server = await startTestServer(backend);
    });
    after(() => server?.stop());

    it("answers /healthz with 200 and the state of the database and Redis", async () => {
      const res = await fetch(`${server.url}/healthz`);
      assert.equal(res.status, 200);
      assert.match(res.headers.get("content-type") ?? "", /^application\/json/);
      assert.equal(res.headers.get("cache-control"), "no-store");
      assert.deepEqual(await res.json(), { status: "ok", database: "up", redis: backend.name === "real" ? "up" : "disabled" });
    });

    it("answers /readyz with 200 while the database answers", async () => {
      const res = await fetch(`${server.url}/readyz`);
      assert.equal(res.status, 200);
      assert.match(res.headers.get("content-type") ?? "", /^application\/json/);
      assert.equal(res.headers.get("cache-control"), "no-store");
      assert.deepEqual(await res.json(), { status: "ready" });
    });

    it("answers /readyz 503 draining as soon as the app stops, while /healthz stays 200", async () => {
      const stopped = await startTestServer(backend);
      const socket = await silentWebSocket(stopped);
      const stopping = stopped.app.stop();
      try {
        const ready = await fetch(`${stopped.url}/readyz`);
        assert.equal(ready.status, 503);
        assert.equal(ready.headers.get("cache-control"), "no-store");
        assert.deepEqual(await ready.json(), { status: "draining" });
        const health = await fetch(`${stopped.url}/healthz`);
        assert.equal(health.status, 200);
        assert.equal(((await health.json()) as { status: string }).status, "ok");
      } finally {
        socket.destroy();
        await stopping;
        await stopped.stop();
      }
    });

    it("answers a WebSocket upgrade on another path with a JSON 404 and the security headers", async () => {
      const { status, headers, body } = await new Promise<{ status?: number; headers: http.IncomingHttpHeaders; body: string }>((resolve, reject) => {
        const req = http.request(`${server.url}/not-graphql`, {
          headers: {
            Connection: "Upgrade",
            Upgrade: "websocket",
            "Sec-WebSocket-Version": "13",
            "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ==",
            "Sec-WebSocket-Protocol": "graphql-transport-ws",
          },
        });
        req.on("upgrade", () => reject(new Error("upgraded on a path without a WebSocket endpoint")));
        req.on("response", (res) => {
          let text = "";
          res.on("data", (chunk) => (text += chunk)).on("end", () => resolve({ status: res.statusCode, headers: res.headers, body: text }));
        });
        req.on("error", reject);
        req.end();
      });
      assert.equal(status, 404);
      assert.match(headers["content-type"] ?? "", /^application\/json/);
      for (const [name, value] of Object.entries(SECURITY_HEADERS)) assert.equal(headers[name], value, name);
      assert.deepEqual(JSON.parse(body), { errors: [{ message: "Not found.", extensions: { code: "NOT_FOUND" } }] });
    });

    it("answers an unknown path with a JSON 404, not an HTML page", async () => {
      const res = await fetch(`${server.url}/no-such-path`);
      assert.equal(res.status, 404);
      assert.match(res.headers.get("content-type") ?? "", /^application\/json/);
      assert.deepEqual(await res.json(), { errors: [{ message: "Not found.", extensions: { code: "NOT_FOUND" } }] });
    });

    it("sets the security headers on every kind of response", async () => {
      const responses: Array<[string, Response]> = [
        ["/healthz", await fetch(`${server.url}/healthz`)],
        ["/readyz", await fetch(`${server.url}/readyz`)],
        ["a GraphQL answer", await graphqlPost(server, JSON.stringify({ query: "{ __typename }" }))],
        ["a GraphQL validation error", await graphqlPost(server, JSON.stringify({ query: "{ nope }" }))],
        ["malformed JSON", await graphqlPost(server, "{")],
        ["an unknown path", await fetch(`${server.url}/no-such-path`)],
      ];
      for (const [what, res] of responses) {
        await res.arrayBuffer();
        assertSecurityHeaders(res, what);
      }
      assert.deepEqual(
        responses.map(([what, res]) => [what, res.status]),
        [
          ["/healthz", 200],
          ["/readyz", 200],
          ["a GraphQL answer", 200],
          ["a GraphQL validation error", 400],
          ["malformed JSON", 400],
          ["an unknown path", 404],
        ],
      );
    });
  });
}

/**
 * A TCP proxy to Postgres that can keep the API from noticing that the database ended its
 * connections: after hold(), what the database sends on the connections open then (the
 * FATAL of pg_terminate_backend, the close) waits until the API uses the connection, as
 * with a dead connection found only when used. Connections made later pass straight through.
 */
async function holdingProxy(target: URL): Promise<{ url: string; hold(): void; close(): Promise<void> }> {
  const pairs = new Set<{ held: boolean; buffered: Buffer[] }>();
  const proxy = net.createServer((client) => {
    const pair = { held: false, buffered: [] as Buffer[] };
    pairs.add(pair);
    const upstream = net.connect(Number(target.port), target.hostname);
    upstream.on("data", (chunk) => (pair.held ? pair.buffered.push(chunk) : client.write(chunk)));
    upstream.on("close", () => pair.held || client.destroy());
    upstream.on("error", () => undefined);
    client.on("data", (chunk) => {
      if (!pair.held) return void upstream.write(chunk);
      // The API used the connection: it learns now what the database said meanwhile.
      client.end(Buffer.concat(pair.buffered));
      upstream.destroy();
    });
    client.on("close", () => (upstream.destroy(), pairs.delete(pair)));
    client.on("error", () => undefined);
  });
  await new Promise<void>((resolve) => proxy.listen(0, "127.0.0.1", resolve));
  const url = new URL(target);
  url.host = `127.0.0.1:${(proxy.address() as AddressInfo).port}`;
  return {
    url: url.toString(),
    hold: () => pairs.forEach((pair) => (pair.held = true)),
    close: () => new Promise((resolve) => proxy.close(() => resolve())),
  };
}

describe("/readyz after the database killed the pool's connections [real]", { skip: real.skip }, () => {
  let server: TestServer;
  let proxy: Awaited<ReturnType<typeof holdingProxy>>;
  before(async () => {
    proxy = await holdingProxy(new URL((await real.freshDatabase()) as string));
    server = await startTestServer(real, { env: { DATABASE_URL: proxy.url } });
  });
  after(async () => {
    await server?.stop();
    await proxy?.close();
  });

  it("retries a dead pooled connection on a fresh one and answers 200", async () => {
    // Idle connections in the API's pool, then every one of them terminated by the database.
    await Promise.all(Array.from({ length: 5 }, () => server.app.db.query("SELECT pg_sleep(0.05)")));
    proxy.hold();
    const admin = new Client({ connectionString: server.env.DATABASE_URL });
    await admin.connect();
    try {
      const { rows } = await admin.query(
        "SELECT pg_terminate_backend(pid) AS killed FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()",
      );
      assert.ok(rows.length >= 1, "the API held idle connections");
    } finally {
      await admin.end();
    }
    const res = await fetch(`${server.url}/readyz`);
    assert.deepEqual([res.status, await res.json()], [200, { status: "ready" }]);
    // The pool has let the dead connection go: the next probes answer at once.
    for (let i = 0; i < 2; i++) assert.equal((await fetch(`${server.url}/readyz`)).status, 200);
  });
});
