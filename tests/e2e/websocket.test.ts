import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import http from "node:http";
import { afterEach, after, before, describe, it } from "node:test";
import type { GraphQLFormattedError } from "graphql";
import type { Client, FormattedExecutionResult } from "graphql-ws";
import jwt from "jsonwebtoken";
import WebSocket from "ws";
import { UserRole } from "../../src/entities/user.entity";
import { backends } from "../support/backends";
import { Inbox, ackedSocket, rawSocket, terminateRawSockets } from "../support/raw-socket";
import { registerUser, startTestServer, type TestServer } from "../support/test-server";

// ---------------------------------------------------------------------------------------
// Helpers: every wait is on an event (message, close), bounded by the test's timeout.

const T = { timeout: 20_000 };
const PROFILE = `subscription { myProfile { id displayName createdAt } }`;

/** What the server answers connection_init with: "connection_ack", or the close code. */
async function connectOutcome(server: TestServer, payload?: Record<string, unknown>, headers?: Record<string, string>) {
  const socket = await rawSocket(server, { headers });
  socket.send({ type: "connection_init", ...(payload ? { payload } : {}) });
  const event = await socket.event();
  socket.ws.close();
  return "close" in event ? event.close : (event.message.type as string);
}

type SubEvent = { next: FormattedExecutionResult<any, unknown> } | { error: unknown } | { complete: true };

/** A graphql-ws operation whose results, error and completion are awaited in order. */
function watch(client: Client, query: string, variables?: Record<string, unknown>) {
  const inbox = new Inbox<SubEvent>();
  const stop = client.subscribe(
    { query, variables },
    {
      next: (result) => inbox.push({ next: result }),
      error: (error) => inbox.push({ error }, true),
      complete: () => inbox.push({ complete: true }, true),
    },
  );
  return {
    stop,
    event: () => inbox.take(),
    async next(): Promise<FormattedExecutionResult<any, unknown>> {
      const event = await inbox.take();
      if (!("next" in event)) throw new Error(`expected a result, got ${describeEvent(event)}`);
      return event.next;
    },
  };
}

function describeEvent(event: SubEvent): string {
  if ("next" in event) return `the result ${JSON.stringify(event.next)}`;
  if ("complete" in event) return "completion";
  const error = event.error as { code?: number };
  return typeof error?.code === "number" ? `close ${error.code}` : `the error ${JSON.stringify(event.error)}`;
}

/** A query or mutation over the socket that must execute: its one result. */
async function wsResult(client: Client, query: string, variables?: Record<string, unknown>) {
  const op = watch(client, query, variables);
  const result = await op.next();
  assert.deepEqual(await op.event(), { complete: true });
  return result;
}

/** An operation the socket must refuse with an `error` message: its errors. */
async function wsRejected(client: Client, query: string, variables?: Record<string, unknown>): Promise<GraphQLFormattedError[]> {
  const event = await watch(client, query, variables).event();
  if (!("error" in event) || !Array.isArray(event.error)) throw new Error(`expected an error message, got ${describeEvent(event)}`);
  return event.error;
}

/** The graphql-ws client's next close event. */
function nextClose(client: Client): Promise<{ code: number; reason: string }> {
  return new Promise((resolve) => {
    const off = client.on("closed", (event) => {
      off();
      resolve(event as { code: number; reason: string });
    });
  });
}

function codes(errors: readonly GraphQLFormattedError[] | undefined): unknown[] {
  return (errors ?? []).map((e) => e.extensions?.code);
}

/** A JWT signed as the server would (HS256, its secret, issuer and audience), with overrides. */
function forgeToken(
  server: TestServer,
  userId: string,
  options: { claims?: Record<string, unknown>; secret?: string; algorithm?: jwt.Algorithm } = {},
): string {
  const now = Math.floor(Date.now() / 1000);
  const payload: Record<string, unknown> = {
    typ: "access",
    role: "STUDENT",
    sub: userId,
    iss: server.app.config.jwtIssuer,
    aud: server.app.config.jwtAudience,
    iat: now,
    exp: now + 600,
    ...options.claims,
  };
  for (const key of Object.keys(payload)) if (payload[key] === undefined) delete payload[key];
  return jwt.sign(payload, options.secret ?? server.env.JWT_SECRET, { algorithm: options.algorithm ?? "HS256" });
}

