import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { assertError, ok } from "../support/assertions";
import { backends } from "../support/backends";
import { registerUser, startTestServer, type TestServer } from "../support/test-server";

// ---------------------------------------------------------------------------------------
// Helpers

type Registered = Awaited<ReturnType<typeof registerUser>>;

const CREATE = `mutation($name: String!) { createClassroom(name: $name) { id name createdAt tutor { id } members { id } } }`;
const ADD_MEMBER = `mutation($c: ID!, $u: ID!) { addClassroomMember(classroomId: $c, userId: $u) { id members { id } } }`;
const CLASSROOM = `query($id: ID!) { classroom(id: $id) { id name tutor { id } members { id email } } }`;
const MINE = `{ myClassrooms { id name } }`;
const SESSIONS = `query($id: ID!, $first: Int, $after: String) {
  classroom(id: $id) { sessions(first: $first, after: $after) {
    totalCount pageInfo { hasNextPage hasPreviousPage endCursor } edges { cursor node { id classroom { id } } } } } }`;
const CREATE_SESSION = `mutation($input: CreateSessionInput!) { createSession(input: $input) { id accessCode classroom { id } } }`;
const SESSION = `query($id: ID!) { session(id: $id) { id classroom { id name } } }`;
const UNKNOWN_ID = "00000000-0000-4000-8000-000000000000";

// ---------------------------------------------------------------------------------------

