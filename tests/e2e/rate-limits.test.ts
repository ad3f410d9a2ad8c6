import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import http from "node:http";
import { after, describe, it, mock } from "node:test";
import { createClient } from "graphql-ws";
import WebSocket from "ws";
import { assertError } from "../support/assertions";
import { backends, type Backend } from "../support/backends";
import { registerUser, startTestServer, type GraphQLResponse, type TestServer } from "../support/test-server";

const LOGIN = `mutation($email: String!, $password: String!) { login(email: $email, password: $password) { user { id } } }`;
const REGISTER = `mutation($input: RegisterInput!) { register(input: $input) { user { id } } }`;
const HOUR = 3_600_000;

/** How a request reaches the server: its source address on the loopback, and its headers. */
interface From {
  /** Another address of 127.0.0.0/8 than the default 127.0.0.1: another client, no proxy. */
  localAddress?: string;
  forwardedFor?: string;
}

/** POST over HTTP from `from`. */
function post(server: TestServer, query: string, variables: Record<string, unknown>, from: From = {}, token?: string): Promise<GraphQLResponse> {
  const body = JSON.stringify({ query, variables });
  return new Promise((resolve, reject) => {
    const req = http.request(
      server.graphqlUrl,
      {
        method: "POST",
        localAddress: from.localAddress,
        headers: {
          "content-type": "application/json",
          ...(from.forwardedFor ? { "x-forwarded-for": from.forwardedFor } : {}),
          ...(token ? { authorization: `Bearer ${token}` } : {}),
        },
      },
      (res) => {
        let text = "";
        res.setEncoding("utf8");
        res.on("data", (chunk) => (text += chunk));
        res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: new Headers(), body: JSON.parse(text), text }));
      },
    );
    req.on("error", reject);
    req.end(body);
  });
}

/** One operation over graphql-ws, the socket opened from `from` (a socket needs a token: any user's). */
async function overWebSocket(server: TestServer, token: string, query: string, variables: Record<string, unknown>, from: From): Promise<GraphQLResponse> {
  const options = { localAddress: from.localAddress, headers: from.forwardedFor ? { "x-forwarded-for": from.forwardedFor } : {} };
  const client = createClient({
    url: server.wsUrl,
    lazy: true,
    retryAttempts: 0,
    connectionParams: { authorization: `Bearer ${token}` },
    webSocketImpl: class extends WebSocket {
      constructor(url: string, protocols?: string | string[]) {
        super(url, protocols, options);
      }
    },
  });
  try {
    const result = await new Promise<GraphQLResponse["body"]>((resolve, reject) => {
      let body: GraphQLResponse["body"] = {};
      client.subscribe(
        { query, variables },
        {
          next: (value) => (body = value as GraphQLResponse["body"]),
          error: (err) =>
            reject(
              err instanceof Error
                ? err
                : new Error(`graphql-ws: ${JSON.stringify(err)} ${String((err as { code?: number }).code)} ${String((err as { reason?: string }).reason)}`),
            ),
          complete: () => resolve(body),
        },
      );
    });
    return { status: 200, headers: new Headers(), body: result, text: JSON.stringify(result) };
  } finally {
    await client.dispose();
  }
}

const login = (server: TestServer, email: string, password: string, from?: From) => post(server, LOGIN, { email, password }, from);
const stranger = () => `stranger-${randomBytes(4).toString("hex")}@example.test`;

function assertRateLimited(res: GraphQLResponse, maxMs: number): number {
  const retryAfterMs = assertError(res, "RATE_LIMITED").extensions?.retryAfterMs;
  assert.ok(Number.isSafeInteger(retryAfterMs) && retryAfterMs > 0 && retryAfterMs <= maxMs, `retryAfterMs ${retryAfterMs}`);
  return retryAfterMs;
}

