import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { codeOf } from "../support/assertions";
import { backends } from "../support/backends";
import { registerUser, startTestServer, type TestServer } from "../support/test-server";

for (const backend of backends) {
  describe(`session rate limits and access codes [${backend.name}]`, { skip: backend.skip }, () => {
    let server: TestServer;
    before(async () => {
      server = await startTestServer(backend);
    });
    after(() => server?.stop());

    it("limits a tutor to 30 new sessions an hour", async () => {
      const tutor = await registerUser(server, "TUTOR");
      const create = () => server.gql(`mutation { createSession(input: { type: DEMO }) { id } }`, {}, tutor.token);
      for (let i = 0; i < 30; i++) assert.ok((await create()).body.data, `session ${i + 1}`);
      const limited = await create();
      assert.equal(codeOf(limited), "RATE_LIMITED");
      const retry = limited.body.errors?.[0]?.extensions?.retryAfterMs;
      assert.ok(Number.isInteger(retry) && retry > 0 && retry <= 3_600_000, String(retry));
      const other = await registerUser(server, "TUTOR");
      assert.ok((await server.gql(`mutation { createSession(input: { type: DEMO }) { id } }`, {}, other.token)).body.data);
    });

    it("answers NOT_FOUND for 10 wrong access codes a minute, then RATE_LIMITED, even for the right one", async () => {
      const tutor = await registerUser(server, "TUTOR");
      const guesser = await registerUser(server, "STUDENT");
      const created = await server.gql(`mutation { createSession(input: { type: GROUP }) { accessCode } }`, {}, tutor.token);
      const code = created.body.data.createSession.accessCode;
      const join = (c: string) => server.gql(`mutation($c: String!) { joinSessionByCode(accessCode: $c) { participant { id } } }`, { c }, guesser.token);
      for (let i = 0; i < 10; i++) assert.equal(codeOf(await join(`WRONG${i}CODE`)), "NOT_FOUND");
      assert.equal(codeOf(await join("WRONGAGAIN")), "RATE_LIMITED");
      // Over the limit a right code is refused too, or guessing could simply go on.
      assert.equal(codeOf(await join(code)), "RATE_LIMITED");
      const other = await registerUser(server, "STUDENT");
      const fine = await server.gql(`mutation($c: String!) { joinSessionByCode(accessCode: $c) { participant { id } } }`, { c: code }, other.token);
      assert.ok(fine.body.data, "another user with the right code joins");
    });

    it("frees a finished session's access code and never reuses a live one", async () => {
      const tutor = await registerUser(server, "TUTOR");
      const codes = new Set<string>();
      for (let i = 0; i < 20; i++) {
        const res = await server.gql(`mutation { createSession(input: { type: GROUP }) { accessCode } }`, {}, tutor.token);
        codes.add(res.body.data.createSession.accessCode);
      }
      assert.equal(codes.size, 20);
    });
  });
}
