import assert from "node:assert/strict";
import http from "node:http";
import { after, before, describe, it } from "node:test";
import { gzipSync } from "node:zlib";
import jwt from "jsonwebtoken";
import { Client } from "pg";
import { assertError, ok, until } from "../support/assertions";
import { acrossInstances, backends } from "../support/backends";
import { TEST_SECRET, registerUser, startTestServer, startTwoInstances, type TestServer } from "../support/test-server";

/**
 * The telemetry ingest (W3, HARDENING.md "Limits" and "Bad input"): POST
 * /api/v1/logs/telemetry without sign-in, 32 KiB after gunzip, 300 requests a minute per
 * client, 204 and best-effort storage; and the admins' telemetryEvents query.
 */

const PATH = "/api/v1/logs/telemetry";
const LIMIT = 32 * 1024;
const T = { timeout: 30_000 };

interface Answer {
  status: number;
  headers: http.IncomingHttpHeaders;
  text: string;
  elapsedMs: number;
}

interface Send {
  method?: string;
  /** The whole body, sent with its Content-Length. */
  body?: string | Buffer;
  /** Or chunks without a Content-Length (chunked); with `end: false` the body never ends. */
  chunks?: Buffer[];
  end?: boolean;
  headers?: Record<string, string>;
  path?: string;
  /** The client's address: another of 127.0.0.0/8, so each test has its own rate limit. */
  from?: string;
}

let clients = 0;
/** A loopback address no other test of this file uses: a client of its own. */
const newClient = () => `127.77.${Math.floor(++clients / 250)}.${(clients % 250) + 1}`;

/** POST to the telemetry path over node:http (its source address and framing are ours to choose). */
function send(server: TestServer, request: Send = {}): Promise<Answer> {
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const req = http.request(`${server.url}${request.path ?? PATH}`, {
      method: request.method ?? "POST",
      localAddress: request.from ?? newClient(),
      headers: {
        "content-type": "application/json",
        ...(request.body !== undefined ? { "content-length": String(Buffer.byteLength(request.body)) } : {}),
        ...request.headers,
      },
    });
    req.on("response", (res) => {
      let text = "";
      res.setEncoding("utf8");
      res.on("data", (chunk) => (text += chunk));
      res.on("end", () => {
        resolve({ status: res.statusCode ?? 0, headers: res.headers, text, elapsedMs: performance.now() - started });
        // A body that never ends is abandoned once answered.
        if (request.end === false) req.destroy();
      });
    });
    req.on("error", (err) => {
      if (!req.destroyed || request.end !== false) reject(err);
    });
    if (request.body !== undefined) req.end(request.body);
    else {
      for (const chunk of request.chunks ?? []) req.write(chunk);
      if (request.end !== false) req.end();
    }
  });
}

/** The answer's error code (the routes' `{ errors: [{ message, extensions: { code } }] }`), checking that no internal detail leaks. */
function errorCode(answer: Answer): string {
  assert.match(String(answer.headers["content-type"]), /^application\/json/);
  const body = JSON.parse(answer.text);
  assert.equal(body.errors.length, 1, answer.text);
  assert.doesNotMatch(answer.text, /\bat .+\.js:\d+|node:internal|stack/i, "no stack trace");
  return body.errors[0].extensions.code;
}

/** A JSON event of exactly `bytes` bytes, of `type`. */
function eventOfSize(bytes: number, type: string): string {
  const empty = JSON.stringify({ type, pad: "" });
  return JSON.stringify({ type, pad: "x".repeat(bytes - empty.length) });
}

/** Resolves once Date.now() has moved on (a clock tick, not a fixed sleep). */
async function nextMillisecond(): Promise<void> {
  const now = Date.now();
  while (Date.now() === now) await new Promise((resolve) => setImmediate(resolve));
}

const unique = (what: string) => `${what}-${Math.random().toString(36).slice(2, 10)}`;

