import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import type { Logger as TypeOrmLogger } from "typeorm";
import { ok } from "../support/assertions";
import { backends } from "../support/backends";
import { activeLesson, type User } from "../support/lesson";
import { startTestServer, type TestServer } from "../support/test-server";

/**
 * The board write path's cost in SQL statements (issue 12): one batch holds the session row
 * lock for every statement it sends, so concurrent writers to a session queue behind it. A
 * batch must cost the same few statements whatever its size: nothing per op.
 */
const APPLY = `mutation($s: ID!, $events: [BoardEventInput!]!) {
  applyBoardEvents(sessionId: $s, events: $events) { version accepted { seq version clientOpId } conflicts { clientOpId } }
}`;

/** At most this many statements per batch, BEGIN and COMMIT included. */
const MAX_STATEMENTS = 5;

let opCounter = 0;
const strokes = (count: number, baseVersion: number) =>
  Array.from({ length: count }, () => {
    const id = `st${++opCounter}`;
    return { clientOpId: `op-${id}`, type: "STROKE", baseVersion, data: { id, points: [[0, 0], [10, 10]], color: "#000" } };
  });

for (const backend of backends) {
  describe(`board write statements [${backend.name}]`, { skip: backend.skip }, () => {
    let server: TestServer;
    let sessionId: string;
    let ann: User;

    before(async () => {
      server = await startTestServer(backend);
      const lesson = await activeLesson(server, 1);
      sessionId = lesson.sessionId;
      [ann] = lesson.students;
    });
    after(() => server?.stop());

    /** The statements `events` cost through applyBoardEvents, and its answer. */
    async function counted(events: unknown[]): Promise<{ statements: string[]; answer: any }> {
      const statements: string[] = [];
      const logger: Partial<TypeOrmLogger> = { logQuery: (query) => void statements.push(query) };
      const original = server.app.db.logger.logQuery;
      Object.assign(server.app.db.logger, logger);
      try {
        const answer = ok(await server.gql(APPLY, { s: sessionId, events }, ann.token)).applyBoardEvents;
        return { statements, answer };
      } finally {
        Object.assign(server.app.db.logger, { logQuery: original });
      }
    }

    it("costs a batch of 1 op and a batch of 200 ops the same few statements", async (t) => {
      ok(await server.gql(APPLY, { s: sessionId, events: strokes(1, 0) }, ann.token)); // the request path is warm
      // A client op id that needs quoting in an array literal still finds its repeat below.
      const odd = { ...strokes(1, 1)[0], clientOpId: `op-"q\\,{NULL} '` };
      const one = await counted([odd]);
      assert.equal(one.answer.version, 2);
      const many = await counted(strokes(200, 2));
      assert.equal(many.answer.version, 202);
      assert.equal(many.answer.accepted.length, 200);
      // Sent again: the originals answer, nothing is written, and the cost is the same.
      const repeats = many.answer.accepted.slice(0, 100).map((e: any, i: number) => ({
        clientOpId: e.clientOpId,
        type: "STROKE",
        baseVersion: 2,
        data: { id: `st-repeat-${i}`, points: [[0, 0], [1, 1]] },
      }));
      const repeated = await counted(repeats);
      assert.equal(repeated.answer.version, 202);
      assert.deepEqual(repeated.answer.accepted, many.answer.accepted.slice(0, 100));
      const again = ok(await server.gql(APPLY, { s: sessionId, events: [odd] }, ann.token)).applyBoardEvents;
      assert.deepEqual([again.version, again.accepted], [202, one.answer.accepted]);
      t.diagnostic(`statements per batch: 1 op ${one.statements.length}, 200 ops ${many.statements.length}, 100 repeats ${repeated.statements.length}`);
      assert.equal(many.statements.length, one.statements.length, many.statements.join("\n"));
      assert.ok(repeated.statements.length <= one.statements.length, repeated.statements.join("\n"));
      assert.ok(one.statements.length <= MAX_STATEMENTS, one.statements.join("\n"));
    });
  });
}
