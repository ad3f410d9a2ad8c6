import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import type { Logger as TypeOrmLogger } from "typeorm";
import { assertError, ok } from "../support/assertions";
import { backends } from "../support/backends";
import type { User } from "../support/lesson";
import { scriptedLessons } from "../support/scripted-lessons";
import { registerUser, startTestServer, type TestServer } from "../support/test-server";

const STATS = `query($from: DateTime, $to: DateTime) {
  teachingStats(from: $from, to: $to) {
    lessons totalMinutes averageParticipants
    students { user { id displayName } lessonsInvited lessonsAttended attendanceRate minutesConnected boardEventCount chatMessageCount }
  }
}`;
const DAY = 86_400_000;

/** teachingStats (issue 18): a tutor's hosted lessons added up, counted by hand here. */
for (const backend of backends) {
  describe(`teaching statistics [${backend.name}]`, { skip: backend.skip }, () => {
    let server: TestServer;
    let script: Awaited<ReturnType<typeof scriptedLessons>>;
    const period = () => ({ from: new Date(Date.now() - DAY).toISOString(), to: new Date(Date.now() + 60_000).toISOString() });
    const stats = (user: User, variables: Record<string, unknown> = period()) => server.gql(STATS, variables, user.token);

    before(async () => {
      server = await startTestServer(backend);
      script = await scriptedLessons(server);
    });
    after(() => server?.stop());

    it("adds up the two finished lessons the tutor hosted, per student, as counted by hand", async () => {
      const { tutor, ann, ben, cal, lessons } = script;
      // As if the lessons had lasted: 10 and 5 minutes ACTIVE, ann CONNECTED 4 then 3 minutes.
      await server.app.db.query(`UPDATE classroom_sessions SET active_seconds = 600 WHERE id = $1`, [lessons[0]]);
      await server.app.db.query(`UPDATE classroom_sessions SET active_seconds = 300 WHERE id = $1`, [lessons[1]]);
      await server.app.db.query(`UPDATE session_participants SET connected_seconds = 240 WHERE session_id = $1 AND user_id = $2`, [lessons[0], ann.id]);
      await server.app.db.query(`UPDATE session_participants SET connected_seconds = 200 WHERE session_id = $1 AND user_id = $2`, [lessons[1], ann.id]);

      const result = ok(await stats(tutor)).teachingStats;
      assert.equal(result.lessons, 2); // the ACTIVE third lesson is not counted
      assert.equal(result.totalMinutes, 15);
      assert.equal(result.averageParticipants, 1.5); // ann and ben, then ann alone; cal never joined
      const byUser = new Map(result.students.map((s: any) => [s.user.id, s]));
      assert.equal(byUser.size, 3, "the host is not one of the students");
      assert.deepEqual(
        { ...(byUser.get(ann.id) as object), user: undefined },
        { user: undefined, lessonsInvited: 2, lessonsAttended: 2, attendanceRate: 1, minutesConnected: 7, boardEventCount: 3, chatMessageCount: 1 },
      );
      assert.deepEqual(
        { ...(byUser.get(ben.id) as object), user: undefined },
        // ben's chat message in the live lesson is not counted
        { user: undefined, lessonsInvited: 1, lessonsAttended: 1, attendanceRate: 1, minutesConnected: 0, boardEventCount: 0, chatMessageCount: 1 },
      );
      assert.deepEqual(
        { ...(byUser.get(cal.id) as object), user: undefined },
        { user: undefined, lessonsInvited: 1, lessonsAttended: 0, attendanceRate: 0, minutesConnected: 0, boardEventCount: 0, chatMessageCount: 0 },
      );
    });

    it("counts only lessons whose actual start is in [from, to)", async () => {
      const future = { from: new Date(Date.now() + 60_000).toISOString(), to: new Date(Date.now() + DAY).toISOString() };
      const result = ok(await stats(script.tutor, future)).teachingStats;
      assert.deepEqual(result, { lessons: 0, totalMinutes: 0, averageParticipants: 0, students: [] });
      // Without arguments: the last 30 days up to now.
      assert.equal(ok(await stats(script.tutor, {})).teachingStats.lessons, 2);
    });

    it("gives another tutor, or an admin, only their own hosted lessons (none)", async () => {
      const other = await registerUser(server, "TUTOR");
      assert.equal(ok(await stats(other)).teachingStats.lessons, 0);
      const admin = await registerUser(server, "STUDENT");
      // What `npm run admin -- <email>` does.
      await server.app.db.query(`UPDATE users SET role = 'ADMIN' WHERE id = $1`, [admin.id]);
      assert.deepEqual(ok(await stats(admin)).teachingStats, { lessons: 0, totalMinutes: 0, averageParticipants: 0, students: [] });
    });

    it("is FORBIDDEN for a student and UNAUTHENTICATED without a token", async () => {
      const res = await stats(script.ann);
      assertError(res, "FORBIDDEN");
      assert.equal(res.body.data, null);
      assertError(await server.gql(STATS, period()), "UNAUTHENTICATED");
    });

    it("refuses a period over 366 days or a reversed one with BAD_USER_INPUT", async () => {
      const now = Date.now();
      assertError(await stats(script.tutor, { from: new Date(now - 367 * DAY).toISOString(), to: new Date(now).toISOString() }), "BAD_USER_INPUT");
      assertError(await stats(script.tutor, { from: new Date(now).toISOString(), to: new Date(now - DAY).toISOString() }), "BAD_USER_INPUT");
      assert.equal(ok(await stats(script.tutor, { from: new Date(now - 366 * DAY).toISOString(), to: new Date(now).toISOString() })).teachingStats.lessons, 2);
    });

    it("answers with a number of statements that does not grow with the lessons", async () => {
      const tutor = await registerUser(server, "TUTOR");
      const count = async () => {
        let statements = 0;
        const counting: Partial<TypeOrmLogger> = { logQuery: () => void statements++ };
        const original = server.app.db.logger.logQuery;
        Object.assign(server.app.db.logger, counting);
        try {
          ok(await stats(tutor));
        } finally {
          Object.assign(server.app.db.logger, { logQuery: original });
        }
        return statements;
      };
      const lesson = async (students: number) => {
        const created = ok(await server.gql(`mutation { createSession(input: { type: GROUP }) { id accessCode } }`, {}, tutor.token)).createSession;
        ok(await server.gql(`mutation($s: ID!) { joinSession(id: $s) { participant { id } } }`, { s: created.id }, tutor.token));
        for (let i = 0; i < students; i++) {
          const student = await registerUser(server, "STUDENT");
          ok(await server.gql(`mutation($c: String!) { joinSessionByCode(accessCode: $c) { participant { id } } }`, { c: created.accessCode }, student.token));
          ok(
            await server.gql(`mutation($s: ID!, $t: String!) { sendChatMessage(sessionId: $s, text: $t) { seq } }`, { s: created.id, t: "hi" }, student.token),
          );
        }
        ok(await server.gql(`mutation($s: ID!) { startSession(id: $s) { status } }`, { s: created.id }, tutor.token));
        ok(await server.gql(`mutation($s: ID!) { completeSession(id: $s) { status } }`, { s: created.id }, tutor.token));
      };
      await lesson(1);
      await count(); // the request path is warm
      const one = await count();
      for (let i = 0; i < 4; i++) await lesson(3);
      const many = await count();
      assert.equal(ok(await stats(tutor)).teachingStats.lessons, 5);
      assert.equal(many, one, `1 lesson: ${one} statements, 5 lessons: ${many}`);
      assert.ok(one <= 4, `${one} statements`);
    });
  });
}
