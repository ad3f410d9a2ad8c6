import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { backends } from "../support/backends";
import { registerUser, startTestServer, type TestServer } from "../support/test-server";

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
  });
}