/** An unsigned token (`alg: none`) with valid-looking claims. */
function unsignedToken(server: TestServer, userId: string): string {
  const [, payload] = forgeToken(server, userId).split(".");
  const header = Buffer.from(JSON.stringify({ alg: "none", typ: "JWT" })).toString("base64url");
  return `${header}.${payload}.`;
}

/**
 * Upgrades /graphql by hand offering `protocol`, and answers the subprotocol the server
 * selected and the code of the close frame it then sent.
 */
function upgradeWithProtocol(server: TestServer, protocol: string): Promise<{ selected?: string; code: number }> {
  return new Promise((resolve, reject) => {
    const req = http.request(server.graphqlUrl, {
      headers: {
        connection: "Upgrade",
        upgrade: "websocket",
        "sec-websocket-version": "13",
        "sec-websocket-key": randomBytes(16).toString("base64"),
        "sec-websocket-protocol": protocol,
      },
    });
    req.on("error", reject);
    req.on("response", (res) => reject(new Error(`no upgrade: HTTP ${res.statusCode}`)));
    req.on("upgrade", (res, socket, head) => {
      let bytes = Buffer.alloc(0);
      const read = (chunk: Buffer) => {
        bytes = Buffer.concat([bytes, chunk]);
        if (bytes.length < 4) return;
        socket.destroy();
        if (bytes[0] !== 0x88) return reject(new Error(`expected a close frame, got opcode ${bytes[0] & 0x0f}`));
        resolve({ selected: res.headers["sec-websocket-protocol"] as string | undefined, code: bytes.readUInt16BE(2) });
      };
      socket.on("data", read);
      socket.on("error", reject);
      read(head);
    });
    req.end();
  });
}

async function updateDisplayName(server: TestServer, token: string, displayName: string): Promise<void> {
  const res = await server.gql(`mutation($n: String!) { updateProfile(input: { displayName: $n }) { displayName } }`, { n: displayName }, token);
  assert.equal(res.body.data?.updateProfile.displayName, displayName, res.text);
}

afterEach(() => {
  terminateRawSockets();
});

// ---------------------------------------------------------------------------------------