for (const backend of backends) {
  describe(`rate limits [${backend.name}]`, { skip: backend.skip }, () => {
    const started: TestServer[] = [];
    const start = async (env: Record<string, string> = {}) => {
      const server = await startTestServer(backend as Backend, { env });
      started.push(server);
      return server;
    };
    after(() => Promise.all(started.map((s) => s.stop())));

    it("lets the owner log in while someone at another address is locked out for wrong passwords", async () => {
      const server = await start();
      const owner = await registerUser(server);
      // Claiming the owner's address changes nothing: no proxy is trusted (TRUST_PROXY unset).
      const attacker = { localAddress: "127.0.0.2", forwardedFor: "127.0.0.1" };
      for (let i = 0; i < 10; i++) assertError(await login(server, owner.email, "not the password", attacker), "UNAUTHENTICATED");
      assertRateLimited(await login(server, owner.email, owner.password, attacker), 60_000);
      // The owner, at their own address, over HTTP and over WebSocket alike.
      assert.equal((await login(server, owner.email, owner.password)).body.data?.login.user.id, owner.id);
      const ws = await overWebSocket(server, owner.token, LOGIN, { email: owner.email, password: owner.password }, {});
      assert.equal(ws.body.data?.login.user.id, owner.id);
      // The attacker's address stays limited on the WebSocket too.
      assertRateLimited(await overWebSocket(server, owner.token, LOGIN, { email: owner.email, password: owner.password }, attacker), 60_000);
    });

    it("still stops guessing from many addresses at the per-email ceiling (LOGIN_RATE_PER_EMAIL)", async () => {
      const server = await start({ LOGIN_RATE_PER_EMAIL: "4", LOGIN_RATE_PER_EMAIL_IP: "2" });
      const owner = await registerUser(server);
      for (const address of ["127.0.0.2", "127.0.0.3"]) {
        for (let i = 0; i < 2; i++) assertError(await login(server, owner.email, "wrong", { localAddress: address }), "UNAUTHENTICATED");
        assertRateLimited(await login(server, owner.email, "wrong", { localAddress: address }), 60_000);
      }
      assertRateLimited(await login(server, owner.email, owner.password, { localAddress: "127.0.0.4" }), 60_000);
    });

    it("gives two clients behind a trusted proxy their own per-IP buckets, over HTTP and WebSocket", async () => {
      const server = await start({ TRUST_PROXY: "loopback", LOGIN_RATE_PER_IP: "2" });
      const user = await registerUser(server);
      const a = { forwardedFor: "203.0.113.1" };
      // What the client put in front of the proxy's entry does not matter: the proxy's entry does.
      const b = { forwardedFor: "203.0.113.1, 198.51.100.2" };
      for (let i = 0; i < 2; i++) assertError(await login(server, stranger(), "wrong", a), "UNAUTHENTICATED");
      assertRateLimited(await login(server, user.email, user.password, a), 60_000);
      assertRateLimited(await overWebSocket(server, user.token, LOGIN, { email: user.email, password: user.password }, a), 60_000);
      assert.equal((await login(server, user.email, user.password, b)).body.data?.login.user.id, user.id);
      const ws = await overWebSocket(server, user.token, LOGIN, { email: user.email, password: user.password }, b);
      assert.equal(ws.body.data?.login.user.id, user.id);
      assertRateLimited(await login(server, user.email, user.password, b), 60_000);
    });

    it("counts hops with TRUST_PROXY=1: the address our one proxy saw, not what the client forged", async () => {
      const server = await start({ TRUST_PROXY: "1", LOGIN_RATE_PER_IP: "2" });
      const user = await registerUser(server);
      for (let i = 0; i < 2; i++) {
        assertError(await login(server, stranger(), "wrong", { forwardedFor: `10.9.9.${i}, 203.0.113.7` }), "UNAUTHENTICATED");
      }
      assertRateLimited(await login(server, user.email, user.password, { forwardedFor: "10.9.9.9, 203.0.113.7" }), 60_000);
      assert.ok((await login(server, user.email, user.password, { forwardedFor: "203.0.113.8" })).body.data?.login);
    });

    it("believes X-Forwarded-For only from the proxies TRUST_PROXY lists, never from another peer", async () => {
      const server = await start({ TRUST_PROXY: "127.0.0.2", LOGIN_RATE_PER_IP: "2" });
      const user = await registerUser(server);
      // A direct client (127.0.0.1) forging the header: one bucket, whatever it claims.
      for (let i = 0; i < 2; i++) assertError(await login(server, stranger(), "wrong", { forwardedFor: `203.0.113.${i}` }), "UNAUTHENTICATED");
      assertRateLimited(await login(server, user.email, user.password, { forwardedFor: "203.0.113.50" }), 60_000);
      assertRateLimited(
        await overWebSocket(server, user.token, LOGIN, { email: user.email, password: user.password }, { forwardedFor: "203.0.113.51" }),
        60_000,
      );
      // Through the proxy (127.0.0.2), each client it names has its own bucket.
      const viaProxy = (client: string) => ({ localAddress: "127.0.0.2", forwardedFor: client });
      for (let i = 0; i < 2; i++) assert.ok((await login(server, user.email, user.password, viaProxy("198.51.100.1"))).body.data?.login);
      assertRateLimited(await login(server, user.email, user.password, viaProxy("198.51.100.1")), 60_000);
      const ws = await overWebSocket(server, user.token, LOGIN, { email: user.email, password: user.password }, viaProxy("198.51.100.2"));
      assert.equal(ws.body.data?.login.user.id, user.id);
    });

    it("limits registrations per client address (REGISTER_RATE_PER_IP an hour)", async () => {
      const server = await start({ REGISTER_RATE_PER_IP: "2" });
      const register = (from?: From) =>
        post(server, REGISTER, { input: { email: stranger(), password: "correct horse battery staple", displayName: "New", role: "STUDENT" } }, from);
      for (let i = 0; i < 2; i++) assert.ok((await register()).body.data?.register, `registration ${i + 1}`);
      assertRateLimited(await register(), HOUR);
      assert.ok((await register({ localAddress: "127.0.0.2" })).body.data?.register, "another address registers");
    });

    it("admits no more than REGISTER_RATE_PER_IP in any hour, also across where a fixed window would reset", async () => {
      const server = await start({ REGISTER_RATE_PER_IP: "3" });
      const register = () =>
        post(server, REGISTER, { input: { email: stranger(), password: "correct horse battery staple", displayName: "New", role: "STUDENT" } });
      // Only Date moves (no timer): the server in this process reads this clock.
      const t0 = Date.now();
      mock.timers.enable({ apis: ["Date"], now: t0 });
      try {
        assert.ok((await register()).body.data?.register);
        mock.timers.setTime(t0 + 59 * 60_000);
        for (let i = 0; i < 2; i++) assert.ok((await register()).body.data?.register);
        // Two minutes later a fixed window started by the first would allow 3 more (5 in 2 min).
        mock.timers.setTime(t0 + 61 * 60_000);
        assert.ok((await register()).body.data?.register, "the first registration has left the hour");
        const retryAfterMs = assertRateLimited(await register(), HOUR);
        assert.equal(retryAfterMs, 58 * 60_000, "until the registrations of minute 59 leave the hour");
      } finally {
        mock.timers.reset();
      }
    });

    it("limits solo sessions per user (SOLO_SESSION_RATE_PER_USER an hour)", async () => {
      const server = await start({ SOLO_SESSION_RATE_PER_USER: "2" });
      const [user, other] = await Promise.all([registerUser(server), registerUser(server)]);
      const create = (token: string) => server.gql(`mutation { createSoloSession(title: "Notes") { id } }`, {}, token);
      for (let i = 0; i < 2; i++) assert.ok((await create(user.token)).body.data?.createSoloSession, `solo session ${i + 1}`);
      assertRateLimited(await create(user.token), HOUR);
      assert.ok((await create(other.token)).body.data?.createSoloSession, "another user is not affected");
    });

    it("limits classrooms per user (CLASSROOM_RATE_PER_USER an hour)", async () => {
      const server = await start({ CLASSROOM_RATE_PER_USER: "2" });
      const [tutor, other] = await Promise.all([registerUser(server, "TUTOR"), registerUser(server, "TUTOR")]);
      const create = (token: string) => server.gql(`mutation { createClassroom(name: "Class") { id } }`, {}, token);
      for (let i = 0; i < 2; i++) assert.ok((await create(tutor.token)).body.data?.createClassroom, `classroom ${i + 1}`);
      assertRateLimited(await create(tutor.token), HOUR);
      assert.ok((await create(other.token)).body.data?.createClassroom, "another tutor is not affected");
    });
  });
}
