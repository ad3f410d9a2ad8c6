import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import type { Logger as TypeOrmLogger } from "typeorm";
import { backends } from "../support/backends";
import { registerUser, startTestServer, type TestServer } from "../support/test-server";

const PAGE = `query($first: Int!) {
  mySessions(first: $first) { edges { node { host { id } participants { user { id } } } } }
}`;

for (const backend of backends) {
  describe(`session lists batch their lookups [${backend.name}]`, { skip: backend.skip }, () => {
    let server: TestServer;
    let adminToken: string;
    let statements = 0;

    before(async () => {
      server = await startTestServer(backend);
      const tutors = await Promise.all([1, 2, 3].map(() => registerUser(server, "TUTOR")));
      const students = await Promise.all([1, 2, 3].map(() => registerUser(server, "STUDENT")));
      for (const tutor of tutors) {
        for (let i = 0; i < 20; i++) {
          const res = await server.gql(`mutation { createSession(input: { type: GROUP }) { accessCode } }`, {}, tutor.token);
          const code = res.body.data.createSession.accessCode;
          await server.gql(`mutation($c: String!) { joinSessionByCode(accessCode: $c) { participant { id } } }`, { c: code }, students[i % 3].token);
        }
      }
      const admin = await registerUser(server, "STUDENT", "admin");
      await server.app.db.query(`UPDATE users SET role = 'ADMIN' WHERE id = $1`, [admin.id]);
      adminToken = admin.token;
      // Count every statement the server sends from here on.
      const counting: Partial<TypeOrmLogger> = { logQuery: () => void statements++ };
      Object.assign(server.app.db.logger, counting);
    });
    after(() => server?.stop());

    async function statementsFor(first: number): Promise<number> {
      statements = 0;
      const res = await server.gql(PAGE, { first }, adminToken);
      assert.equal(res.body.data.mySessions.edges.length, first, res.text);
      for (const edge of res.body.data.mySessions.edges) {
        assert.ok(edge.node.host.id);
        assert.ok(edge.node.participants.length >= 2); // the host's row and a student's
      }
      return statements;
    }

    it("uses the same number of SQL statements for 5, 20 and 50 sessions with hosts and participants", async () => {
      const small = await statementsFor(5);
      const medium = await statementsFor(20);
      const large = await statementsFor(50);
      assert.equal(medium, small, `5 sessions: ${small} statements, 20: ${medium}`);
      assert.equal(large, small, `5 sessions: ${small} statements, 50: ${large}`);
      assert.ok(small > 0 && small <= 10, `${small} statements for one page`);
    });
  });
}
