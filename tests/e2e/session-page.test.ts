import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import type { Logger as TypeOrmLogger } from "typeorm";
import { backends } from "../support/backends";
import { activeLesson } from "../support/lesson";
import { startTestServer, type TestServer } from "../support/test-server";

/** The session page of the query benchmark (issue 12): participants' names and the first timeline events. */
const PAGE = `query($id: ID!) {
  session(id: $id) { participants { user { displayName } } timeline(first: 20) { edges { node { type } } } }
}`;

for (const backend of backends) {
  describe(`the session page query [${backend.name}]`, { skip: backend.skip }, () => {
    let server: TestServer;
    const statements: string[] = [];

    before(async () => {
      server = await startTestServer(backend);
      const counting: Partial<TypeOrmLogger> = { logQuery: (query) => void statements.push(query) };
      Object.assign(server.app.db.logger, counting);
    });
    after(() => server?.stop());

    it("costs three statements: the session with the viewer's access, the participants with their users, the page", async () => {
      const {
        students: [ann],
        sessionId,
      } = await activeLesson(server, 3);
      statements.length = 0;
      const res = await server.gql(PAGE, { id: sessionId }, ann.token);
      const names = res.body.data.session.participants.map((p: { user: { displayName: string } }) => p.user.displayName);
      assert.equal(names.length, 4, res.text); // the tutor and three students
      assert.ok(
        names.every((name: string) => name.length > 0),
        res.text,
      );
      assert.ok(res.body.data.session.timeline.edges.length > 0, res.text);
      assert.equal(statements.length, 3, statements.join("\n---\n"));
    });
  });
}
