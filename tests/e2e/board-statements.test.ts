import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import type { Logger as TypeOrmLogger } from "typeorm";
import { codeOf, ok, until } from "../support/assertions";
import { backends } from "../support/backends";
import { activeLesson, type User } from "../support/lesson";
import { startTestServer, type TestServer } from "../support/test-server";

/**
 * The board write path's cost in SQL statements (issue 12): a batch on a board the instance
 * has cached is one statement whatever its size (nothing per op, no transaction); a batch the
 * instance cannot decide alone (a repeat, a cold cache) takes the locked path, a few
 * statements. The one-statement write must refuse exactly what the locked path refuses.
 */
const APPLY = `mutation($s: ID!, $events: [BoardEventInput!]!) {
  applyBoardEvents(sessionId: $s, events: $events) { version accepted { seq version clientOpId } conflicts { clientOpId } }
}`;

/** At most this many statements per batch on the locked path, BEGIN and COMMIT included. */
const MAX_STATEMENTS = 5;

let opCounter = 0;
const strokes = (count: number, baseVersion: number) =>
  Array.from({ length: count }, () => {
    const id = `st${++opCounter}`;
    return {
      clientOpId: `op-${id}`,
      type: "STROKE",
      baseVersion,
      data: {
        id,
        points: [
          [0, 0],
          [10, 10],
        ],
        color: "#000",
      },
    };
  });

for (const backend of backends) {
  describe(`board write statements [${backend.name}]`, { skip: backend.skip }, () => {
    let server: TestServer;
    let sessionId: string;
    let ann: User;
    let tutor: User;
    let stranger: User;

    before(async () => {
      server = await startTestServer(backend);
      const lesson = await activeLesson(server, 1);
      sessionId = lesson.sessionId;
      [ann] = lesson.students;
      ({ tutor, stranger } = lesson);
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
        data: {
          id: `st-repeat-${i}`,
          points: [
            [0, 0],
            [1, 1],
          ],
        },
      }));
      const repeated = await counted(repeats);
      assert.equal(repeated.answer.version, 202);
      assert.deepEqual(repeated.answer.accepted, many.answer.accepted.slice(0, 100));
      const again = ok(await server.gql(APPLY, { s: sessionId, events: [odd] }, ann.token)).applyBoardEvents;
      assert.deepEqual([again.version, again.accepted], [202, one.answer.accepted]);
      t.diagnostic(`statements per batch: 1 op ${one.statements.length}, 200 ops ${many.statements.length}, 100 repeats ${repeated.statements.length}`);
      assert.equal(one.statements.length, 1, one.statements.join("\n"));
      assert.equal(many.statements.length, 1, many.statements.join("\n"));
      // The one statement finds the repeats and writes nothing; the locked path answers them.
      assert.ok(repeated.statements.length <= 1 + MAX_STATEMENTS, repeated.statements.join("\n"));
    });

    /** The board's version as a fresh read sees it. */
    const versionNow = async () =>
      ok(await server.gql(`query($s: ID!) { session(id: $s) { board { version } } }`, { s: sessionId }, tutor.token)).session.board.version as number;
    /** The tutor's write, so the instance holds the board at its current version. */
    const warm = async () => ok(await server.gql(APPLY, { s: sessionId, events: strokes(1, await versionNow()) }, tutor.token));
    const permissions = (user: User, grants: string) =>
      server.gql(
        `mutation($s: ID!, $t: ID!) { updateParticipantPermissions(sessionId: $s, userId: $t, permissions: ${grants}) { id } }`,
        { s: sessionId, t: user.id },
        tutor.token,
      );

    it("refuses on a warm board what the locked path refuses, and writes nothing", async () => {
      await warm();
      const at = await versionNow();
      assert.equal(codeOf(await server.gql(APPLY, { s: sessionId, events: strokes(1, at) }, stranger.token)), "NOT_FOUND");
      ok(await permissions(ann, "{ canDraw: false }"));
      await warm();
      assert.equal(codeOf(await server.gql(APPLY, { s: sessionId, events: strokes(1, at) }, ann.token)), "FORBIDDEN");
      ok(await permissions(ann, "{ canDraw: null }"));
      await warm();
      ok(await server.gql(`mutation($s: ID!) { pauseSession(id: $s) { status } }`, { s: sessionId }, tutor.token));
      const paused = codeOf(await server.gql(APPLY, { s: sessionId, events: strokes(1, at) }, ann.token));
      ok(await server.gql(`mutation($s: ID!) { resumeSession(id: $s) { status } }`, { s: sessionId }, tutor.token));
      assert.equal(paused, "INVALID_STATE");
      const before = await versionNow();
      // The locked path would have answered the same: the cached board was put back as it was.
      const written = ok(await server.gql(APPLY, { s: sessionId, events: strokes(2, before) }, ann.token)).applyBoardEvents;
      assert.deepEqual([written.version, written.accepted.map((e: any) => e.version)], [before + 2, [before + 1, before + 2]]);
    });

    it(
      "refuses a write whose permission was taken away while it waited for the session's lock",
      { skip: backend.name === "embedded" && "one connection: nothing waits" },
      async () => {
        await warm();
        const at = await versionNow();
        // Another transaction holds the session row, takes canDraw away and records it.
        const other = server.app.db.createQueryRunner();
        await other.connect();
        await other.startTransaction();
        try {
          const [row] = await other.query(`SELECT last_seq, board_version FROM classroom_sessions WHERE id = $1 FOR UPDATE`, [sessionId]);
          await other.query(`UPDATE session_participants SET permission_grants = '{"canDraw": false}' WHERE session_id = $1 AND user_id = $2`, [
            sessionId,
            ann.id,
          ]);
          await other.query(
            `INSERT INTO session_events (session_id, seq, timestamp_ms, type, user_id, data) VALUES ($1, $2, 0, 'PERMISSION_UPDATE', $3, '{}')`,
            [sessionId, row.last_seq + 1, tutor.id],
          );
          await other.query(`UPDATE classroom_sessions SET last_seq = last_seq + 1 WHERE id = $1`, [sessionId]);
          const pending = server.gql(APPLY, { s: sessionId, events: strokes(1, at) }, ann.token);
          // Commit once the write is waiting for the row lock.
          // Postgres tells no event when a statement starts waiting: its activity view is polled, with a deadline.
          await until(
            async () =>
              (
                await server.app.db.query(
                  `SELECT count(*)::int AS waiting FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND datname = current_database()`,
                )
              )[0].waiting as number,
            (waiting) => waiting > 0,
          );
          await other.commitTransaction();
          assert.equal(codeOf(await pending), "FORBIDDEN");
          assert.equal(await versionNow(), at);
        } finally {
          if (other.isTransactionActive) await other.rollbackTransaction();
          await other.release();
          await server.app.db.query(`UPDATE session_participants SET permission_grants = '{}' WHERE session_id = $1 AND user_id = $2`, [sessionId, ann.id]);
        }
      },
    );
  });
}