for (const backend of backends) {
  describe(`classrooms [${backend.name}]`, { skip: backend.skip }, () => {
    let server: TestServer;
    let tutor: Registered;
    let student: Registered;
    let outsider: Registered;
    let otherTutor: Registered;
    let admin: Registered;

    const createClassroom = async (owner: Registered, name = "Algebra") =>
      ok(await server.gql(CREATE, { name }, owner.token)).createClassroom as { id: string; name: string };
    const addMember = (classroomId: string, userId: string, by: Registered = tutor) => server.gql(ADD_MEMBER, { c: classroomId, u: userId }, by.token);

    before(async () => {
      server = await startTestServer(backend);
      [tutor, student, outsider, otherTutor, admin] = await Promise.all([
        registerUser(server, "TUTOR"),
        registerUser(server, "STUDENT"),
        registerUser(server, "STUDENT"),
        registerUser(server, "TUTOR"),
        registerUser(server, "STUDENT"),
      ]);
      // What `npm run admin -- <email>` does (the CLI itself is covered by auth.test.ts).
      await server.app.db.query(`UPDATE users SET role = 'ADMIN' WHERE id = $1`, [admin.id]);
    });
    after(() => server?.stop());

    it("a tutor creates a classroom and adds a member; tutor, member and admin read it", async () => {
      const created = ok(await server.gql(CREATE, { name: "  Algebra I  " }, tutor.token)).createClassroom;
      assert.equal(created.name, "Algebra I");
      assert.deepEqual(created.tutor, { id: tutor.id });
      assert.deepEqual(created.members, []);
      assert.ok(!Number.isNaN(Date.parse(created.createdAt)));

      const added = ok(await addMember(created.id, student.id)).addClassroomMember;
      assert.deepEqual(added, { id: created.id, members: [{ id: student.id }] });

      for (const reader of [tutor, student, admin]) {
        const { classroom } = ok(await server.gql(CLASSROOM, { id: created.id }, reader.token));
        assert.equal(classroom.id, created.id);
        assert.equal(classroom.name, "Algebra I");
        assert.deepEqual(classroom.tutor, { id: tutor.id });
        assert.deepEqual(
          classroom.members.map((m: { id: string }) => m.id),
          [student.id],
        );
      }
      // Membership reveals no email (RULES.md "Users": only joining a session the tutor hosts does).
      const asTutor = ok(await server.gql(CLASSROOM, { id: created.id }, tutor.token)).classroom;
      assert.equal(asTutor.members[0].email, null);
    });

    it("keeps members' emails from each other", async () => {
      const classroom = await createClassroom(tutor);
      ok(await addMember(classroom.id, student.id));
      ok(await addMember(classroom.id, outsider.id));
      const { classroom: seen } = ok(await server.gql(CLASSROOM, { id: classroom.id }, student.token));
      const emails = Object.fromEntries(seen.members.map((m: { id: string; email: string | null }) => [m.id, m.email]));
      assert.deepEqual(emails, { [student.id]: student.email, [outsider.id]: null });
    });

    it("adds a member once, however often and however concurrently it is asked", async () => {
      const classroom = await createClassroom(tutor);
      const results = await Promise.all([addMember(classroom.id, student.id), addMember(classroom.id, student.id)]);
      for (const res of results) ok(res);
      const again = ok(await addMember(classroom.id, student.id)).addClassroomMember;
      assert.deepEqual(again.members, [{ id: student.id }]);
      // Adding the tutor changes nothing: they already have the classroom.
      assert.deepEqual(ok(await addMember(classroom.id, tutor.id)).addClassroomMember.members, [{ id: student.id }]);
    });

    it("lists in myClassrooms the classrooms the user tutors or belongs to, and no other", async () => {
      const own = await createClassroom(otherTutor, "Own");
      const joined = await createClassroom(tutor, "Joined");
      const foreign = await createClassroom(tutor, "Foreign");
      ok(await addMember(joined.id, otherTutor.id));
      const ids = ok(await server.gql(MINE, {}, otherTutor.token)).myClassrooms.map((c: { id: string }) => c.id);
      assert.ok(ids.includes(own.id) && ids.includes(joined.id), JSON.stringify(ids));
      assert.ok(!ids.includes(foreign.id));
      assert.deepEqual(
        ok(await server.gql(MINE, {}, outsider.token)).myClassrooms.filter((c: { id: string }) => c.id === joined.id),
        [],
      );
    });

    it("answers null to classroom(id) for anyone without access, an unknown id and a malformed one", async () => {
      const classroom = await createClassroom(tutor);
      for (const [reader, id] of [
        [outsider, classroom.id],
        [otherTutor, classroom.id],
        [tutor, UNKNOWN_ID],
        [tutor, "not-a-uuid"],
      ] as const) {
        assert.deepEqual(ok(await server.gql(CLASSROOM, { id }, reader.token)), { classroom: null });
      }
    });

    it("refuses createClassroom to students (FORBIDDEN) and a blank or over-long name (BAD_USER_INPUT)", async () => {
      assertError(await server.gql(CREATE, { name: "Mine" }, student.token), "FORBIDDEN");
      for (const name of ["", "   ", "x".repeat(201)]) {
        const error = assertError(await server.gql(CREATE, { name }, tutor.token), "BAD_USER_INPUT");
        assert.equal(error.extensions?.field, "name");
      }
      assert.equal((await createClassroom(tutor, "x".repeat(200))).name.length, 200);
      assert.ok((await createClassroom(admin, "Run by an admin")).id);
    });

    it("refuses addClassroomMember: NOT_FOUND without access, FORBIDDEN for a member, BAD_USER_INPUT for an unknown user", async () => {
      const classroom = await createClassroom(tutor);
      ok(await addMember(classroom.id, student.id));
      assertError(await addMember(classroom.id, outsider.id, otherTutor), "NOT_FOUND");
      assertError(await addMember(classroom.id, outsider.id, outsider), "NOT_FOUND");
      assertError(await addMember(UNKNOWN_ID, outsider.id), "NOT_FOUND");
      assertError(await addMember("not-a-uuid", outsider.id), "NOT_FOUND");
      assertError(await addMember(classroom.id, outsider.id, student), "FORBIDDEN");
      for (const userId of [UNKNOWN_ID, "not-a-uuid"]) {
        assert.equal(assertError(await addMember(classroom.id, userId), "BAD_USER_INPUT").extensions?.field, "userId");
      }
      // None of the refused requests added anyone; an admin may add.
      assert.deepEqual(
        ok(await addMember(classroom.id, outsider.id, admin))
          .addClassroomMember.members.map((m: { id: string }) => m.id)
          .sort(),
        [student.id, outsider.id].sort(),
      );
    });

    it("answers UNAUTHENTICATED to every classroom operation without a token", async () => {
      const classroom = await createClassroom(tutor);
      for (const [query, variables] of [
        [CLASSROOM, { id: classroom.id }],
        [MINE, {}],
        [CREATE, { name: "Anonymous" }],
        [ADD_MEMBER, { c: classroom.id, u: student.id }],
        [SESSIONS, { id: classroom.id }],
      ] as const) {
        assertError(await server.gql(query, variables), "UNAUTHENTICATED");
      }
    });

    describe("the classroom's sessions", () => {
      let classroomId: string;
      const sessionIds: string[] = [];
      let accessCode: string;

      before(async () => {
        classroomId = (await createClassroom(tutor, "With sessions")).id;
        ok(await addMember(classroomId, student.id));
        for (const title of ["first", "second", "third"]) {
          const created = ok(await server.gql(CREATE_SESSION, { input: { title, type: "GROUP", classroomId } }, tutor.token)).createSession;
          assert.deepEqual(created.classroom, { id: classroomId });
          sessionIds.push(created.id);
          accessCode = created.accessCode;
        }
        // A session outside the classroom is not listed with it.
        ok(await server.gql(CREATE_SESSION, { input: { title: "elsewhere", type: "GROUP" } }, tutor.token));
      });

      it("lets a member read them, newest first, page by page", async () => {
        const first = ok(await server.gql(SESSIONS, { id: classroomId, first: 2 }, student.token)).classroom.sessions;
        assert.equal(first.totalCount, 3);
        assert.deepEqual(
          first.edges.map((e: any) => e.node.id),
          [sessionIds[2], sessionIds[1]],
        );
        assert.deepEqual(
          first.edges.map((e: any) => e.node.classroom),
          [{ id: classroomId }, { id: classroomId }],
        );
        assert.equal(first.pageInfo.hasNextPage, true);
        const second = ok(await server.gql(SESSIONS, { id: classroomId, first: 2, after: first.pageInfo.endCursor }, student.token)).classroom.sessions;
        assert.deepEqual(
          second.edges.map((e: any) => e.node.id),
          [sessionIds[0]],
        );
        assert.deepEqual({ ...second.pageInfo, endCursor: undefined }, { hasNextPage: false, hasPreviousPage: true, endCursor: undefined });
      });

      it("lets a member read each session with session(id), and hides them from anyone else", async () => {
        for (const id of sessionIds) {
          const { session } = ok(await server.gql(SESSION, { id }, student.token));
          assert.deepEqual(session, { id, classroom: { id: classroomId, name: "With sessions" } });
          assert.deepEqual(ok(await server.gql(SESSION, { id }, outsider.token)), { session: null });
        }
      });

      it("shows a participant who is not a member the session but not its classroom", async () => {
        const joined = ok(
          await server.gql(`mutation($c: String!) { joinSessionByCode(accessCode: $c) { session { id } } }`, { c: accessCode }, otherTutor.token),
        );
        assert.equal(joined.joinSessionByCode.session.id, sessionIds[2]);
        assert.deepEqual(ok(await server.gql(SESSION, { id: sessionIds[2] }, otherTutor.token)), {
          session: { id: sessionIds[2], classroom: null },
        });
      });

      it("answers BAD_USER_INPUT for a page size over 100", async () => {
        assertError(await server.gql(SESSIONS, { id: classroomId, first: 101 }, student.token), "BAD_USER_INPUT");
        const max = ok(await server.gql(SESSIONS, { id: classroomId, first: 100 }, student.token));
        assert.equal(max.classroom.sessions.edges.length, 3);
      });
    });
  });
}