const EVENTS = `query($filter: TelemetryEventFilter, $first: Int, $after: String) {
  telemetryEvents(filter: $filter, first: $first, after: $after) {
    totalCount
    pageInfo { hasNextPage hasPreviousPage endCursor }
    edges { cursor node { id receivedAt userId type level clientTimestamp platform appVersion sessionId event } }
  }
}`;

async function makeAdmin(server: TestServer): Promise<string> {
  const admin = await registerUser(server);
  await server.app.db.query(`UPDATE users SET role = 'ADMIN' WHERE id = $1`, [admin.id]);
  return admin.token;
}

/** The stored events of `type`, newest first, read through the admins' query once the queue is written. */
async function storedOfType(server: TestServer, admin: string, type: string) {
  await server.app.services.telemetry.flush();
  return ok(await server.gql(EVENTS, { filter: { type }, first: 100 }, admin)).telemetryEvents.edges.map((e: any) => e.node);
}

async function counter(server: TestServer, outcome: "accepted" | "dropped"): Promise<number> {
  const { values } = await server.app.services.metrics.telemetryEvents.get();
  return values.find((v) => v.labels.outcome === outcome)?.value ?? 0;
}

for (const backend of backends) {
  describe(`POST /api/v1/logs/telemetry [${backend.name}]`, { skip: backend.skip }, () => {
    let server: TestServer;
    let admin: string;
    before(async () => {
      server = await startTestServer(backend);
      admin = await makeAdmin(server);
    });
    after(() => server?.stop());

    it("answers 204 with no body to one event object, an array, and gzip, without a token, on both spellings of the path; stores them", T, async () => {
      const type = unique("ok");
      const answers = [
        await send(server, { body: JSON.stringify({ type, n: 1 }) }),
        await send(server, {
          body: JSON.stringify([
            { type, n: 2 },
            { type, n: 3 },
          ]),
        }),
        await send(server, { body: gzipSync(JSON.stringify([{ type, n: 4 }])), headers: { "content-encoding": "gzip" } }),
        await send(server, { body: JSON.stringify({ type, n: 5 }), path: `${PATH}/` }),
        await send(server, { body: JSON.stringify({ type, n: 6 }), headers: { "content-encoding": "identity", "content-type": "text/plain" } }),
        await send(server, { chunks: [Buffer.from(`[{"type":"${type}",`), Buffer.from(`"n":7}]`)] }),
      ];
      for (const answer of answers) {
        assert.equal(answer.status, 204, answer.text);
        assert.equal(answer.text, "");
      }
      const stored = await storedOfType(server, admin, type);
      assert.deepEqual(stored.map((e: any) => e.event.n).sort(), [1, 2, 3, 4, 5, 6, 7]);
      assert.ok(stored.every((e: any) => e.userId === null && e.type === type));
    });

    it("copies the useful fields out of an event and keeps the event whole as sent", T, async () => {
      const type = unique("fields");
      const sessionId = "6f1c2a4e-8d7b-4c1e-9f3a-2b5d7e9a1c3f";
      const event = {
        type,
        level: "error",
        timestamp: 1_700_000_000_123,
        platform: "ios",
        app_version: "3.1.4",
        session_id: sessionId,
        deep: { a: [1, "ü😀"] },
      };
      assert.equal(
        (await send(server, { body: JSON.stringify([event, { name: type, appVersion: "9", sessionId: "not-a-uuid", timestamp: "soon" }]) })).status,
        204,
      );
      const stored = await storedOfType(server, admin, type);
      const first = stored.find((e: any) => e.event.type === type);
      const second = stored.find((e: any) => e.event.name === type);
      assert.deepEqual(
        { ...first, id: undefined, receivedAt: undefined },
        {
          id: undefined,
          receivedAt: undefined,
          userId: null,
          type,
          level: "error",
          clientTimestamp: "2023-11-14T22:13:20.123Z",
          platform: "ios",
          appVersion: "3.1.4",
          sessionId,
          event,
        },
      );
      assert.equal(second.type, type, "`name` when there is no `type`");
      assert.equal(second.appVersion, "9");
      assert.equal(second.sessionId, null, "a session id that is no UUID is not copied");
      assert.equal(second.clientTimestamp, null);
      assert.ok(Math.abs(Date.parse(first.receivedAt) - Date.now()) < 60_000);
    });

    it("stores the sender of a valid access token; an invalid, expired or session token is ignored, never refused", T, async () => {
      const type = unique("who");
      const user = await registerUser(server);
      const claims = { typ: "access", role: "STUDENT", sub: user.id, iss: server.app.config.jwtIssuer, aud: server.app.config.jwtAudience };
      const expired = jwt.sign({ ...claims, exp: Math.floor(Date.now() / 1000) - 3600 }, TEST_SECRET);
      const wrongKey = jwt.sign({ ...claims, exp: Math.floor(Date.now() / 1000) + 3600 }, "another-secret-that-is-long-enough-to-sign");
      const senders: Array<[string, Record<string, string>]> = [
        ["valid", { authorization: `Bearer ${user.token}` }],
        ["garbage", { authorization: "Bearer not-a-jwt" }],
        ["expired", { authorization: `Bearer ${expired}` }],
        ["wrong key", { authorization: `Bearer ${wrongKey}` }],
        ["no scheme", { authorization: user.token }],
      ];
      for (const [what, headers] of senders) {
        const answer = await send(server, { body: JSON.stringify({ type, what }), headers });
        assert.equal(answer.status, 204, `${what}: ${answer.text}`);
      }
      const stored = await storedOfType(server, admin, type);
      const byWhat = Object.fromEntries(stored.map((e: any) => [e.event.what, e.userId]));
      assert.deepEqual(byWhat, { valid: user.id, garbage: null, expired: null, "wrong key": null, "no scheme": null });
    });

    it("takes exactly 32 KiB and refuses 32 KiB + 1 byte with 413, identity (by Content-Length, and streamed) and gzip (after inflating)", T, async () => {
      const type = unique("size");
      const fits = eventOfSize(LIMIT, type);
      const over = eventOfSize(LIMIT + 1, type);
      assert.equal(Buffer.byteLength(over), LIMIT + 1);
      assert.equal((await send(server, { body: fits })).status, 204);
      assert.equal((await send(server, { body: gzipSync(fits), headers: { "content-encoding": "gzip" } })).status, 204);
      assert.equal((await send(server, { chunks: [Buffer.from(fits)] })).status, 204);
      for (const request of [
        { body: over },
        { chunks: [Buffer.from(over.slice(0, 1000)), Buffer.from(over.slice(1000))] },
        { body: gzipSync(over), headers: { "content-encoding": "gzip" } },
      ]) {
        const answer = await send(server, request);
        assert.equal(answer.status, 413, answer.text);
        assert.equal(errorCode(answer), "PAYLOAD_TOO_LARGE");
      }
      assert.equal((await storedOfType(server, admin, type)).length, 3, "the refused ones stored nothing");
    });

    it("refuses a gzip bomb (10 MB inflated) with 413 in well under a second", T, async () => {
      const bomb = gzipSync(Buffer.alloc(10 * 1024 * 1024, " "), { level: 9 });
      assert.ok(bomb.length < LIMIT, `the bomb is small: ${bomb.length} bytes`);
      const answer = await send(server, { body: bomb, headers: { "content-encoding": "gzip" } });
      assert.equal(answer.status, 413, answer.text);
      assert.equal(errorCode(answer), "PAYLOAD_TOO_LARGE");
      assert.ok(answer.elapsedMs < 1000, `answered in ${answer.elapsedMs} ms`);
    });

    it("decides on a bomb while it streams: 413 from its first 4 KiB, whose body never ends (it is never inflated whole)", T, async () => {
      const bomb = gzipSync(Buffer.alloc(10 * 1024 * 1024, " "), { level: 9 });
      // 4 KiB of it inflates to about 4 MB; the rest is never sent and the request never ends,
      // so only a server that stops inflating at the limit can answer at all.
      const answer = await send(server, { chunks: [bomb.subarray(0, 4096)], end: false, headers: { "content-encoding": "gzip" } });
      assert.equal(answer.status, 413, answer.text);
      assert.ok(answer.elapsedMs < 1000, `answered in ${answer.elapsedMs} ms`);
      // The server goes on serving.
      assert.equal((await send(server, { body: JSON.stringify({ type: unique("after-bomb") }) })).status, 204);
    });

    it("refuses other content encodings with 415, and says which it takes", T, async () => {
      for (const coding of ["br", "deflate", "compress", "zstd", "gzip, gzip", "gzip, br"]) {
        const answer = await send(server, { body: JSON.stringify({ type: "x" }), headers: { "content-encoding": coding } });
        assert.equal(answer.status, 415, `${coding}: ${answer.text}`);
        assert.equal(errorCode(answer), "BAD_REQUEST");
        assert.equal(answer.headers["accept-encoding"], "gzip, identity");
      }
    });

    it("refuses with 400 a body that claims gzip but is not, a cut gzip, malformed JSON, a wrong shape, and NUL or lone surrogates", T, async () => {
      const gzip = (text: string) => ({ body: gzipSync(text), headers: { "content-encoding": "gzip" } });
      const hundred = Array.from({ length: 100 }, (_, i) => ({ type: "many", i }));
      const cases: Array<[string, Send]> = [
        ["plain JSON said to be gzip", { body: JSON.stringify({ type: "x" }), headers: { "content-encoding": "gzip" } }],
        ["a gzip body cut short", { body: gzipSync(JSON.stringify({ type: "x" })).subarray(0, 15), headers: { "content-encoding": "gzip" } }],
        ["an empty gzip body", { body: "", headers: { "content-encoding": "gzip" } }],
        ["malformed JSON", { body: `{"type": "x",` }],
        ["malformed JSON in gzip", gzip(`[{"type": "x"}`)],
        ["an empty body", { body: "" }],
        ["a string", { body: `"event"` }],
        ["a number", { body: "42" }],
        ["null", { body: "null" }],
        ["an array with a non-object", { body: `[{"type":"x"}, 1]` }],
        ["an array with an array", { body: `[[{"type":"x"}]]` }],
        ["an array with null", { body: `[null]` }],
        ["101 events", { body: JSON.stringify([...hundred, { type: "many" }]) }],
        ["NUL in a value", { body: `{"type":"x","message":"a\\u0000b"}` }],
        ["NUL in a key", { body: `{"type":"x","a\\u0000":1}` }],
        ["a lone surrogate, deep", { body: `{"type":"x","a":[{"b":"\\ud800"}]}` }],
        ["33 levels", { body: `{"type":"x","a":${"[".repeat(32)}${"]".repeat(32)}}` }],
      ];
      for (const [what, request] of cases) {
        const answer = await send(server, request);
        assert.equal(answer.status, 400, `${what}: ${answer.status} ${answer.text}`);
        assert.equal(errorCode(answer), "BAD_REQUEST", what);
      }
      assert.equal((await send(server, { body: JSON.stringify(hundred) })).status, 204, "100 events are fine");
      assert.equal((await send(server, { body: "[]" })).status, 204, "no event is fine too");
    });

    it("answers the 301st request in a minute from one client with 429 and Retry-After; other clients are not affected", T, async () => {
      const from = newClient();
      const body = JSON.stringify({ type: unique("flood") });
      for (let sent = 0; sent < 300; sent += 25) {
        const answers = await Promise.all(Array.from({ length: 25 }, () => send(server, { body, from })));
        assert.deepEqual(new Set(answers.map((a) => a.status)), new Set([204]));
      }
      const refused = await send(server, { body, from });
      assert.equal(refused.status, 429, refused.text);
      assert.equal(errorCode(refused), "RATE_LIMITED");
      const seconds = Number(refused.headers["retry-after"]);
      assert.ok(Number.isInteger(seconds) && seconds >= 1 && seconds <= 60, `Retry-After: ${refused.headers["retry-after"]}`);
      assert.equal((await send(server, { body })).status, 204, "another client");
    });

    // After the tests above, which were answered 413, 415 and 429.
    it("counts requests by status and events by outcome on GET /metrics", T, async () => {
      const accepted = await counter(server, "accepted");
      assert.equal((await send(server, { body: JSON.stringify([{ type: "m" }, { type: "m" }]) })).status, 204);
      assert.equal((await send(server, { body: "{" })).status, 400);
      assert.equal(await counter(server, "accepted"), accepted + 2);
      const text = await (await fetch(`${server.url}/metrics`)).text();
      for (const status of ["204", "400", "413", "415", "429"])
        assert.match(text, new RegExp(`^telemetry_requests_total\\{status="${status}"\\} [1-9]\\d*$`, "m"));
      assert.match(text, /^telemetry_events_total\{outcome="accepted"\} [1-9]\d*$/m);
    });

    it("drops what does not fit the queue, counted, and still answers 204", T, async () => {
      const small = await startTestServer(backend, { env: { TELEMETRY_QUEUE_MAX: "5" } });
      try {
        const type = unique("full");
        const answer = await send(small, { body: JSON.stringify(Array.from({ length: 8 }, (_, i) => ({ type, i }))) });
        assert.equal(answer.status, 204);
        assert.equal(await counter(small, "accepted"), 8);
        assert.equal(await counter(small, "dropped"), 3);
        const stored = await storedOfType(small, await makeAdmin(small), type);
        assert.deepEqual(stored.map((e: any) => e.event.i).sort(), [0, 1, 2, 3, 4]);
      } finally {
        await small.stop();
      }
    });

    it("writes the queue in the background, without a flush", T, async () => {
      const type = unique("background");
      assert.equal((await send(server, { body: JSON.stringify({ type }) })).status, 204);
      const page = await until(
        async () => ok(await server.gql(EVENTS, { filter: { type } }, admin)).telemetryEvents,
        (p) => p.totalCount === 1,
      );
      assert.equal(page.edges[0].node.type, type);
    });
  });

  describe(`telemetry from a browser app on another origin (CORS_ORIGINS) [${backend.name}]`, { skip: backend.skip }, () => {
    const ALLOWED = "https://app.example.test";
    let server: TestServer;
    before(async () => {
      server = await startTestServer(backend, { env: { CORS_ORIGINS: ALLOWED } });
    });
    after(() => server?.stop());

    it("answers an allowed origin's preflight (gzip allowed) and POST with its CORS headers; a foreign origin gets none", T, async () => {
      for (const path of [PATH, `${PATH}/`]) {
        const preflight = await send(server, {
          method: "OPTIONS",
          path,
          headers: { origin: ALLOWED, "access-control-request-method": "POST", "access-control-request-headers": "content-type, content-encoding" },
        });
        assert.equal(preflight.status, 204, preflight.text);
        assert.equal(preflight.headers["access-control-allow-origin"], ALLOWED);
        assert.ok(String(preflight.headers["access-control-allow-headers"]).toLowerCase().split(/,\s*/).includes("content-encoding"));
      }
      const posted = await send(server, { body: gzipSync(JSON.stringify({ type: "cors" })), headers: { origin: ALLOWED, "content-encoding": "gzip" } });
      assert.equal(posted.status, 204, posted.text);
      assert.equal(posted.headers["access-control-allow-origin"], ALLOWED);
      const foreign = await send(server, { body: JSON.stringify({ type: "cors" }), headers: { origin: "https://elsewhere.example.test" } });
      assert.equal(foreign.status, 204, "accepted: no cookie is involved, the browser only keeps the answer from the page");
      assert.equal(foreign.headers["access-control-allow-origin"], undefined);
    });
  });

  describe(`telemetryEvents, the admins' query [${backend.name}]`, { skip: backend.skip }, () => {
    let server: TestServer;
    let admin: string;
    before(async () => {
      server = await startTestServer(backend);
      admin = await makeAdmin(server);
    });
    after(() => server?.stop());

    it("is refused without a token (UNAUTHENTICATED) and to anyone but an admin (FORBIDDEN)", T, async () => {
      assertError(await server.gql(EVENTS, {}), "UNAUTHENTICATED");
      for (const role of ["STUDENT", "TUTOR"] as const) {
        const user = await registerUser(server, role);
        const res = await server.gql(EVENTS, {}, user.token);
        assertError(res, "FORBIDDEN");
        assert.equal(res.body.data, null);
      }
    });

    it("filters by type, level, user and received time, pages newest first with cursors, and refuses forged cursors and bad ids", T, async () => {
      const type = unique("page");
      const user = await registerUser(server);
      const before = new Date(Date.now() - 1);
      for (let i = 0; i < 5; i++) {
        await nextMillisecond(); // each event its own receivedAt, so "newest first" has one answer
        const answer = await send(server, {
          body: JSON.stringify({ type, i, level: i % 2 ? "warn" : "info" }),
          headers: i < 2 ? { authorization: `Bearer ${user.token}` } : {},
        });
        assert.equal(answer.status, 204);
      }
      await server.app.services.telemetry.flush();
      const pageOf = async (variables: Record<string, unknown>) => ok(await server.gql(EVENTS, variables, admin)).telemetryEvents;

      const all = await pageOf({ filter: { type } });
      assert.equal(all.totalCount, 5);
      assert.deepEqual(
        all.edges.map((e: any) => e.node.event.i),
        [4, 3, 2, 1, 0],
        "newest first",
      );

      const first = await pageOf({ filter: { type }, first: 2 });
      assert.deepEqual([first.totalCount, first.pageInfo.hasNextPage, first.pageInfo.hasPreviousPage], [5, true, false]);
      const rest = await pageOf({ filter: { type }, first: 10, after: first.pageInfo.endCursor });
      assert.deepEqual([rest.pageInfo.hasNextPage, rest.pageInfo.hasPreviousPage], [false, true]);
      assert.deepEqual(
        [...first.edges, ...rest.edges].map((e: any) => e.node.id),
        all.edges.map((e: any) => e.node.id),
        "the pages together are the list, once each",
      );

      assert.deepEqual((await pageOf({ filter: { type, userId: user.id } })).edges.map((e: any) => e.node.event.i).sort(), [0, 1]);
      assert.deepEqual((await pageOf({ filter: { type, level: "warn" } })).edges.map((e: any) => e.node.event.i).sort(), [1, 3]);
      assert.equal((await pageOf({ filter: { type, since: before.toISOString() } })).totalCount, 5);
      assert.equal((await pageOf({ filter: { type, until: before.toISOString() } })).totalCount, 0);
      assert.equal((await pageOf({ filter: { type, since: new Date(Date.now() + 60_000).toISOString() } })).totalCount, 0);
      const newest = all.edges[0].node.receivedAt;
      assert.equal((await pageOf({ filter: { type, until: newest } })).edges.length, all.edges.filter((e: any) => e.node.receivedAt < newest).length);

      assertError(await server.gql(EVENTS, { filter: { type }, after: "forged" }, admin), "BAD_USER_INPUT");
      assertError(await server.gql(EVENTS, { filter: { type }, first: 101 }, admin), "BAD_USER_INPUT");
      assertError(await server.gql(EVENTS, { filter: { userId: "not-a-uuid" } }, admin), "BAD_USER_INPUT");
    });
  });
}

