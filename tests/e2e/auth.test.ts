import assert from "node:assert/strict";
import { randomBytes, randomUUID } from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { after, before, describe, it } from "node:test";
import jwt from "jsonwebtoken";
import { UserRole } from "../../src/entities/user.entity";
import { backends, type Backend } from "../support/backends";
import { registerUser, startTestServer, TEST_SECRET, type GraphQLResponse, type TestServer } from "../support/test-server";
import { runNode, type NodeRun } from "../support/node-process";

// ---------------------------------------------------------------------------------------
// Helpers

const REGISTER = `mutation($input: RegisterInput!) { register(input: $input) { accessToken user { id email role } } }`;
const LOGIN = `mutation($e: String!, $p: String!) { login(email: $e, password: $p) { accessToken user { id role } } }`;
const PASSWORD = "correct horse battery staple";
const WRONG_CREDENTIALS = "Wrong email or password.";
const TOKEN_INVALID = "The token is not valid.";
const TOKEN_EXPIRED = "The token has expired; sign in again.";
const BAD_HEADER = "Use `Authorization: Bearer <token>`.";

type Registered = Awaited<ReturnType<typeof registerUser>>;

const uniqueEmail = (prefix = "user") => `${prefix}-${randomBytes(4).toString("hex")}@example.test`;

function register(server: TestServer, input: Record<string, unknown> = {}): Promise<GraphQLResponse> {
  return server.gql(REGISTER, {
    input: { email: uniqueEmail(), password: PASSWORD, displayName: "Someone", role: "STUDENT", ...input },
  });
}

function login(server: TestServer, email: string, password: string): Promise<GraphQLResponse> {
  return server.gql(LOGIN, { e: email, p: password });
}

/** POST with a raw Authorization header (server.gql always sends `Bearer <token>`). */
async function postWithAuthorization(server: TestServer, authorization: string, query: string, variables?: Record<string, unknown>): Promise<GraphQLResponse> {
  const res = await fetch(server.graphqlUrl, {
    method: "POST",
    headers: { "content-type": "application/json", authorization },
    body: JSON.stringify({ query, variables }),
  });
  const text = await res.text();
  return { status: res.status, headers: res.headers, body: JSON.parse(text), text };
}

/** Asserts the response failed with exactly one error of `code` (and `message`), no data; answers the error. */
function assertError(res: GraphQLResponse, code: string, message?: string) {
  assert.equal(res.body.errors?.length, 1, res.text);
  const [error] = res.body.errors!;
  assert.equal(error.extensions?.code, code, res.text);
  if (message !== undefined) assert.equal(error.message, message);
  assert.equal(res.body.data ?? null, null, res.text);
  return error;
}

/** Asserts `{ me { id } }` with this Authorization header answers UNAUTHENTICATED with `message`. */
async function assertMeRefused(server: TestServer, authorization: string, message: string): Promise<void> {
  const res = await postWithAuthorization(server, authorization, `{ me { id } }`);
  assert.equal(res.status, 200, res.text);
  assertError(res, "UNAUTHENTICATED", message);
}

const now = () => Math.floor(Date.now() / 1000);

/** Claims of a valid access token for `userId` on `server` (the defect under test is added on top). */
function accessClaims(server: TestServer, userId: string): Record<string, unknown> {
  return {
    typ: "access",
    role: "STUDENT",
    sub: userId,
    iss: server.app.config.jwtIssuer,
    aud: server.app.config.jwtAudience,
    iat: now(),
    exp: now() + 600,
  };
}

function forge(claims: Record<string, unknown>, key = TEST_SECRET, algorithm: jwt.Algorithm = "HS256"): string {
  return jwt.sign(claims, key, { algorithm });
}

/** An unsigned token (`alg: none`), built by hand since jsonwebtoken refuses to make one with a key. */
function unsigned(claims: Record<string, unknown>): string {
  const part = (value: object) => Buffer.from(JSON.stringify(value)).toString("base64url");
  return `${part({ alg: "none", typ: "JWT" })}.${part(claims)}.`;
}

const ADMIN_CLI = path.join(__dirname, "../../src/cli/admin.js");

/** `npm run admin -- <args>` without the build step: node dist/src/cli/admin.js. */
function runAdminCli(args: string[], env: Record<string, string>): Promise<NodeRun> {
  return runNode([ADMIN_CLI, ...args], { env });
}

/** Test servers started inside a describe, stopped by its `after`. */
function serverPool() {
  const started: TestServer[] = [];
  return {
    async start(backend: Backend, options?: Parameters<typeof startTestServer>[1]): Promise<TestServer> {
      const server = await startTestServer(backend, options);
      started.push(server);
      return server;
    },
    stopAll: () => Promise.all(started.map((s) => s.stop())),
  };
}