for (const backend of backends) {
  describe(`realtime connection [${backend.name}]`, { skip: backend.skip }, () => {
    let server: TestServer;
    let user: Awaited<ReturnType<typeof registerUser>>;
    before(async () => {
      server = await startTestServer(backend);
      user = await registerUser(server);
    });
    after(() => server?.stop());

    describe("authentication at connect", () => {
      const refused: Array<[string, () => Record<string, unknown> | undefined]> = [
        ["no connectionParams at all", () => undefined],
        ["connectionParams without a token", () => ({})],
        ["a garbage token", () => ({ authorization: "Bearer not-a-jwt" })],
        ["a non-string authorization", () => ({ authorization: 42 })],
        ["an expired token", () => ({ authorization: `Bearer ${forgeToken(server, user.id, { claims: { iat: now() - 7200, exp: now() - 3600 } })}` })],
        ["alg none", () => ({ authorization: `Bearer ${unsignedToken(server, user.id)}` })],
        [
          "a token signed with the wrong secret",
          () => ({ authorization: `Bearer ${forgeToken(server, user.id, { secret: "another-secret-that-is-long-enough-for-hs256" })}` }),
        ],
        ["an HS512 token with the right secret", () => ({ authorization: `Bearer ${forgeToken(server, user.id, { algorithm: "HS512" })}` })],
        ["a token without exp", () => ({ authorization: `Bearer ${forgeToken(server, user.id, { claims: { exp: undefined } })}` })],
        ["a token for another audience", () => ({ authorization: `Bearer ${forgeToken(server, user.id, { claims: { aud: "someone-else" } })}` })],
        ["a token from another issuer", () => ({ authorization: `Bearer ${forgeToken(server, user.id, { claims: { iss: "someone-else" } })}` })],
        ["a token valid only in the future (nbf)", () => ({ authorization: `Bearer ${forgeToken(server, user.id, { claims: { nbf: now() + 3600 } })}` })],
      ];
      for (const [what, params] of refused) {
        it(`closes 4401 for ${what}`, T, async () => {
          assert.equal(await connectOutcome(server, params()), 4401);
        });
      }

      it("closes 4401 for a bad token in the upgrade request's Authorization header", T, async () => {
        assert.equal(await connectOutcome(server, undefined, { authorization: "Bearer not-a-jwt" }), 4401);
      });

      it("acknowledges a forged token that is valid in every respect (the cases above fail for their reason)", T, async () => {
        assert.equal(await connectOutcome(server, { authorization: `Bearer ${forgeToken(server, user.id)}` }), "connection_ack");
      });

      it("acknowledges an access token in connectionParams.authorization", T, async () => {
        assert.equal(await connectOutcome(server, { authorization: `Bearer ${user.token}` }), "connection_ack");
      });

      it("acknowledges an access token in the upgrade request's Authorization header", T, async () => {
        assert.equal(await connectOutcome(server, undefined, { authorization: `Bearer ${user.token}` }), "connection_ack");
      });

      it("acknowledges a session token", T, async () => {
        const session = server.app.tokens.signSession({ id: user.id, role: UserRole.STUDENT }, "some-session-id");
        assert.equal(await connectOutcome(server, { authorization: `Bearer ${session.token}` }), "connection_ack");
      });

      it("runs operations as the user of the token", T, async () => {
        const client = server.wsClient(user.token);
        const result = await wsResult(client, `{ me { id email } }`);
        assert.deepEqual(result.data, { me: { id: user.id, email: user.email } });
      });
    });

    describe("queries and mutations over the socket answer as over HTTP", () => {
      let client: Client;
      before(() => {
        client = server.wsClient(user.token);
      });

      it("answers { me { id email } } as HTTP does", T, async () => {
        const viaHttp = await server.gql(`{ me { id email } }`, {}, user.token);
        const viaWs = await wsResult(client, `{ me { id email } }`);
        assert.deepEqual(viaHttp.body.data, { me: { id: user.id, email: user.email } });
        assert.deepEqual(viaWs, viaHttp.body);
      });

      it("reports a domain error (register as ADMIN: FORBIDDEN) with the same extensions as HTTP", T, async () => {
        const query = `mutation($input: RegisterInput!) { register(input: $input) { accessToken } }`;
        const input = (n: string) => ({
          input: { email: `admin-${n}@example.test`, password: "correct horse battery staple", displayName: "x", role: "ADMIN" },
        });
        const viaHttp = await server.gql(query, input("http"), user.token);
        const viaWs = await wsResult(client, query, input("ws"));
        assert.deepEqual(codes(viaWs.errors), ["FORBIDDEN"]);
        assert.deepEqual(viaWs, viaHttp.body);
      });

      it("masks an unexpected error the same way as HTTP", T, async () => {
        const users = server.app.services.users;
        const original = users.me;
        users.me = async () => {
          throw new Error("connection to 10.0.0.7 refused: password authentication failed for user app");
        };
        try {
          const viaHttp = await server.gql(`{ me { id } }`, {}, user.token);
          const viaWs = await wsResult(client, `{ me { id } }`);
          for (const body of [viaHttp.body, viaWs]) {
            assert.equal(body.errors?.length, 1);
            const [error] = body.errors!;
            assert.deepEqual({ message: error.message, code: error.extensions?.code }, { message: "Internal server error", code: "INTERNAL_SERVER_ERROR" });
            assert.match(String(error.extensions?.requestId), /^[0-9a-f-]{36}$/);
            assert.doesNotMatch(JSON.stringify(body), /10\.0\.0\.7|password|stack/i);
          }
          const withoutId = (body: typeof viaWs) => ({
            ...body,
            errors: body.errors?.map((e) => ({ ...e, extensions: { ...e.extensions, requestId: "<id>" } })),
          });
          assert.deepEqual(withoutId(viaWs), withoutId(viaHttp.body as typeof viaWs));
        } finally {
          users.me = original;
        }
      });

      it("masks an unexpected error of a subscription's source", T, async () => {
        const users = server.app.services.users;
        const original = users.watchProfile;
        users.watchProfile = async () => {
          throw new Error("redis at 10.0.0.8 said NOAUTH");
        };
        try {
          const result = await watch(client, PROFILE).next();
          assert.deepEqual(codes(result.errors), ["INTERNAL_SERVER_ERROR"]);
          assert.equal(result.errors![0].message, "Internal server error");
          assert.doesNotMatch(JSON.stringify(result), /10\.0\.0\.8|NOAUTH/);
        } finally {
          users.watchProfile = original;
        }
      });
    });

    describe("limits apply on the socket as on HTTP", () => {
      let client: Client;
      before(() => {
        client = server.wsClient(user.token);
      });

      /** The errors of `query` over the socket (an `error` message), checked equal to HTTP's. */
      async function refusedLikeHttp(query: string, variables?: Record<string, unknown>) {
        const viaHttp = await server.gql(query, variables, user.token);
        const viaWs = await wsRejected(client, query, variables);
        assert.equal(viaHttp.body.data, undefined);
        assert.deepEqual(viaWs, viaHttp.body.errors);
        return viaWs;
      }

      it("refuses a depth bomb: GRAPHQL_VALIDATION_FAILED", T, async () => {
        const query = `{ me { id ${"a { ".repeat(12)}b${" }".repeat(12)} } }`;
        const errors = await refusedLikeHttp(query);
        assert.ok(errors.every((e) => e.extensions?.code === "GRAPHQL_VALIDATION_FAILED"));
        assert.ok(
          errors.some((e) => /depth \d+ exceeds the limit of 10/.test(e.message)),
          JSON.stringify(errors),
        );
      });

      it("refuses an alias bomb: GRAPHQL_VALIDATION_FAILED", T, async () => {
        const query = `{ ${Array.from({ length: 100 }, (_, i) => `a${i}: me { id }`).join(" ")} }`;
        const errors = await refusedLikeHttp(query);
        assert.deepEqual(codes(errors), ["GRAPHQL_VALIDATION_FAILED"]);
        assert.match(errors[0].message, /100 aliases/);
      });

      it("refuses 10 000 fields (token limit): GRAPHQL_VALIDATION_FAILED", T, async () => {
        const errors = await refusedLikeHttp(`{ me { ${"id ".repeat(10_000)}} }`);
        assert.deepEqual(codes(errors), ["GRAPHQL_VALIDATION_FAILED"]);
        assert.match(errors[0].message, /2000 tokens/);
      });

      it("refuses an operation over the cost limit: GRAPHQL_VALIDATION_FAILED", T, async () => {
        // 10 × 10 × 10 × 10 ids through fragments: few tokens, no aliases, depth 2, cost 10 001.
        const spread = (name: string) => `...${name} `.repeat(10);
        const query = `{ me { ...D } }
          fragment A on User { ${"id ".repeat(10)}}
          fragment B on User { ${spread("A")}}
          fragment C on User { ${spread("B")}}
          fragment D on User { ${spread("C")}}`;
        const errors = await refusedLikeHttp(query);
        assert.deepEqual(codes(errors), ["GRAPHQL_VALIDATION_FAILED"]);
        assert.match(errors[0].message, /cost 10001 exceeds the limit of 5000/);
      });

      it("refuses a document that does not parse: GRAPHQL_PARSE_FAILED", T, async () => {
        const errors = await refusedLikeHttp(`{ me { id `);
        assert.deepEqual(codes(errors), ["GRAPHQL_PARSE_FAILED"]);
      });

      it("answers variables of the wrong type with BAD_USER_INPUT", T, async () => {
        const query = `query($id: ID!) { user(id: $id) { id } }`;
        const viaHttp = await server.gql(query, { id: { not: "an id" } }, user.token);
        const viaWs = await wsResult(client, query, { id: { not: "an id" } });
        assert.deepEqual(codes(viaWs.errors), ["BAD_USER_INPUT"]);
        assert.equal(viaWs.data, undefined);
        assert.deepEqual(viaWs, viaHttp.body);
      });

      it("answers a missing required variable with BAD_USER_INPUT", T, async () => {
        const query = `query($id: ID!) { user(id: $id) { id } }`;
        const viaHttp = await server.gql(query, {}, user.token);
        const viaWs = await wsResult(client, query, {});
        assert.deepEqual(codes(viaWs.errors), ["BAD_USER_INPUT"]);
        assert.deepEqual(viaWs, viaHttp.body);
      });

      it("allows introspection when INTROSPECTION is on (the default)", T, async () => {
        const result = await wsResult(client, `{ __schema { queryType { name } } }`);
        assert.deepEqual(result.data, { __schema: { queryType: { name: "Query" } } });
      });
    });

    describe("subscriptions per socket", () => {
      it("runs 50 subscriptions, refuses the 51st with BAD_REQUEST and keeps the socket and the 50 alive", T, async () => {
        const client = server.wsClient(user.token);
        const subs = Array.from({ length: 50 }, () => watch(client, PROFILE));
        for (const sub of subs) assert.equal((await sub.next()).data?.myProfile.id, user.id);
        const extra = await watch(client, PROFILE).event();
        assert.ok("error" in extra && Array.isArray(extra.error), `expected an error message, got ${describeEvent(extra)}`);
        assert.deepEqual(codes(extra.error as GraphQLFormattedError[]), ["BAD_REQUEST"]);
        // Queries and mutations are not subscriptions: they still run on the full socket.
        const queries = Array.from({ length: 60 }, () => watch(client, `{ me { id } }`));
        for (const query of queries) assert.equal((await query.next()).data?.me.id, user.id);
        await updateDisplayName(server, user.token, "fifty");
        for (const sub of subs) assert.equal((await sub.next()).data?.myProfile.displayName, "fifty");
        for (const sub of subs) sub.stop();
      });

      it("frees a subscription's slot as soon as the client completes it", T, async () => {
        const client = server.wsClient(user.token);
        const subs = Array.from({ length: 50 }, () => watch(client, PROFILE));
        for (const sub of subs) await sub.next();
        subs[0].stop();
        const replacement = watch(client, PROFILE);
        assert.equal((await replacement.next()).data?.myProfile.id, user.id);
        for (const sub of [...subs, replacement]) sub.stop();
      });
    });

    describe("protocol abuse", () => {
      it("closes 1009 on a frame over 1 MiB", T, async () => {
        const socket = await ackedSocket(server, { authorization: `Bearer ${user.token}` });
        socket.send(JSON.stringify({ type: "ping", payload: { pad: "x".repeat(1024 * 1024) } }));
        assert.equal(await socket.closeCode(), 1009);
      });

      it("accepts a frame of exactly 1 MiB", T, async () => {
        const socket = await ackedSocket(server, { authorization: `Bearer ${user.token}` });
        const frame = JSON.stringify({ type: "ping", payload: { pad: "" } });
        socket.send(JSON.stringify({ type: "ping", payload: { pad: "x".repeat(1024 * 1024 - frame.length) } }));
        assert.equal((await socket.next()).type, "pong");
      });

      it("closes 4429 on a second connection_init", T, async () => {
        const socket = await ackedSocket(server, { authorization: `Bearer ${user.token}` });
        socket.send({ type: "connection_init", payload: { authorization: `Bearer ${user.token}` } });
        assert.equal(await socket.closeCode(), 4429);
      });

      it("closes 4401 on subscribe before connection_ack", T, async () => {
        const socket = await rawSocket(server);
        socket.send({ id: "1", type: "subscribe", payload: { query: `{ me { id } }` } });
        assert.equal(await socket.closeCode(), 4401);
      });

      it("closes 4409 on a duplicate operation id", T, async () => {
        const socket = await ackedSocket(server, { authorization: `Bearer ${user.token}` });
        socket.send({ id: "dup", type: "subscribe", payload: { query: PROFILE } });
        assert.equal((await socket.next()).type, "next");
        socket.send({ id: "dup", type: "subscribe", payload: { query: PROFILE } });
        assert.equal(await socket.closeCode(), 4409);
      });

      it("closes 4400 on a frame that is not JSON", T, async () => {
        const socket = await ackedSocket(server, { authorization: `Bearer ${user.token}` });
        socket.send("this is { not json");
        assert.equal(await socket.closeCode(), 4400);
      });

      it("closes 4400 on a message of an unknown shape", T, async () => {
        const socket = await ackedSocket(server, { authorization: `Bearer ${user.token}` });
        socket.send({ type: "subscribe", payload: { query: 42 } });
        assert.equal(await socket.closeCode(), 4400);
      });

      it("closes 4406 when no subprotocol is offered", T, async () => {
        const socket = await rawSocket(server, { protocol: null });
        assert.equal(await socket.closeCode(), 4406);
      });

      it("selects no subprotocol and closes 4406 when only a wrong one is offered", T, async () => {
        assert.deepEqual(await upgradeWithProtocol(server, "graphql-ws"), { selected: undefined, code: 4406 });
      });
    });

    describe("myProfile", () => {
      it("sends the current profile first", T, async () => {
        const me = await server.gql(`{ me { id displayName createdAt } }`, {}, user.token);
        const client = server.wsClient(user.token);
        const sub = watch(client, PROFILE);
        assert.deepEqual(await sub.next(), { data: { myProfile: me.body.data.me } });
        sub.stop();
      });

      it("sends an update made over HTTP as the next frame", T, async () => {
        const someone = await registerUser(server);
        const sub = watch(server.wsClient(someone.token), PROFILE);
        const first = await sub.next();
        await updateDisplayName(server, someone.token, "renamed over http");
        assert.deepEqual(await sub.next(), {
          data: { myProfile: { ...first.data!.myProfile, displayName: "renamed over http" } },
        });
        sub.stop();
      });

      it("delivers nothing more to a subscription the client completed", T, async () => {
        const someone = await registerUser(server);
        const socket = await ackedSocket(server, { authorization: `Bearer ${someone.token}` });
        socket.send({ id: "completed", type: "subscribe", payload: { query: PROFILE } });
        socket.send({ id: "open", type: "subscribe", payload: { query: PROFILE } });
        const frames: any[] = [await socket.next(), await socket.next()];
        socket.send({ id: "completed", type: "complete" });
        // A round trip on the same socket after the complete, before any change is made.
        socket.send({ id: "q", type: "subscribe", payload: { query: `{ me { id } }` } });
        const untilComplete = async (id: string) => {
          for (let frame = await socket.next(); ; frame = await socket.next()) {
            frames.push(frame);
            if (frame.id === id && frame.type === "complete") return;
          }
        };
        await untilComplete("q");
        // Two changes, each awaited on the open subscription: a frame of the completed one
        // for the first change would be on the socket before the open one's second frame.
        for (const name of ["first after complete", "second after complete"]) {
          await updateDisplayName(server, someone.token, name);
          let frame;
          do frames.push((frame = await socket.next()));
          while (!(frame.id === "open" && frame.type === "next"));
          assert.equal(frame.payload.data.myProfile.displayName, name);
        }
        const completedFrames = frames.filter((f) => f.id === "completed");
        assert.deepEqual(
          completedFrames.map((f) => f.type),
          ["next"],
        ); // the first profile only
      });

      it("sends each of several quick changes, in order", T, async () => {
        const someone = await registerUser(server);
        const sub = watch(server.wsClient(someone.token), PROFILE);
        await sub.next();
        const names = ["one", "two", "three", "four", "five"];
        for (const name of names) await updateDisplayName(server, someone.token, name);
        const received = [];
        for (const _ of names) received.push((await sub.next()).data?.myProfile.displayName);
        assert.deepEqual(received, names);
        sub.stop();
      });
    });

    describe("token expiry on an open socket", () => {
      let short: TestServer;
      before(async () => {
        short = await startTestServer(backend, { env: { ACCESS_TOKEN_TTL: "2", JWT_CLOCK_TOLERANCE_SECONDS: "0" } });
      });
      after(() => short?.stop());

      it("closes 4401 when the access token expires", T, async () => {
        const someone = await registerUser(short);
        const { exp } = jwt.decode(someone.token) as jwt.JwtPayload;
        const client = short.wsClient(someone.token);
        const closed = nextClose(client);
        const sub = watch(client, PROFILE);
        assert.equal((await sub.next()).data?.myProfile.id, someone.id);
        const { code } = await closed;
        const closedAt = Date.now();
        assert.equal(code, 4401);
        assert.ok(closedAt >= exp! * 1000 - 50, `closed ${exp! * 1000 - closedAt} ms before the token expired`);
        assert.ok(closedAt <= exp! * 1000 + 2000, `closed ${closedAt - exp! * 1000} ms after the token expired`);
        const ended = await sub.event();
        assert.ok("error" in ended && (ended.error as { code?: number }).code === 4401, describeEvent(ended));
      });
    });

    describe("keepalive", () => {
      let pinging: TestServer;
      before(async () => {
        pinging = await startTestServer(backend, { env: { WS_KEEPALIVE_MS: "1000" } });
      });
      after(() => pinging?.stop());

      it("pings every WS_KEEPALIVE_MS, keeps a socket that answers and drops one that does not", T, async () => {
        const someone = await registerUser(pinging);
        const open = (autoPong: boolean) =>
          new Promise<WebSocket>((resolve, reject) => {
            const ws = new WebSocket(pinging.wsUrl, ["graphql-transport-ws"], { autoPong });
            ws.once("open", () => resolve(ws));
            ws.once("error", reject);
          });
        const [answering, silent] = await Promise.all([open(true), open(false)]);
        for (const ws of [answering, silent]) ws.send(JSON.stringify({ type: "connection_init", payload: { authorization: `Bearer ${someone.token}` } }));
        const silentClosed = new Promise<number>((resolve) => silent.once("close", resolve));
        let pings = 0;
        const thirdPing = new Promise<void>((resolve) => answering.on("ping", () => ++pings === 3 && resolve()));
        // The silent socket is pinged once and dropped at the next round, without a close frame.
        assert.equal(await silentClosed, 1006);
        await thirdPing;
        assert.equal(answering.readyState, WebSocket.OPEN);
        answering.close();
      });
    });

    describe("with INTROSPECTION=false", () => {
      let closed: TestServer;
      let token: string;
      before(async () => {
        closed = await startTestServer(backend, { env: { INTROSPECTION: "false" } });
        token = (await registerUser(closed)).token;
      });
      after(() => closed?.stop());

      it("refuses an introspection query on the socket as over HTTP", T, async () => {
        const query = `{ __schema { queryType { name } } }`;
        const viaHttp = await closed.gql(query, {}, token);
        const viaWs = await wsRejected(closed.wsClient(token), query);
        // Same policy and code; the wording differs (Apollo's rule over HTTP, graphql-js's
        // NoSchemaIntrospectionCustomRule on the socket, which names each field).
        assert.equal(viaHttp.body.data, undefined);
        for (const errors of [viaHttp.body.errors!, viaWs]) {
          assert.ok(errors.length > 0);
          for (const error of errors) {
            assert.equal(error.extensions?.code, "GRAPHQL_VALIDATION_FAILED");
            assert.match(error.message, /introspection/i);
          }
        }
      });

      it("gives no field suggestions on the socket", T, async () => {
        const errors = await wsRejected(closed.wsClient(token), `{ me { displayNam } }`);
        assert.deepEqual(codes(errors), ["GRAPHQL_VALIDATION_FAILED"]);
        assert.doesNotMatch(errors[0].message, /Did you mean|displayName/);
      });
    });

    describe("with CONNECTION_INIT_WAIT_MS=300", () => {
      let waiting: TestServer;
      before(async () => {
        waiting = await startTestServer(backend, { env: { CONNECTION_INIT_WAIT_MS: "300" } });
      });
      after(() => waiting?.stop());

      it("closes 4408 when no connection_init arrives in time", T, async () => {
        const started = Date.now();
        const socket = await rawSocket(waiting);
        assert.equal(await socket.closeCode(), 4408);
        const elapsed = Date.now() - started;
        assert.ok(elapsed >= 250 && elapsed < 2500, `closed after ${elapsed} ms`);
      });
    });

    describe("graceful shutdown", () => {
      let stopping: TestServer;
      before(async () => {
        stopping = await startTestServer(backend);
      });
      after(() => stopping?.stop());

      it("closes open sockets with 1001 on stop()", T, async () => {
        const someone = await registerUser(stopping);
        const client = stopping.wsClient(someone.token);
        const sub = watch(client, PROFILE);
        await sub.next();
        const raw = await ackedSocket(stopping, { authorization: `Bearer ${someone.token}` });
        const clientClosed = nextClose(client);
        await stopping.app.stop();
        assert.equal((await clientClosed).code, 1001);
        assert.equal(await raw.closeCode(), 1001);
      });
    });
  });
}

function now(): number {
  return Math.floor(Date.now() / 1000);
}
