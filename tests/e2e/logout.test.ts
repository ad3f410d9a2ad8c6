import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import type { Client } from "graphql-ws";
import jwt from "jsonwebtoken";
import { acrossInstances, backends } from "../support/backends";
import { watch } from "../support/subscriptions";
import { registerUser, startTestServer, TEST_SECRET, type GraphQLResponse, startTwoInstances, type TestServer } from "../support/test-server";

// Ending a login (RULES.md "Users", issue 11): logout, changePassword, REFRESH_MAX_AGE.

const T = { timeout: 20_000 };
const ME = `{ me { id } }`;
const LOGIN = `mutation($e: String!, $p: String!) { login(email: $e, password: $p) { accessToken } }`;
const LOGOUT = `mutation { logout }`;
const REFRESH = `mutation { refreshAccessToken { accessToken user { id } } }`;
const CHANGE = `mutation($c: String!, $n: String!) { changePassword(currentPassword: $c, newPassword: $n) { accessToken user { id email } } }`;
const PROFILE = `subscription { myProfile { id } }`;
const NEW_PASSWORD = "a brand new passphrase";

function errorCode(res: GraphQLResponse): unknown {
  assert.equal(res.body.data ?? null, null, res.text);
  return res.body.errors?.[0]?.extensions?.code;
}

async function login(server: TestServer, email: string, password: string): Promise<string> {
  const res = await server.gql(LOGIN, { e: email, p: password });
  assert.ok(res.body.data, res.text);
  return res.body.data.login.accessToken;
}

async function assertSignedIn(server: TestServer, token: string, id: string): Promise<void> {
  const res = await server.gql(ME, {}, token);
  assert.equal(res.body.data?.me.id, id, res.text);
}

/** The graphql-ws client's next close event. */
function nextClose(client: Client): Promise<number> {
  return new Promise((resolve) => {
    const off = client.on("closed", (event) => {
      off();
      resolve((event as { code: number }).code);
    });
  });
}

/** A socket of `token` with a live myProfile subscription (so it is surely open and acknowledged). */
async function openSocket(server: TestServer, token: string) {
  const client = server.wsClient(token);
  const closed = nextClose(client);
  const sub = watch(server, token, PROFILE, {}, client);
  await sub.next();
  return { client, closed, sub };
}