// ---------------------------------------------------------------------------------------

for (const backend of backends) {
  describe(`users and sign-in [${backend.name}]`, { skip: backend.skip }, () => {
    let server: TestServer;
    before(async () => {
      server = await startTestServer(backend);
    });
    after(() => server?.stop());

    it("registers, logs in, refreshes and answers me", async () => {
      const tutor = await registerUser(server, "TUTOR", "ann");
      const login = await server.gql(`mutation($e: String!, $p: String!) { login(email: $e, password: $p) { accessToken expiresAt user { id } } }`, {
        e: tutor.email.toUpperCase(),
        p: tutor.password,
      });
      assert.equal(login.body.data.login.user.id, tutor.id);
      const token = login.body.data.login.accessToken;
      const me = await server.gql(`{ me { id email displayName role } }`, {}, token);
      assert.deepEqual(me.body.data.me, { id: tutor.id, email: tutor.email, displayName: "ann", role: "TUTOR" });
      const refreshed = await server.gql(`mutation { refreshAccessToken { accessToken expiresAt user { id } } }`, {}, token);
      assert.equal(refreshed.body.data.refreshAccessToken.user.id, tutor.id);
      const again = await server.gql(`{ me { id } }`, {}, refreshed.body.data.refreshAccessToken.accessToken);
      assert.equal(again.body.data.me.id, tutor.id);
    });

    it("hides another user's email, and answers null for an unknown user", async () => {
      const a = await registerUser(server, "STUDENT");
      const b = await registerUser(server, "STUDENT");
      const res = await server.gql(`query($id: ID!) { user(id: $id) { id email displayName } }`, { id: b.id }, a.token);
      assert.deepEqual(res.body.data.user, { id: b.id, email: null, displayName: b.email.split("@")[0] });
      const unknown = await server.gql(`{ user(id: "00000000-0000-4000-8000-000000000000") { id } }`, {}, a.token);
      assert.equal(unknown.body.data.user, null);
    });

    it("shows the user their own email in the register and login payloads", async () => {
      const email = uniqueEmail("own-email");
      const registered = await register(server, { email });
      assert.equal(registered.body.data?.register.user.email, email, registered.text);
      const loggedIn = await server.gql(`mutation($e: String!, $p: String!) { login(email: $e, password: $p) { user { email } } }`, {
        e: email,
        p: PASSWORD,
      });
      assert.deepEqual(loggedIn.body.data, { login: { user: { email } } });
    });

    it("answers CONFLICT for an email already taken, whatever its case and padding", async () => {
      const local = `dup-${randomBytes(4).toString("hex")}`;
      const first = await register(server, { email: `${local}@Example.test` });
      assert.equal(first.body.data.register.user.email, `${local}@example.test`);
      const again = await register(server, { email: `  ${local.toUpperCase()}@EXAMPLE.TEST ` });
      assertError(again, "CONFLICT", "An account with this email already exists.");
    });

    it("refuses to register an ADMIN with FORBIDDEN and stores nothing", async () => {
      const email = uniqueEmail("would-be-admin");
      const res = await register(server, { email, role: "ADMIN" });
      assertError(res, "FORBIDDEN");
      assertError(await login(server, email, PASSWORD), "UNAUTHENTICATED", WRONG_CREDENTIALS);
      // The email is still free: a STUDENT can take it.
      const student = await register(server, { email, role: "STUDENT" });
      assert.equal(student.body.data?.register.user.role, "STUDENT", student.text);
    });

    it("answers BAD_USER_INPUT for a malformed email", async () => {
      for (const email of ["not-an-email", "a@b", "two words@example.test", ""]) {
        const error = assertError(await register(server, { email }), "BAD_USER_INPUT", "Enter a valid email address.");
        assert.equal(error.extensions?.field, "email");
      }
    });

    it("answers BAD_USER_INPUT for a password under 8 characters and stores nothing", async () => {
      const email = uniqueEmail("short-password");
      const error = assertError(await register(server, { email, password: "1234567" }), "BAD_USER_INPUT", "Password must be 8 to 256 characters.");
      assert.equal(error.extensions?.field, "password");
      assert.ok((await register(server, { email })).body.data, "the email is still free");
    });

    it("answers BAD_USER_INPUT for an empty or blank display name and stores nothing", async () => {
      const email = uniqueEmail("no-name");
      for (const displayName of ["", "   "]) {
        const error = assertError(await register(server, { email, displayName }), "BAD_USER_INPUT", "Display name must be 1 to 100 characters.");
        assert.equal(error.extensions?.field, "displayName");
      }
      assert.ok((await register(server, { email })).body.data, "the email is still free");
    });

    it("answers a wrong password and an unknown email with the same UNAUTHENTICATED error", async () => {
      const user = await registerUser(server);
      const wrongPassword = assertError(await login(server, user.email, "not the password"), "UNAUTHENTICATED", WRONG_CREDENTIALS);
      const unknownEmail = assertError(await login(server, uniqueEmail("nobody"), user.password), "UNAUTHENTICATED", WRONG_CREDENTIALS);
      assert.deepEqual(unknownEmail.extensions, wrongPassword.extensions);
    });

    it("never answers the password hash, whichever User fields are asked", async () => {
      const introspection = await server.gql(`{ __type(name: "User") { fields { name type { kind ofType { kind ofType { kind ofType { kind } } } } } } }`);
      const fields: Array<{ name: string; type: { kind: string; ofType: unknown } }> = introspection.body.data.__type.fields;
      assert.deepEqual(
        fields.filter((f) => /pass|hash|secret/i.test(f.name)),
        [],
      );
      const leafKind = (type: any): string => (type.kind === "NON_NULL" || type.kind === "LIST" ? leafKind(type.ofType) : type.kind);
      const every = fields
        .filter((f) => ["SCALAR", "ENUM"].includes(leafKind(f.type)))
        .map((f) => f.name)
        .join(" ");
      assert.match(every, /\bemail\b/);

      const email = uniqueEmail("hash");
      const registered = await server.gql(`mutation($input: RegisterInput!) { register(input: $input) { accessToken user { ${every} } } }`, {
        input: { email, password: PASSWORD, displayName: "Hash", role: "TUTOR" },
      });
      const token = registered.body.data.register.accessToken;
      const id = registered.body.data.register.user.id;
      const texts = [
        registered.text,
        (await server.gql(`mutation($e: String!, $p: String!) { login(email: $e, password: $p) { user { ${every} } } }`, { e: email, p: PASSWORD })).text,
        (await server.gql(`{ me { ${every} } }`, {}, token)).text,
        (await server.gql(`query($id: ID!) { user(id: $id) { ${every} } }`, { id }, token)).text,
        (await server.gql(`mutation { refreshAccessToken { user { ${every} } } }`, {}, token)).text,
        (await server.gql(`mutation { updateProfile(input: { displayName: "Hash 2" }) { ${every} } }`, {}, token)).text,
      ];
      const [{ password_hash: hash }] = await server.app.db.query(`SELECT password_hash FROM users WHERE id = $1`, [id]);
      assert.match(hash, /^\$argon2id\$/);
      for (const text of texts) {
        assert.ok(text.includes(id) && text.includes(email), text); // the query did reach the user, as themself
        assert.ok(!text.includes(hash), text);
        assert.doesNotMatch(text, /argon2|password/i);
      }
    });

    it("registers and logs in even with a bad token in the Authorization header", async () => {
      const email = uniqueEmail("bad-header");
      for (const [i, authorization] of ["Bearer not-a-token", "Basic dXNlcjpwYXNz"].entries()) {
        const address = `${i}-${email}`;
        const registered = await postWithAuthorization(server, authorization, REGISTER, {
          input: { email: address, password: PASSWORD, displayName: "Header", role: "STUDENT" },
        });
        assert.equal(registered.body.data?.register.user.email, address, registered.text);
        const loggedIn = await postWithAuthorization(server, authorization, LOGIN, { e: address, p: PASSWORD });
        assert.equal(loggedIn.body.data?.login.user.id, registered.body.data.register.user.id, loggedIn.text);
      }
    });

    describe("bad tokens on HTTP", () => {
      let user: Registered;
      const bearer = (token: string) => `Bearer ${token}`;
      const claims = (extra: Record<string, unknown> = {}) => ({ ...accessClaims(server, user.id), ...extra });
      before(async () => {
        user = await registerUser(server);
      });

      it("accepts a token forged with the right secret and claims (the control for the cases below)", async () => {
        const res = await postWithAuthorization(server, bearer(forge(claims())), `{ me { id } }`);
        assert.deepEqual(res.body, { data: { me: { id: user.id } } });
      });

      it("accepts a token expired by less than the clock tolerance", async () => {
        assert.equal(server.app.config.jwtClockToleranceSeconds, 5);
        const res = await postWithAuthorization(server, bearer(forge(claims({ exp: now() - 1 }))), `{ me { id } }`);
        assert.deepEqual(res.body, { data: { me: { id: user.id } } });
      });

      it("refuses alg none", async () => {
        await assertMeRefused(server, bearer(unsigned(claims())), TOKEN_INVALID);
      });

      it("refuses HS256 signed with another secret", async () => {
        await assertMeRefused(server, bearer(forge(claims(), "another-secret-that-is-long-enough-for-hs256")), TOKEN_INVALID);
      });

      it("refuses HS512 signed with the right secret", async () => {
        await assertMeRefused(server, bearer(forge(claims(), TEST_SECRET, "HS512")), TOKEN_INVALID);
      });

      it("refuses a token expired beyond the clock tolerance", async () => {
        await assertMeRefused(server, bearer(forge(claims({ iat: now() - 120, exp: now() - 60 }))), TOKEN_EXPIRED);
      });

      it("refuses a token without exp", async () => {
        const { exp: _exp, ...noExp } = claims();
        await assertMeRefused(server, bearer(forge(noExp)), TOKEN_INVALID);
      });

      it("refuses a wrong audience", async () => {
        await assertMeRefused(server, bearer(forge(claims({ aud: "someone-else" }))), TOKEN_INVALID);
      });

      it("refuses a wrong issuer", async () => {
        await assertMeRefused(server, bearer(forge(claims({ iss: "someone-else" }))), TOKEN_INVALID);
      });

      it("refuses a token whose nbf is in the future", async () => {
        await assertMeRefused(server, bearer(forge(claims({ nbf: now() + 60 }))), TOKEN_INVALID);
      });

      it("refuses a session token used as an access token", async () => {
        const session = server.app.tokens.signSession({ id: user.id, role: UserRole.STUDENT }, randomUUID());
        await assertMeRefused(server, bearer(session.token), TOKEN_INVALID);
      });

      it("refuses a well-signed token of an account that does not exist", async () => {
        await assertMeRefused(server, bearer(forge(claims({ sub: randomUUID() }))), "Your account no longer exists.");
      });

      it("refuses a token that is not a JWT", async () => {
        await assertMeRefused(server, "Bearer not.a.jwt", TOKEN_INVALID);
      });

      it("refuses a malformed Authorization header", async () => {
        const valid = forge(claims());
        for (const header of ["Basic dXNlcjpwYXNz", "Bearer", `Token ${valid}`, `Bearer ${valid} extra`, valid]) {
          await assertMeRefused(server, header, BAD_HEADER);
        }
      });
    });
  });

  describe(`login rate limits [${backend.name}]`, { skip: backend.skip }, () => {
    const servers = serverPool();
    after(() => servers.stopAll());

    it("answers the 11th attempt for one email within a minute RATE_LIMITED, even with the right password", async () => {
      const server = await servers.start(backend);
      const user = await registerUser(server);
      for (let i = 1; i <= 10; i++) {
        // The counter is per normalized email: the case of the address does not matter.
        const email = i % 2 ? user.email.toUpperCase() : user.email;
        assertError(await login(server, email, "not the password"), "UNAUTHENTICATED", WRONG_CREDENTIALS);
      }
      const error = assertError(await login(server, user.email, user.password), "RATE_LIMITED");
      const retryAfterMs = error.extensions?.retryAfterMs;
      assert.ok(Number.isSafeInteger(retryAfterMs) && retryAfterMs > 0 && retryAfterMs <= 60_000, `retryAfterMs ${retryAfterMs}`);
      assert.equal(error.message, `Too many attempts; try again in ${Math.ceil(retryAfterMs / 1000)} s.`);
      // Another email from the same address is not affected.
      const other = await registerUser(server);
      assert.equal((await login(server, other.email, other.password)).body.data?.login.user.id, other.id);
    });

    it("limits attempts per client address (LOGIN_RATE_PER_IP), whatever the email", async () => {
      const server = await servers.start(backend, { env: { LOGIN_RATE_PER_IP: "3" } });
      const user = await registerUser(server);
      for (let i = 0; i < 3; i++) {
        assertError(await login(server, uniqueEmail("stranger"), "not the password"), "UNAUTHENTICATED", WRONG_CREDENTIALS);
      }
      const error = assertError(await login(server, user.email, user.password), "RATE_LIMITED");
      assert.ok(Number.isSafeInteger(error.extensions?.retryAfterMs) && error.extensions!.retryAfterMs > 0);
    });

    it(
      "shares the per-email counter between two instances on one Redis",
      { skip: backend.name !== "real" && "the embedded backend keeps its counters in-process (one instance)" },
      async () => {
        const a = await servers.start(backend);
        const b = await servers.start(backend, { share: a });
        const user = await registerUser(a);
        // Five attempts on each: neither instance alone has reached 10.
        for (let i = 0; i < 10; i++) {
          assertError(await login(i % 2 ? a : b, user.email, "not the password"), "UNAUTHENTICATED", WRONG_CREDENTIALS);
        }
        assertError(await login(a, user.email, user.password), "RATE_LIMITED");
        assertError(await login(b, user.email, user.password), "RATE_LIMITED");
      },
    );
  });

  describe(`admin CLI [${backend.name}]`, { skip: backend.skip }, () => {
    // On the embedded backend the database is a DATA_DIR on disk that the server locks, so
    // the CLI only runs while the server is stopped; with DATABASE_URL it runs alongside.
    const embeddedOnDisk = backend.name === "embedded";
    let dataDir: string | undefined;
    let server: TestServer;
    let student: Registered;
    let tutor: Registered;

    const startServer = () => startTestServer(backend, { env: dataDir ? { DATA_DIR: dataDir } : {} });
    /** The environment `npm run admin` needs to reach the server's database. */
    const cliEnv = (): Record<string, string> => ({
      PATH: process.env.PATH ?? "",
      LOG_LEVEL: "silent",
      ...(dataDir ? { DATA_DIR: dataDir } : { DATABASE_URL: server.env.DATABASE_URL, JWT_SECRET: server.env.JWT_SECRET }),
    });
    /** Runs the CLI as an operator would: on the embedded backend with the server stopped, then restarted. */
    async function adminCliAsOperator(args: string[]) {
      if (embeddedOnDisk) await server.stop();
      try {
        return await runAdminCli(args, cliEnv());
      } finally {
        if (embeddedOnDisk) server = await startServer();
      }
    }

    before(async () => {
      if (embeddedOnDisk) dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "classroom-admin-cli-"));
      server = await startServer();
      student = await registerUser(server, "STUDENT");
      tutor = await registerUser(server, "TUTOR");
    });
    after(async () => {
      await server?.stop();
      if (dataDir) fs.rmSync(dataDir, { recursive: true, force: true });
    });

    it("prints its usage and exits 2 without an email", async () => {
      const result = await runAdminCli([], cliEnv());
      assert.equal(result.code, 2, result.stderr);
      assert.equal(result.stderr.trim(), "usage: npm run admin -- <email>");
    });

    it(
      "refuses while a server holds the embedded DATA_DIR, and changes nothing",
      { skip: !embeddedOnDisk && "no DATA_DIR lock with DATABASE_URL: the CLI runs alongside the server" },
      async () => {
        const result = await runAdminCli([student.email], cliEnv());
        assert.equal(result.code, 1, result.stdout + result.stderr);
        assert.ok(result.stderr.includes(`${dataDir} is in use by process ${process.pid} (server)`), result.stderr);
        assert.equal(result.stdout, "");
        const me = await server.gql(`{ me { role } }`, {}, student.token);
        assert.deepEqual(me.body.data, { me: { role: "STUDENT" } });
      },
    );

    it("exits 1 naming an email nobody registered", async () => {
      const nobody = uniqueEmail("nobody");
      const result = await adminCliAsOperator([nobody]);
      assert.equal(result.code, 1, result.stdout + result.stderr);
      assert.equal(result.stderr.trim(), `No user with email ${nobody}; register first, then promote.`);
    });

    it("promotes a user: the next operation sees ADMIN, and the admin sees other users' emails", async () => {
      const emailOf = (token: string) => server.gql(`query($id: ID!) { user(id: $id) { email } }`, { id: tutor.id }, token);
      assert.deepEqual((await emailOf(student.token)).body.data, { user: { email: null } });

      const result = await adminCliAsOperator([student.email.toUpperCase()]);
      assert.equal(result.code, 0, result.stdout + result.stderr);
      assert.equal(result.stdout.trim(), `${student.email} is now an admin.`);

      // The token signed before the promotion still says STUDENT: claims identify, the database grants.
      assert.deepEqual((await server.gql(`{ me { role } }`, {}, student.token)).body.data, { me: { role: "ADMIN" } });
      assert.deepEqual((await emailOf(student.token)).body.data, { user: { email: tutor.email } });
      const loggedIn = await login(server, student.email, student.password);
      assert.deepEqual(loggedIn.body.data?.login.user, { id: student.id, role: "ADMIN" });
      assert.deepEqual((await emailOf(loggedIn.body.data.login.accessToken)).body.data, { user: { email: tutor.email } });
    });
  });
}
