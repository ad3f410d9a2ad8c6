import assert from "node:assert/strict";
import http from "node:http";
import { after, before, describe, it } from "node:test";
import { backends } from "../support/backends";
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

const graphqlPost = (server: TestServer, body: string) =>
  fetch(server.graphqlUrl, { method: "POST", headers: { "content-type": "application/json" }, body });

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

    it("answers a WebSocket upgrade on another path with a JSON 404 and the security headers", async () => {
      const { status, headers, body } = await new Promise<{ status?: number; headers: http.IncomingHttpHeaders; body: string }>((resolve, reject) => {
        const req = http.request(`${server.url}/not-graphql`, {
          headers: { Connection: "Upgrade", Upgrade: "websocket", "Sec-WebSocket-Version": "13", "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ==", "Sec-WebSocket-Protocol": "graphql-transport-ws" },
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