for (const backend of backends) {
  describe(`ending a login [${backend.name}]`, { skip: backend.skip }, () => {
    let server: TestServer;
    before(async () => {
      server = await startTestServer(backend);
    });
    after(() => server?.stop());

    it("logout revokes the token it is called with, and only that one", T, async () => {
      const user = await registerUser(server);
      const other = await login(server, user.email, user.password);
      const socket = await openSocket(server, user.token);
      const res = await server.gql(LOGOUT, {}, user.token);
      assert.equal(res.body.data?.logout, true, res.text);
      assert.equal(errorCode(await server.gql(ME, {}, user.token)), "UNAUTHENTICATED");
      assert.equal(errorCode(await server.gql(REFRESH, {}, user.token)), "UNAUTHENTICATED");
      assert.equal(errorCode(await server.gql(LOGOUT, {}, user.token)), "UNAUTHENTICATED");
      assert.equal(await socket.closed, 4401);
      assert.equal(await connectOutcome(server, user.token), 4401);
      await assertSignedIn(server, other, user.id);
    });

    it("logout without a token is UNAUTHENTICATED", T, async () => {
      assert.equal(errorCode(await server.gql(LOGOUT)), "UNAUTHENTICATED");
    });

    it("changePassword revokes every earlier token, closes their sockets 4401, and answers a working one", T, async () => {
      const user = await registerUser(server);
      const otherDevice = await login(server, user.email, user.password);
      const oldSocket = await openSocket(server, otherDevice);
      const res = await server.gql(CHANGE, { c: user.password, n: NEW_PASSWORD }, user.token);
      assert.equal(res.body.data?.changePassword.user.id, user.id, res.text);
      assert.equal(res.body.data.changePassword.user.email, user.email); // the caller sees their own email
      const fresh = res.body.data.changePassword.accessToken as string;

      assert.equal(await oldSocket.closed, 4401);
      for (const token of [user.token, otherDevice]) {
        assert.equal(errorCode(await server.gql(ME, {}, token)), "UNAUTHENTICATED");
        assert.equal(errorCode(await server.gql(REFRESH, {}, token)), "UNAUTHENTICATED");
      }
      await assertSignedIn(server, fresh, user.id);
      const freshSocket = await openSocket(server, fresh);
      assert.equal(errorCode(await server.gql(LOGIN, { e: user.email, p: user.password })), "UNAUTHENTICATED");
      await assertSignedIn(server, await login(server, user.email, NEW_PASSWORD), user.id);
      freshSocket.sub.close();
    });

    it("changePassword refuses a wrong current password and a weak new one, changing nothing", T, async () => {
      const user = await registerUser(server);
      assert.equal(errorCode(await server.gql(CHANGE, { c: "not the password", n: NEW_PASSWORD }, user.token)), "UNAUTHENTICATED");
      assert.equal(errorCode(await server.gql(CHANGE, { c: user.password, n: "short" }, user.token)), "BAD_USER_INPUT");
      assert.equal(errorCode(await server.gql(CHANGE, { c: user.password, n: NEW_PASSWORD })), "UNAUTHENTICATED");
      await assertSignedIn(server, user.token, user.id);
      await login(server, user.email, user.password);
    });

    it("refreshAccessToken refuses a chain whose login is older than REFRESH_MAX_AGE (default 30 d)", T, async () => {
      const user = await registerUser(server);
      const forge = (authAgeDays: number) =>
        jwt.sign({ typ: "access", role: "STUDENT", auth_ms: Date.now() - authAgeDays * 86_400_000 }, TEST_SECRET, {
          algorithm: "HS256",
          subject: user.id,
          issuer: "classroom-api",
          audience: "classroom-clients",
          expiresIn: 3600,
          jwtid: `forged-${authAgeDays}`,
        });
      assert.equal(errorCode(await server.gql(REFRESH, {}, forge(30.01))), "UNAUTHENTICATED");
      const res = await server.gql(REFRESH, {}, forge(29.99));
      assert.equal(res.body.data?.refreshAccessToken.user.id, user.id, res.text);
      // The refreshed token keeps the chain's start.
      const refreshed = jwt.decode(res.body.data.refreshAccessToken.accessToken) as jwt.JwtPayload;
      assert.ok(Date.now() - refreshed.auth_ms > 29.98 * 86_400_000);
    });
  });

  describe(`REFRESH_MAX_AGE [${backend.name}]`, { skip: backend.skip }, () => {
    let server: TestServer;
    before(async () => {
      server = await startTestServer(backend, { env: { REFRESH_MAX_AGE: "2" } });
    });
    after(() => server?.stop());

    it("a refreshed token cannot be refreshed past REFRESH_MAX_AGE after the login", T, async () => {
      const user = await registerUser(server);
      const loggedInAt = Date.now();
      const first = await server.gql(REFRESH, {}, user.token);
      assert.ok(first.body.data, first.text);
      const refreshed = first.body.data.refreshAccessToken.accessToken as string;
      // Time itself is the condition here: nothing to await but the clock.
      await new Promise((resolve) => setTimeout(resolve, Math.max(0, loggedInAt + 2100 - Date.now())));
      const late = await server.gql(REFRESH, {}, refreshed);
      assert.equal(errorCode(late), "UNAUTHENTICATED");
      assert.equal(late.body.errors?.[0]?.message, "This sign-in is too old to refresh; sign in again.");
      await assertSignedIn(server, refreshed, user.id); // still a valid access token until it expires
      const again = await server.gql(REFRESH, {}, await login(server, user.email, user.password));
      assert.ok(again.body.data, again.text); // a new login starts a new chain
    });
  });

  describe(
    `ending a login across instances [${backend.name}]`,
    {
      skip: acrossInstances(backend),
    },
    () => {
      let a: TestServer;
      let b: TestServer;
      startTwoInstances(backend, (first, second) => ([a, b] = [first, second]));

      it("a logout on one instance closes the token's sockets on the other, which then refuses it", T, async () => {
        const user = await registerUser(a);
        await assertSignedIn(b, user.token, user.id); // remembered by b
        const socket = await openSocket(b, user.token);
        assert.equal((await a.gql(LOGOUT, {}, user.token)).body.data?.logout, true);
        assert.equal(await socket.closed, 4401);
        assert.equal(errorCode(await b.gql(ME, {}, user.token)), "UNAUTHENTICATED");
      });

      it("a password change on one instance closes earlier sockets on the other, which refuses earlier tokens", T, async () => {
        const user = await registerUser(a);
        await assertSignedIn(b, user.token, user.id);
        const socket = await openSocket(b, user.token);
        const res = await a.gql(CHANGE, { c: user.password, n: NEW_PASSWORD }, user.token);
        assert.ok(res.body.data, res.text);
        assert.equal(await socket.closed, 4401);
        assert.equal(errorCode(await b.gql(ME, {}, user.token)), "UNAUTHENTICATED");
        await assertSignedIn(b, res.body.data.changePassword.accessToken, user.id);
      });

      it("an instance started after a logout refuses the token", T, async () => {
        const user = await registerUser(a);
        assert.equal((await a.gql(LOGOUT, {}, user.token)).body.data?.logout, true);
        const c = await startTestServer(backend, { share: a });
        try {
          await c.app.tokens.revocations.ready; // its first read of the revocations, started as it was made
          assert.equal(errorCode(await c.gql(ME, {}, user.token)), "UNAUTHENTICATED");
          assert.equal(await connectOutcome(c, user.token), 4401);
        } finally {
          await c.stop();
        }
      });
    },
  );
}

/** The close code of a connection attempt with `token` (4401 when refused). */
async function connectOutcome(server: TestServer, token: string): Promise<number> {
  const client = server.wsClient(token);
  const closed = nextClose(client);
  return closed;
}