for (const backend of backends) {
  describe(`telemetry while the database cannot be written [${backend.name}]`, { skip: backend.skip }, () => {
    let server: TestServer;
    let admin: string;
    before(async () => {
      // A lock held longer than this ends the write waiting on it (lock_timeout).
      server = await startTestServer(backend, { env: { STATEMENT_TIMEOUT_MS: "300" } });
      admin = await makeAdmin(server);
    });
    after(() => server?.stop());

    /**
     * Runs `during` while telemetry_events cannot be written: on a real Postgres another
     * connection holds the table's lock (the write times out, as in an outage); the embedded
     * database runs in-process, where no other connection can hold a lock, so the table is
     * moved away for the time.
     */
    async function withoutTheTable(during: () => Promise<void>): Promise<void> {
      if (backend.name === "embedded") {
        await server.app.db.query(`ALTER TABLE telemetry_events RENAME TO telemetry_events_away`);
        try {
          await during();
        } finally {
          await server.app.db.query(`ALTER TABLE telemetry_events_away RENAME TO telemetry_events`);
        }
        return;
      }
      const holder = new Client({ connectionString: server.env.DATABASE_URL });
      await holder.connect();
      try {
        await holder.query("BEGIN");
        await holder.query("LOCK TABLE telemetry_events IN ACCESS EXCLUSIVE MODE");
        await during();
      } finally {
        await holder.query("ROLLBACK");
        await holder.end();
      }
    }

    it("still answers 204, counts the events it could not store as dropped, and stores again afterwards", T, async () => {
      const type = unique("outage");
      const dropped = await counter(server, "dropped");
      await withoutTheTable(async () => {
        for (let i = 0; i < 3; i++) {
          const answer = await send(server, {
            body: JSON.stringify([
              { type, i },
              { type, i },
            ]),
          });
          assert.equal(answer.status, 204, answer.text);
        }
        await server.app.services.telemetry.flush();
        assert.equal(await counter(server, "dropped"), dropped + 6);
      });
      assert.equal((await send(server, { body: JSON.stringify({ type, after: true }) })).status, 204);
      const stored = await storedOfType(server, admin, type);
      assert.deepEqual(
        stored.map((e: any) => e.event),
        [{ type, after: true }],
      );
      assert.equal(await counter(server, "dropped"), dropped + 6);
    });
  });

  describe(`telemetry on two instances [${backend.name}]`, { skip: acrossInstances(backend) }, () => {
    let a: TestServer;
    let b: TestServer;
    startTwoInstances(backend, (first, second) => ([a, b] = [first, second]));

    it("counts one client's requests on every instance together (Redis): 200 on A and 100 on B, then B refuses", T, async () => {
      const from = newClient();
      const body = JSON.stringify({ type: unique("shared") });
      for (const [server, count] of [
        [a, 200],
        [b, 100],
      ] as const) {
        for (let sent = 0; sent < count; sent += 25) {
          const answers = await Promise.all(Array.from({ length: 25 }, () => send(server, { body, from })));
          assert.deepEqual(new Set(answers.map((x) => x.status)), new Set([204]));
        }
      }
      // B alone has seen 100 of this client's requests: only the shared count refuses the next.
      const refused = await send(b, { body, from });
      assert.equal(refused.status, 429, refused.text);
      assert.ok(Number(refused.headers["retry-after"]) >= 1);
      assert.equal((await send(a, { body, from })).status, 429);
    });

    it("writes what is queued when an instance stops", T, async () => {
      const c = await startTestServer(backend, { share: a });
      const type = unique("stop");
      assert.equal((await send(c, { body: JSON.stringify([{ type }, { type }, { type }]) })).status, 204);
      await c.stop(); // no flush asked for: stop() writes the queue before closing its database
      const rows: Array<{ n: string }> = await a.app.db.query(`SELECT count(*) AS n FROM telemetry_events WHERE type = $1`, [type]);
      assert.equal(Number(rows[0].n), 3);
    });
  });
}
