import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { Client } from "pg";
import { ok } from "../support/assertions";
import { backends } from "../support/backends";
import { activeLesson } from "../support/lesson";
import { startTestServer, type TestServer } from "../support/test-server";

/**
 * A database that is briefly unavailable (issue 11, finding 15; RULES.md "Errors"): the
 * client gets UNAVAILABLE with `retryable: true` and `retryAfterMs`, never an internal error,
 * nothing was written, and a retry with the same clientOpIds applies the ops once.
 */
const APPLY = `mutation($s: ID!, $events: [BoardEventInput!]!) { applyBoardEvents(sessionId: $s, events: $events) { version accepted { clientOpId } } }`;
const BOARD = `query($s: ID!) { session(id: $s) { board { version } } }`;

for (const backend of backends) {
  describe(
    `a database briefly unavailable [${backend.name}]`,
    {
      skip: backend.name === "embedded" ? "the embedded database runs in-process: no other connection can hold its locks or end it" : backend.skip,
    },
    () => {
      let server: TestServer;
      before(async () => {
        // A lock held longer than this ends the statement waiting on it (lock_timeout).
        server = await startTestServer(backend, { env: { STATEMENT_TIMEOUT_MS: "300" } });
      });
      after(() => server?.stop());

      const strokes = (baseVersion: number, ...ids: string[]) =>
        ids.map((id) => ({
          clientOpId: `op-${id}`,
          type: "STROKE",
          baseVersion,
          data: {
            id,
            points: [
              [0, 0],
              [1, 1],
            ],
          },
        }));

      it("answers UNAVAILABLE, retryable, for a write stuck behind a lock; the retry applies it once", async () => {
        const { tutor, sessionId } = await activeLesson(server, 1);
        const version: number = ok(await server.gql(BOARD, { s: sessionId }, tutor.token)).session.board.version;
        const events = strokes(version, "u1", "u2");
        const holder = new Client({ connectionString: server.env.DATABASE_URL });
        await holder.connect();
        try {
          await holder.query("BEGIN");
          await holder.query("SELECT 1 FROM classroom_sessions WHERE id = $1 FOR UPDATE", [sessionId]);
          const refused = (await server.gql(APPLY, { s: sessionId, events }, tutor.token)).body;
          assert.equal(refused.data, null, JSON.stringify(refused));
          const error = refused.errors![0] as { message: string; extensions: Record<string, any> };
          assert.equal(error.extensions.code, "UNAVAILABLE", JSON.stringify(error));
          assert.equal(error.extensions.retryable, true);
          assert.ok(error.extensions.retryAfterMs > 0);
          assert.doesNotMatch(error.message, /lock|statement|SELECT|classroom_sessions/i, "no internal detail leaves the server");
        } finally {
          await holder.query("ROLLBACK");
          await holder.end();
        }
        assert.equal(ok(await server.gql(BOARD, { s: sessionId }, tutor.token)).session.board.version, version, "nothing was written");
        const retried = ok(await server.gql(APPLY, { s: sessionId, events }, tutor.token)).applyBoardEvents;
        assert.deepEqual(
          retried.accepted.map((a: { clientOpId: string }) => a.clientOpId),
          ["op-u1", "op-u2"],
        );
        assert.equal(retried.version, version + 2);
        // A second retry (the answer was lost) applies nothing more.
        assert.equal(ok(await server.gql(APPLY, { s: sessionId, events }, tutor.token)).applyBoardEvents.version, version + 2);
      });

      it("answers UNAVAILABLE when the connection serving a request is killed", async () => {
        const { tutor, sessionId } = await activeLesson(server, 1);
        const admin = new Client({ connectionString: server.env.DATABASE_URL });
        await admin.connect();
        try {
          // Hold the session so the API's statement is waiting on it, then end that connection.
          await admin.query("BEGIN");
          await admin.query("SELECT 1 FROM classroom_sessions WHERE id = $1 FOR UPDATE", [sessionId]);
          const answer = server.gql(`mutation($s: ID!) { pauseSession(id: $s) { status } }`, { s: sessionId }, tutor.token);
          // The API's backend waiting on our lock: the one to kill.
          let killed = 0;
          while (killed === 0) {
            const { rowCount } = await admin.query(
              `SELECT pg_terminate_backend(pid) FROM pg_stat_activity
              WHERE datname = current_database() AND pid <> pg_backend_pid() AND wait_event_type = 'Lock'`,
            );
            killed = rowCount ?? 0;
          }
          const refused = (await answer).body;
          assert.equal(refused.errors?.[0]?.extensions?.code, "UNAVAILABLE", JSON.stringify(refused));
          assert.equal(refused.errors[0].extensions.retryable, true);
        } finally {
          await admin.query("ROLLBACK");
          await admin.end();
        }
        // The pool recovers: the retry goes through.
        assert.equal(
          ok(await server.gql(`mutation($s: ID!) { pauseSession(id: $s) { status } }`, { s: sessionId }, tutor.token)).pauseSession.status,
          "PAUSED",
        );
      });
    },
  );
}
