import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { after, before, describe, it } from "node:test";
import { backends } from "../support/backends";
import { capturedLogger } from "../support/logs";
import { registerUser, startTestServer, type TestServer } from "../support/test-server";

// ---------------------------------------------------------------------------------------
// Helpers. Every response of this file goes through `request`, which asserts that no body
// reveals internals (stack frames, file paths, driver messages).

interface HttpResult {
  status: number;
  headers: Headers;
  text: string;
  /** The parsed body when the response is JSON. */
  body: any;
}

function assertNoInternals(text: string): void {
  assert.doesNotMatch(text, /\bat \S+ \(|\n\s+at /, "a stack frame");
  assert.doesNotMatch(text, /stack ?trace/i, "a stacktrace field");
  assert.doesNotMatch(text, /\/src\/|\/dist\/|node_modules|\.[jt]s:\d+/, "a file path");
  assert.doesNotMatch(text, /TypeORM|QueryFailed|Driver not|ECONNREFUSED|PGlite/i, "an internal message");
}

async function request(url: string, init: RequestInit = {}): Promise<HttpResult> {
  const res = await fetch(url, init);
  const text = await res.text();
  assertNoInternals(text);
  const body = /json/.test(res.headers.get("content-type") ?? "") ? JSON.parse(text) : undefined;
  return { status: res.status, headers: res.headers, text, body };
}

const JSON_TYPE = { "content-type": "application/json" };

/** POST /graphql; `body` is sent as is when it is a string, else as JSON. */
function post(server: TestServer, body: unknown, headers: Record<string, string> = JSON_TYPE): Promise<HttpResult> {
  return request(server.graphqlUrl, {
    method: "POST",
    headers,
    body: typeof body === "string" ? body : JSON.stringify(body),
  });
}

/** GET /graphql?params, with Apollo's preflight header unless told otherwise. */
function get(server: TestServer, params: Record<string, string>, headers: Record<string, string> = { "apollo-require-preflight": "true" }) {
  return request(`${server.graphqlUrl}?${new URLSearchParams(params)}`, { headers });
}

/** Asserts a JSON error response: `status`, exactly one error with `code` (and `message`), no data. */
function assertHttpError(res: HttpResult, status: number, code: string, message?: string | RegExp) {
  assert.equal(res.status, status, res.text);
  assert.match(res.headers.get("content-type") ?? "", /^application\/json/);
  assert.equal(res.body.errors?.length, 1, res.text);
  const [error] = res.body.errors;
  assert.equal(error.extensions?.code, code, res.text);
  if (typeof message === "string") assert.equal(error.message, message);
  else if (message) assert.match(error.message, message);
  assert.equal(res.body.data ?? null, null, res.text);
  return error;
}

/** Asserts a 400 whose errors are all GRAPHQL_VALIDATION_FAILED, one of them with `message`. */
function assertValidationFailed(res: HttpResult, message: string | RegExp) {
  assert.equal(res.status, 400, res.text);
  assert.equal(res.body.data, undefined, res.text);
  assert.ok(res.body.errors?.length >= 1, res.text);
  for (const error of res.body.errors) assert.equal(error.extensions?.code, "GRAPHQL_VALIDATION_FAILED", res.text);
  const messages: string[] = res.body.errors.map((e: { message: string }) => e.message);
  assert.ok(
    messages.some((m) => (typeof message === "string" ? m === message : message.test(m))),
    `no error ${message} in ${JSON.stringify(messages)}`,
  );
}

const REGISTER = `mutation($input: RegisterInput!) { register(input: $input) { accessToken user { id } } }`;
const uniqueEmail = (prefix = "user") => `${prefix}-${randomBytes(4).toString("hex")}@example.test`;
const registerInput = (extra: Record<string, unknown> = {}) => ({
  email: uniqueEmail(),
  password: "correct horse battery staple",
  displayName: "Someone",
  role: "STUDENT",
  ...extra,
});

/** Asserts `email` is free: a clean registration with it succeeds (so nothing was stored before). */
async function assertEmailFree(server: TestServer, email: string): Promise<void> {
  const res = await post(server, { query: REGISTER, variables: { input: registerInput({ email }) } });
  assert.equal(res.status, 200, res.text);
  assert.ok(res.body.data?.register.user.id, res.text);
}

async function countUsers(server: TestServer): Promise<number> {
  const [{ count }] = await server.app.db.query(`SELECT count(*)::int AS count FROM users`);
  return count;
}

const registerLiteral = (email: string, depthSelection = "accessToken") =>
  `mutation { register(input: { email: "${email}", password: "correct horse battery staple", displayName: "X", role: STUDENT }) { ${depthSelection} } }`;

// ---------------------------------------------------------------------------------------

for (const backend of backends) {
  describe(`HTTP hardening [${backend.name}]`, { skip: backend.skip }, () => {
    let server: TestServer;
    before(async () => {
      server = await startTestServer(backend);
    });
    after(() => server?.stop());

    describe("bad requests", () => {
      it("refuses a text/plain POST and a simple GET without a preflight header (CSRF) with 400, running nothing", async () => {
        const email = uniqueEmail("csrf");
        const csrf = /^This operation has been blocked as a potential Cross-Site Request Forgery \(CSRF\)/;
        const plain = await post(server, { query: registerLiteral(email) }, { "content-type": "text/plain" });
        assertHttpError(plain, 400, "BAD_REQUEST", csrf);
        const simpleGet = await get(server, { query: "{ __typename }" }, {});
        assertHttpError(simpleGet, 400, "BAD_REQUEST", csrf);
        await assertEmailFree(server, email);
      });

      it("answers a query over GET with a preflight header", async () => {
        const res = await get(server, { query: "{ __typename }" });
        assert.equal(res.status, 200, res.text);
        assert.deepEqual(res.body, { data: { __typename: "Query" } });
      });

      it("refuses a mutation over GET with 405, running nothing", async () => {
        const email = uniqueEmail("get-mutation");
        const res = await get(server, { query: registerLiteral(email) });
        assertHttpError(res, 405, "BAD_REQUEST", "GET requests only support query operations, not mutation operations");
        await assertEmailFree(server, email);
      });

      it("refuses a batched array body with 400", async () => {
        const res = await post(server, [{ query: "{ __typename }" }, { query: "{ __typename }" }]);
        assertHttpError(res, 400, "BAD_REQUEST", "Operation batching disabled.");
      });

      it("answers malformed JSON with 400 and a JSON error body", async () => {
        const res = await post(server, `{"query": "{ __typename }"`);
        assertHttpError(res, 400, "BAD_REQUEST", "The request body is not valid JSON.");
      });

      it("refuses `query` as a number with 400", async () => {
        const res = await post(server, { query: 42 });
        assertHttpError(res, 400, "BAD_REQUEST", "GraphQL queries must be strings.");
      });

      it("refuses an empty body with 400", async () => {
        const res = await post(server, {});
        assertHttpError(res, 400, "BAD_REQUEST", "POST body missing, invalid Content-Type, or JSON object has no keys.");
      });

      it("refuses `variables` that are not an object with 400", async () => {
        const res = await post(server, { query: "{ __typename }", variables: '{"a":1}' });
        assertHttpError(res, 400, "BAD_REQUEST", /^`variables` in a POST body should be provided as an object/);
      });

      it("refuses variables of the wrong type with 400 BAD_USER_INPUT", async () => {
        const res = await post(server, {
          query: `mutation($e: String!, $p: String!) { login(email: $e, password: $p) { accessToken } }`,
          variables: { e: 42, p: "password" },
        });
        assertHttpError(res, 400, "BAD_USER_INPUT", 'Variable "$e" got invalid value 42; String cannot represent a non string value: 42');
      });

      it("accepts a body of exactly 1 MiB and refuses one byte more with 413 PAYLOAD_TOO_LARGE and a JSON body", async () => {
        assert.equal(server.app.config.limits.maxHttpBodyBytes, 1_048_576);
        const bodyOf = (bytes: number) => {
          const head = `{"query":"{ __typename }","variables":{"pad":"`;
          const tail = `"}}`;
          return head + "a".repeat(bytes - head.length - tail.length) + tail;
        };
        const atLimit = await post(server, bodyOf(1_048_576));
        assert.equal(atLimit.status, 200, atLimit.text.slice(0, 300));
        assert.deepEqual(atLimit.body, { data: { __typename: "Query" } });
        const over = await post(server, bodyOf(1_048_577));
        assertHttpError(over, 413, "PAYLOAD_TOO_LARGE", "The request body is too large.");
      });

      it("echoes a well-formed x-request-id and replaces a malformed one", async () => {
        const given = await post(server, { query: "{ __typename }" }, { ...JSON_TYPE, "x-request-id": "client-chosen-id-42" });
        assert.equal(given.headers.get("x-request-id"), "client-chosen-id-42");
        const malformed = await post(server, { query: "{ __typename }" }, { ...JSON_TYPE, "x-request-id": "<script>" });
        assert.match(malformed.headers.get("x-request-id") ?? "", /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
      });
    });

    describe("documents", () => {
      it("answers a misspelled field with GRAPHQL_VALIDATION_FAILED and a suggestion while introspection is on", async () => {
        const res = await post(server, { query: "{ me { emial } }" });
        assertHttpError(res, 400, "GRAPHQL_VALIDATION_FAILED", 'Cannot query field "emial" on type "User". Did you mean "email"?');
      });

      it("refuses a depth bomb with GRAPHQL_VALIDATION_FAILED", async () => {
        // No field of today's schema nests deeper than 3 (register { user { id } }), so the bomb
        // is made of fields that do not exist; the depth rule still measures and reports it.
        const res = await post(server, { query: `{ ${"me { ".repeat(12)}id${" }".repeat(12)} }` });
        assertValidationFailed(res, "Query depth 13 exceeds the limit of 10.");
      });

      it("refuses an alias bomb (100 × login) with GRAPHQL_VALIDATION_FAILED, running none of them", async () => {
        const user = await registerUser(server);
        const aliases = Array.from({ length: 100 }, (_, i) => `a${i}: login(email: "${user.email}", password: "not the password") { accessToken }`).join(" ");
        const res = await post(server, { query: `mutation { ${aliases} }` });
        assertHttpError(res, 400, "GRAPHQL_VALIDATION_FAILED", "Query uses 100 aliases, which exceeds the limit of 15 per operation.");
        // Had they run, the 10-per-minute limit of this email would refuse this login.
        const login = await post(server, {
          query: `mutation($e: String!, $p: String!) { login(email: $e, password: $p) { user { id } } }`,
          variables: { e: user.email, p: user.password },
        });
        assert.deepEqual(login.body, { data: { login: { user: { id: user.id } } } });
      });

      it("refuses 10 000 repeated fields (token limit) with GRAPHQL_VALIDATION_FAILED", async () => {
        const res = await post(server, { query: `{ me { ${"id ".repeat(10_000)}} }` });
        // graphql-js spells it "more that N tokens".
        assertHttpError(res, 400, "GRAPHQL_VALIDATION_FAILED", /^Syntax Error: Document contains more th\w+ 2000 tokens\. Parsing aborted\.$/);
      });

      it("refuses a fragment cycle with GRAPHQL_VALIDATION_FAILED", async () => {
        const res = await post(server, { query: "{ me { ...A } } fragment A on User { ...B } fragment B on User { ...A }" });
        assertHttpError(res, 400, "GRAPHQL_VALIDATION_FAILED", 'Cannot spread fragment "A" within itself via "B".');
      });

      it("refuses a fragment bomb over the cost limit with GRAPHQL_VALIDATION_FAILED", async () => {
        // F4 spreads F3 ten times, and so on down to F0's 4 fields: 40 000 fields in ~300 tokens.
        let fragments = "fragment F0 on User { id displayName role createdAt }";
        for (let i = 1; i <= 4; i++) fragments += ` fragment F${i} on User { ${`...F${i - 1} `.repeat(10)}}`;
        const res = await post(server, { query: `{ me { ...F4 } } ${fragments}` });
        assertHttpError(res, 400, "GRAPHQL_VALIDATION_FAILED", /^Query cost \d+ exceeds the limit of 5000\./);
      });

      it("answers BAD_USER_INPUT for `first: 99999999` and `first: 101`, and serves `first: 100`", async () => {
        const { token } = await registerUser(server);
        for (const first of [99999999, 101]) {
          const res = await post(server, { query: `{ mySessions(first: ${first}) { totalCount } }` }, { ...JSON_TYPE, authorization: `Bearer ${token}` });
          assert.equal(res.body.errors?.[0]?.extensions?.code, "BAD_USER_INPUT", res.text);
          assert.equal(res.body.errors?.[0]?.message, "first must be between 0 and 100.");
        }
        const ok = await post(server, { query: "{ mySessions(first: 100) { totalCount } }" }, { ...JSON_TYPE, authorization: `Bearer ${token}` });
        assert.deepEqual(ok.body, { data: { mySessions: { totalCount: 0 } } });
      });
    });

    describe("malformed text and numbers", () => {
      const MALFORMED = "Text must not contain NUL characters or unpaired surrogates.";
      const cases: Array<[string, (email: string) => Record<string, unknown>]> = [
        ["NUL in the display name", () => ({ displayName: "Ann\u0000Lee" })],
        ["a lone high surrogate in the display name", () => ({ displayName: "Ann\ud800" })],
        ["a lone low surrogate in the email", (email) => ({ email: `\udc00${email}` })],
        ["NUL in the password", () => ({ password: "correct horse\u0000battery" })],
      ];
      for (const [name, malform] of cases) {
        it(`answers BAD_USER_INPUT (not a 500) for ${name} in register, storing nothing`, async () => {
          const before = await countUsers(server);
          const email = uniqueEmail("malformed");
          const res = await post(server, { query: REGISTER, variables: { input: registerInput({ email, ...malform(email) }) } });
          assertHttpError(res, 200, "BAD_USER_INPUT", MALFORMED);
          assert.equal(await countUsers(server), before);
          await assertEmailFree(server, email);
        });
      }

      it("answers BAD_USER_INPUT for NUL written as a string escape in the document", async () => {
        const email = uniqueEmail("literal-nul");
        const query = `mutation { register(input: { email: "${email}", password: "correct horse battery staple", displayName: "Ann\\u0000", role: STUDENT }) { accessToken } }`;
        assertHttpError(await post(server, { query }), 200, "BAD_USER_INPUT", MALFORMED);
        await assertEmailFree(server, email);
      });

      it("answers BAD_USER_INPUT (not a 500) for NUL in the login email", async () => {
        const res = await post(server, {
          query: `mutation($e: String!, $p: String!) { login(email: $e, password: $p) { accessToken } }`,
          variables: { e: "ann\u0000@example.test", p: "password" },
        });
        assertHttpError(res, 200, "BAD_USER_INPUT", MALFORMED);
      });

      it("answers BAD_USER_INPUT for Int 2^31 in a variable, and GRAPHQL_VALIDATION_FAILED for it in the document", async () => {
        const { token } = await registerUser(server);
        const auth = { ...JSON_TYPE, authorization: `Bearer ${token}` };
        const variable = await post(server, { query: "query($n: Int) { mySessions(first: $n) { totalCount } }", variables: { n: 2 ** 31 } }, auth);
        assertHttpError(variable, 400, "BAD_USER_INPUT", /Int cannot represent non 32-bit signed integer value: 2147483648/);
        const literal = await post(server, { query: `{ mySessions(first: ${2 ** 31}) { totalCount } }` }, auth);
        assertHttpError(literal, 400, "GRAPHQL_VALIDATION_FAILED", /Int cannot represent non 32-bit signed integer value: 2147483648/);
      });
    });

    it("keeps serving after all of the above", async () => {
      const res = await post(server, { query: "{ __typename }" });
      assert.deepEqual(res.body, { data: { __typename: "Query" } });
    });
  });

  describe(`HTTP hardening with INTROSPECTION=false [${backend.name}]`, { skip: backend.skip }, () => {
    let server: TestServer;
    before(async () => {
      server = await startTestServer(backend, { env: { INTROSPECTION: "false" } });
    });
    after(() => server?.stop());

    it("answers a misspelled field without a suggestion", async () => {
      const res = await post(server, { query: "{ me { emial } }" });
      assertHttpError(res, 400, "GRAPHQL_VALIDATION_FAILED", 'Cannot query field "emial" on type "User".');
    });

    it("answers a misspelled enum value without a suggestion, in a literal and in a variable", async () => {
      const literal = await post(server, { query: registerLiteral(uniqueEmail()).replace("role: STUDENT", "role: STUDNT") });
      assertHttpError(literal, 400, "GRAPHQL_VALIDATION_FAILED", 'Value "STUDNT" does not exist in "UserRole" enum.');
      const variable = await post(server, { query: REGISTER, variables: { input: registerInput({ role: "STUDNT" }) } });
      assertHttpError(
        variable,
        400,
        "BAD_USER_INPUT",
        'Variable "$input" got invalid value "STUDNT" at "input.role"; Value "STUDNT" does not exist in "UserRole" enum.',
      );
    });

    it("refuses introspection queries with GRAPHQL_VALIDATION_FAILED", async () => {
      for (const query of ["{ __schema { types { name } } }", '{ __type(name: "User") { fields { name } } }']) {
        const res = await post(server, { query });
        assertValidationFailed(res, /introspection/i);
        assert.doesNotMatch(res.text, /"User"|RegisterInput|displayName/);
      }
    });

    it("still answers __typename", async () => {
      assert.deepEqual((await post(server, { query: "{ __typename }" })).body, { data: { __typename: "Query" } });
    });
  });

  describe(`HTTP hardening with MAX_QUERY_DEPTH=2 [${backend.name}]`, { skip: backend.skip }, () => {
    let server: TestServer;
    before(async () => {
      server = await startTestServer(backend, { env: { MAX_QUERY_DEPTH: "2" } });
    });
    after(() => server?.stop());

    it("refuses a valid operation one level too deep, running nothing", async () => {
      const email = uniqueEmail("deep");
      const res = await post(server, { query: registerLiteral(email, "user { id }") });
      assertHttpError(res, 400, "GRAPHQL_VALIDATION_FAILED", "Query depth 3 exceeds the limit of 2.");
      const shallow = await post(server, { query: registerLiteral(email, "accessToken") });
      assert.equal(typeof shallow.body.data?.register.accessToken, "string", shallow.text);
    });
  });

  describe(`with the database stopped under the running server [${backend.name}]`, { skip: backend.skip }, () => {
    let server: TestServer;
    let token: string;
    const { logger, lines } = capturedLogger(); // where the masked errors are logged
    before(async () => {
      server = await startTestServer(backend, { logger });
      token = (await registerUser(server)).token;
      await server.app.db.destroy();
    });
    after(() => server?.stop());

    it("masks the failure as INTERNAL_SERVER_ERROR quoting the x-request-id header", async () => {
      const res = await request(server.graphqlUrl, {
        method: "POST",
        headers: { ...JSON_TYPE, authorization: `Bearer ${token}` },
        body: JSON.stringify({ query: "{ me { id } }" }),
      });
      assert.equal(res.status, 200, res.text);
      const requestId = res.headers.get("x-request-id");
      assert.match(requestId ?? "", /^[0-9a-f-]{36}$/);
      assert.deepEqual(res.body, {
        data: null,
        errors: [
          {
            message: "Internal server error",
            locations: [{ line: 1, column: 3 }],
            path: ["me"],
            extensions: { code: "INTERNAL_SERVER_ERROR", requestId },
          },
        ],
      });
    });

    it("masks a failing mutation the same way, with the client's request id", async () => {
      const res = await post(server, { query: REGISTER, variables: { input: registerInput() } }, { ...JSON_TYPE, "x-request-id": "trace-me-12345" });
      assert.equal(res.headers.get("x-request-id"), "trace-me-12345");
      const error = assertHttpError(res, 200, "INTERNAL_SERVER_ERROR", "Internal server error");
      assert.deepEqual(error.extensions, { code: "INTERNAL_SERVER_ERROR", requestId: "trace-me-12345" });
      // The operator finds the cause from the id the user reports: the request's log line carries it.
      const logged = lines.filter((l) => l.requestId === "trace-me-12345");
      assert.ok(logged.length > 0, JSON.stringify(lines));
      assert.ok(
        logged.every((l) => l.msg === "unexpected error" && l.level === 50 && typeof l.err?.message === "string"),
        JSON.stringify(logged),
      );
    });

    it("answers /readyz with 503", async () => {
      const res = await request(`${server.url}/readyz`);
      assert.equal(res.status, 503);
      assert.deepEqual(res.body, { status: "unavailable" });
    });

    it("answers /healthz with 200 and the database down", async () => {
      const res = await request(`${server.url}/healthz`);
      assert.equal(res.status, 200);
      assert.deepEqual(res.body, { status: "ok", database: "down", redis: backend.name === "real" ? "up" : "disabled" });
    });
  });
}
