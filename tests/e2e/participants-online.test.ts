import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { ok, until } from "../support/assertions";
import { backends } from "../support/backends";
import { activeLesson, type User } from "../support/lesson";
import { watch } from "../support/subscriptions";
import { startTestServer, type TestServer } from "../support/test-server";

const PRESENCE = `subscription($s: ID!) { presence(sessionId: $s) { kind onlineUserIds } }`;
const PARTICIPANT = `query($s: ID!) { session(id: $s) { participants { user { id } status reconnectCount } } }`;

for (const backend of backends) {
  describe(`participants online follow their realtime connection [${backend.name}]`, { skip: backend.skip }, () => {
    let server: TestServer;
    before(async () => {
      server = await startTestServer(backend, { env: { RECONNECT_GRACE_MS: "200", PRESENCE_TTL_MS: "3000" } });
    });
    after(() => server?.stop());

    it("JOINING → CONNECTED on subscribe, RECONNECTING on loss, CONNECTED again (a reconnect), DISCONNECTED after the grace", async () => {
      const { tutor, students, sessionId } = await activeLesson(server, 1);
      const [student] = students as User[];
      const statusOf = async () => {
        const session = ok(await server.gql(PARTICIPANT, { s: sessionId }, tutor.token)).session;
        return session.participants.find((p: { user: { id: string } }) => p.user.id === student.id);
      };
      assert.equal((await statusOf()).status, "JOINING");

      const first = server.wsClient(student.token).iterate<any>({ query: PRESENCE, variables: { s: sessionId } });
      assert.equal((await first.next()).value.data.presence.kind, "STATUS");
      await until(statusOf, (p) => p.status === "CONNECTED");
      await first.return?.();
      await until(statusOf, (p) => p.status === "RECONNECTING");

      const second = server.wsClient(student.token).iterate<any>({ query: PRESENCE, variables: { s: sessionId } });
      assert.equal((await second.next()).value.data.presence.kind, "STATUS");
      const back = await until(statusOf, (p) => p.status === "CONNECTED");
      assert.equal(back.reconnectCount, 1);
      await second.return?.();
      await until(statusOf, (p) => p.status === "RECONNECTING");

      await until(
        async () => (await server.app.jobs.runNow("disconnect-inactive"), statusOf()),
        (p) => p.status === "DISCONNECTED",
      );
      const rows: Array<{ type: string }> = await server.app.db.query(
        `SELECT type FROM session_events WHERE session_id = $1 AND user_id = $2 AND type LIKE 'PARTICIPANT_%' ORDER BY seq`,
        [sessionId, student.id],
      );
      assert.deepEqual(
        rows.map((r) => r.type),
        ["PARTICIPANT_JOIN", "PARTICIPANT_RECONNECT", "PARTICIPANT_DISCONNECT"],
      );
      // A second run finds nobody left to disconnect.
      assert.equal(await server.app.jobs.runNow("disconnect-inactive"), "disconnected 0 participants");
    });

    it("a class coming back at once: each reconnect counted once and recorded once, the timeline gap-free", async () => {
      const { tutor, students, sessionId } = await activeLesson(server, 9);
      const participants = async () => ok(await server.gql(PARTICIPANT, { s: sessionId }, tutor.token)).session.participants as any[];
      const studentsIn = (status: string) => async () => (await participants()).filter((p) => p.status === status && p.user.id !== tutor.id).length;
      const BOARD = `subscription($s: ID!) { boardEvents(sessionId: $s) { seq } }`;
      let streams = students.map((student) => watch(server, student.token, BOARD, { s: sessionId }));
      await until(studentsIn("CONNECTED"), (n) => n === students.length);
      streams.forEach((stream) => stream.close());
      await until(studentsIn("RECONNECTING"), (n) => n === students.length);

      // All of them at once: the comebacks of one session are committed together.
      streams = students.map((student) => watch(server, student.token, BOARD, { s: sessionId }));
      await until(studentsIn("CONNECTED"), (n) => n === students.length);
      streams.forEach((stream) => stream.close());
      const back = (await participants()).filter((p) => p.user.id !== tutor.id);
      assert.deepEqual(
        back.map((p) => p.reconnectCount),
        students.map(() => 1),
      );
      const rows: Array<{ seq: number; type: string; user_id: string | null; data: Record<string, unknown> }> = await server.app.db.query(
        `SELECT seq, type, user_id, data FROM session_events WHERE session_id = $1 ORDER BY seq`,
        [sessionId],
      );
      assert.deepEqual(
        rows.map((r) => r.seq),
        rows.map((_, i) => i + 1),
        "seq has a gap or a repeat",
      );
      const reconnects = rows.filter((r) => r.type === "PARTICIPANT_RECONNECT");
      assert.deepEqual(reconnects.map((r) => r.user_id).sort(), students.map((s) => s.id).sort());
      for (const r of reconnects) assert.equal(r.data.userId, r.user_id);
      const [{ last_seq }] = await server.app.db.query(`SELECT last_seq FROM classroom_sessions WHERE id = $1`, [sessionId]);
      assert.equal(last_seq, rows.length);
    });

    it("any subscription of a seated participant to the session is their realtime connection: boardEvents, systemEvents, signals", async () => {
      const { tutor, students, sessionId } = await activeLesson(server, 1);
      const [student] = students as User[];
      const statusOf = async () => {
        const session = ok(await server.gql(PARTICIPANT, { s: sessionId }, tutor.token)).session;
        return session.participants.find((p: { user: { id: string } }) => p.user.id === student.id);
      };
      const subscriptions = [
        `subscription($s: ID!) { boardEvents(sessionId: $s) { seq } }`,
        `subscription($s: ID!) { systemEvents(sessionId: $s) { seq } }`,
        `subscription($s: ID!) { signals(sessionId: $s) { type } }`,
      ];
      for (const [i, query] of subscriptions.entries()) {
        const stream = watch(server, student.token, query, { s: sessionId });
        const connected = await until(statusOf, (p) => p.status === "CONNECTED");
        assert.equal(connected.reconnectCount, i, query);
        stream.close();
        await until(statusOf, (p) => p.status === "RECONNECTING");
      }
    });
  });
}
