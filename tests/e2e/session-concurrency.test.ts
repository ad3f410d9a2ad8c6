import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { codeOf } from "../support/assertions";
import { backends } from "../support/backends";
import { registerUser, startTestServer, type TestServer } from "../support/test-server";

type User = Awaited<ReturnType<typeof registerUser>>;

for (const backend of backends) {
  describe(`sessions under concurrency [${backend.name}]`, { skip: backend.skip }, () => {
    let server: TestServer;
    let tutor: User;
    let students: User[];

    before(async () => {
      server = await startTestServer(backend);
      tutor = await registerUser(server, "TUTOR");
      students = await Promise.all(Array.from({ length: 6 }, () => registerUser(server, "STUDENT")));
    });
    after(() => server?.stop());

    async function newSession(maxParticipants: number): Promise<{ id: string; code: string }> {
      const res = await server.gql(
        `mutation($max: Int!) { createSession(input: { type: GROUP, maxParticipants: $max }) { id accessCode } }`,
        { max: maxParticipants },
        tutor.token,
      );
      return { id: res.body.data.createSession.id, code: res.body.data.createSession.accessCode };
    }
    const joinByCode = (user: User, code: string) =>
      server.gql(`mutation($code: String!) { joinSessionByCode(accessCode: $code) { participant { status } } }`, { code }, user.token);

    it("gives the last seat to exactly one of two racing joins; the other is CONFLICT SESSION_FULL", async () => {
      for (let round = 0; round < 3; round++) {
        const { id, code } = await newSession(2);
        await server.gql(`mutation($id: ID!) { joinSession(id: $id) { participant { status } } }`, { id }, tutor.token);
        const [a, b] = await Promise.all([joinByCode(students[0], code), joinByCode(students[1], code)]);
        const outcomes = [a, b].map((r) => (r.body.data ? "joined" : `${codeOf(r)}:${r.body.errors?.[0]?.extensions?.reason}`));
        assert.deepEqual(outcomes.sort(), ["CONFLICT:SESSION_FULL", "joined"]);
        const seats = await server.gql(`query($id: ID!) { session(id: $id) { participants(statuses: [JOINING]) { id } } }`, { id }, tutor.token);
        assert.equal(seats.body.data.session.participants.length, 2);
      }
    });

    it("lets one of two racing screen sharers share; the other is CONFLICT", async () => {
      const { id, code } = await newSession(10);
      await Promise.all(students.slice(0, 2).map((s) => joinByCode(s, code)));
      await server.gql(`mutation($id: ID!) { startSession(id: $id) { status } }`, { id }, tutor.token);
      const share = (user: User) =>
        server.gql(`mutation($id: ID!) { updateMediaState(sessionId: $id, input: { screenSharing: true }) { id } }`, { id }, user.token);
      const results = await Promise.all([share(students[0]), share(students[1])]);
      assert.deepEqual(results.map((r) => (r.body.data ? "sharing" : codeOf(r))).sort(), ["CONFLICT", "sharing"]);
      const rows: unknown[] = await server.app.db.query(`SELECT 1 FROM session_participants WHERE session_id = $1 AND screen_sharing`, [id]);
      assert.equal(rows.length, 1);
    });

    it("keeps seq gap-free and time non-decreasing while many writers race", async () => {
      const { id, code } = await newSession(10);
      await Promise.all(students.map((s) => joinByCode(s, code)));
      await server.gql(`mutation($id: ID!) { startSession(id: $id) { status } }`, { id }, tutor.token);
      const toggles = students.flatMap((s) =>
        [true, false, true].map((on) =>
          server.gql(`mutation($id: ID!, $on: Boolean!) { updateMediaState(sessionId: $id, input: { audioEnabled: $on }) { id } }`, { id, on }, s.token),
        ),
      );
      const results = await Promise.all(toggles);
      assert.ok(
        results.every((r) => r.body.data),
        JSON.stringify(results.find((r) => !r.body.data)?.body),
      );
      const rows: Array<{ seq: number; timestamp_ms: string }> = await server.app.db.query(
        `SELECT seq, timestamp_ms FROM session_events WHERE session_id = $1 ORDER BY seq`,
        [id],
      );
      assert.deepEqual(
        rows.map((r) => r.seq),
        Array.from({ length: rows.length }, (_, i) => i + 1),
      );
      const times = rows.map((r) => Number(r.timestamp_ms));
      assert.ok(
        times.every((t, i) => i === 0 || t >= times[i - 1]),
        `time went backwards: ${times}`,
      );
      assert.ok(rows.length >= 1 + students.length + 1, "created, joins and start recorded");
    });
  });
}
