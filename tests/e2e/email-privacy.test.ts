import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { ok } from "../support/assertions";
import { backends } from "../support/backends";
import { activeLesson } from "../support/lesson";
import { watch } from "../support/subscriptions";
import { registerUser, startTestServer, type TestServer } from "../support/test-server";

// Issue 11, finding 2 (RULES.md "Users"): a user's email is visible to the user, to admins,
// and to the host of a session the user joined. Adding someone to a classroom or booking a
// lesson for them reveals nothing until they join; whoever may not see it reads null.

type Registered = Awaited<ReturnType<typeof registerUser>>;

const T = { timeout: 60_000 };
const USER = `query($id: ID!) { user(id: $id) { id email } }`;
const CREATE_CLASSROOM = `mutation { createClassroom(name: "Algebra") { id } }`;
const ADD_MEMBER = `mutation($c: ID!, $u: ID!) { addClassroomMember(classroomId: $c, userId: $u) { members { id email } } }`;
const CLASSROOM = `query($id: ID!) { classroom(id: $id) { tutor { id email } members { id email } } }`;
const USERS = `user { id email }`;
const BOOK = `mutation($input: CreateBookingInput!) { createBooking(input: $input) { id student { id email } tutor { id email } } }`;
const CONFIRM = `mutation($id: ID!) { confirmBooking(id: $id) { session { id participants { ${USERS} } } } }`;
const BOOKING = `query($id: ID!) { booking(id: $id) { student { id email } tutor { id email } session { host { id email } } } }`;
const MY_BOOKINGS = `{ myBookings { edges { node { id student { id email } tutor { id email } } } } }`;
const SESSION = `query($s: ID!) { session(id: $s) {
  host { id email }
  participants { ${USERS} }
  timeline(filter: { types: [PARTICIPANT_JOIN] }) { edges { node { ${USERS} } } } } }`;
const REPORT = `query($s: ID!, $u: ID!) { session(id: $s) { report { attendance { ${USERS} } } userActivity(userId: $u) { ${USERS} } } }`;
const JOIN_BY_CODE = `mutation($c: String!) { joinSessionByCode(accessCode: $c) { participant { id } } }`;

/** A user's id and the email a viewer reads for them. */
const shown = (user: { id: string; email: string | null }) => [user.id, user.email] as const;
const byId = (users: Array<{ id: string; email: string | null }>) => Object.fromEntries(users.map(shown));

const HOUR = 3_600_000;
/** Far-future slots on whole hours, one per booking of this file. */
let nextSlot = 0;
const slot = () => {
  const start = Date.UTC(2032, 2, 1, 8) + nextSlot++ * 2 * HOUR;
  return { scheduledStart: new Date(start).toISOString(), scheduledEnd: new Date(start + HOUR).toISOString() };
};

for (const backend of backends) {
  describe(`email privacy [${backend.name}]`, { skip: backend.skip }, () => {
    let server: TestServer;
    let admin: Registered;

    const as = async (viewer: Registered, query: string, variables: Record<string, unknown> = {}) => ok(await server.gql(query, variables, viewer.token));
    const emailOf = async (viewer: Registered, subject: Registered) => (await as(viewer, USER, { id: subject.id })).user.email;
    const book = async (tutor: Registered, student: Registered) => (await as(tutor, BOOK, { input: { studentId: student.id, ...slot() } })).createBooking;

    before(async () => {
      server = await startTestServer(backend);
      admin = await registerUser(server, "STUDENT");
      // What `npm run admin -- <email>` does (the CLI itself is covered by auth.test.ts).
      await server.app.db.query(`UPDATE users SET role = 'ADMIN' WHERE id = $1`, [admin.id]);
    });
    after(() => server?.stop());

    it("reveals nothing to a tutor who adds a student to a classroom, nor between its members; the user and admins see it", async () => {
      const [tutor, ann, bob, stranger] = await Promise.all([
        registerUser(server, "TUTOR"),
        registerUser(server, "STUDENT"),
        registerUser(server, "STUDENT"),
        registerUser(server, "STUDENT"),
      ]);
      const { id: classroomId } = (await as(tutor, CREATE_CLASSROOM)).createClassroom;
      await as(tutor, ADD_MEMBER, { c: classroomId, u: ann.id });
      const added = (await as(tutor, ADD_MEMBER, { c: classroomId, u: bob.id })).addClassroomMember;
      assert.deepEqual(byId(added.members), { [ann.id]: null, [bob.id]: null });

      const asTutor = (await as(tutor, CLASSROOM, { id: classroomId })).classroom;
      assert.deepEqual(asTutor.tutor, { id: tutor.id, email: tutor.email });
      assert.deepEqual(byId(asTutor.members), { [ann.id]: null, [bob.id]: null });
      assert.equal(await emailOf(tutor, ann), null);

      const asAnn = (await as(ann, CLASSROOM, { id: classroomId })).classroom;
      assert.deepEqual(asAnn.tutor, { id: tutor.id, email: null });
      assert.deepEqual(byId(asAnn.members), { [ann.id]: ann.email, [bob.id]: null });
      assert.equal((await as(ann, `{ me { email } }`)).me.email, ann.email);
      assert.equal(await emailOf(ann, ann), ann.email);
      assert.equal(await emailOf(stranger, ann), null);

      const asAdmin = (await as(admin, CLASSROOM, { id: classroomId })).classroom;
      assert.deepEqual(asAdmin.tutor, { id: tutor.id, email: tutor.email });
      assert.deepEqual(byId(asAdmin.members), { [ann.id]: ann.email, [bob.id]: bob.email });
      assert.equal(await emailOf(admin, ann), ann.email);
    });

    it("reveals nothing to a tutor who books a lesson for a student until the student joins it; then its host sees it", async () => {
      const [tutor, student] = await Promise.all([registerUser(server, "TUTOR"), registerUser(server, "STUDENT")]);
      const booking = await book(tutor, student);
      assert.deepEqual(booking.student, { id: student.id, email: null });
      // The student INVITED to the lesson is still someone who has not joined.
      const { session } = (await as(tutor, CONFIRM, { id: booking.id })).confirmBooking;
      assert.deepEqual(session.participants, [{ user: { id: student.id, email: null } }]);
      assert.deepEqual((await as(tutor, BOOKING, { id: booking.id })).booking.student, { id: student.id, email: null });
      const mine = (await as(tutor, MY_BOOKINGS)).myBookings.edges.map((e: any) => e.node);
      assert.deepEqual(mine.find((b: any) => b.id === booking.id).student, { id: student.id, email: null });
      assert.deepEqual((await as(tutor, SESSION, { s: session.id })).session.participants, [{ user: { id: student.id, email: null } }]);
      assert.equal(await emailOf(tutor, student), null);
      // Nor does the student see the tutor's; the student and an admin see the student's.
      const seen = (await as(student, BOOKING, { id: booking.id })).booking;
      assert.deepEqual(
        [seen.tutor, seen.session.host],
        [
          { id: tutor.id, email: null },
          { id: tutor.id, email: null },
        ],
      );
      assert.deepEqual(seen.student, { id: student.id, email: student.email });
      assert.deepEqual((await as(admin, BOOKING, { id: booking.id })).booking.student, { id: student.id, email: student.email });

      await as(student, `mutation($id: ID!) { joinSession(id: $id) { participant { id } } }`, { id: session.id });
      assert.deepEqual((await as(tutor, BOOKING, { id: booking.id })).booking.student, { id: student.id, email: student.email });
      const lesson = (await as(tutor, SESSION, { s: session.id })).session;
      assert.deepEqual(lesson.participants, [{ user: { id: student.id, email: student.email } }]);
      assert.deepEqual(lesson.timeline.edges, [{ node: { user: { id: student.id, email: student.email } } }]);
      assert.equal(await emailOf(tutor, student), student.email);
      // Joining shows the student to the host; the host is still hidden from the student.
      assert.deepEqual((await as(student, SESSION, { s: session.id })).session.host, { id: tutor.id, email: null });
      assert.equal(await emailOf(student, tutor), null);
    });

    it("in a lesson joined by code, the host sees each student's email; a co-participant sees only their own, even one who tutors them elsewhere", async () => {
      const {
        tutor,
        stranger,
        students: [ann, bob],
        sessionId,
      } = await activeLesson(server, 2);
      // Another tutor who added ann to a classroom and booked her, then joined this lesson by code.
      const other = await registerUser(server, "TUTOR");
      const { id: classroomId } = (await as(other, CREATE_CLASSROOM)).createClassroom;
      await as(other, ADD_MEMBER, { c: classroomId, u: ann.id });
      await as(other, CONFIRM, { id: (await book(other, ann)).id });
      const { accessCode } = (await as(tutor, `query($s: ID!) { session(id: $s) { accessCode } }`, { s: sessionId })).session;
      await as(other, JOIN_BY_CODE, { c: accessCode });

      const everyone = [tutor, ann, bob, other];
      const asHost = (await as(tutor, SESSION, { s: sessionId })).session;
      const all = Object.fromEntries(everyone.map((u) => [u.id, u.email]));
      assert.deepEqual(byId(asHost.participants.map((p: any) => p.user)), all);
      assert.deepEqual(byId(asHost.timeline.edges.map((e: any) => e.node.user)), all);
      const report = (await as(tutor, REPORT, { s: sessionId, u: ann.id })).session;
      assert.deepEqual(byId(report.report.attendance.map((a: any) => a.user)), all);
      assert.deepEqual(report.userActivity.user, { id: ann.id, email: ann.email });

      for (const viewer of [bob, other]) {
        const seen = (await as(viewer, SESSION, { s: sessionId })).session;
        const own = Object.fromEntries(everyone.map((u) => [u.id, u === viewer ? u.email : null]));
        assert.deepEqual(seen.host, { id: tutor.id, email: null });
        assert.deepEqual(byId(seen.participants.map((p: any) => p.user)), own);
        assert.deepEqual(byId(seen.timeline.edges.map((e: any) => e.node.user)), own);
        assert.equal(await emailOf(viewer, ann), null);
      }
      assert.equal(await emailOf(stranger, ann), null);
    });

    it("gives each viewer of a live frame their own answer: the host and the user see the email, co-participants null", T, async () => {
      const {
        tutor,
        students: [ann, bob],
        sessionId,
      } = await activeLesson(server, 2);
      const other = await registerUser(server, "TUTOR");
      const { id: classroomId } = (await as(other, CREATE_CLASSROOM)).createClassroom;
      await as(other, ADD_MEMBER, { c: classroomId, u: ann.id });
      await as(other, CONFIRM, { id: (await book(other, ann)).id });
      const { session } = await as(tutor, `query($s: ID!) { session(id: $s) { accessCode board { lastSeq } } }`, { s: sessionId });
      await as(other, JOIN_BY_CODE, { c: session.accessCode });

      // One document for all four viewers: only the viewer tells their frames apart.
      const EMAILS = `subscription($s: ID!, $after: Int) { systemEvents(sessionId: $s, afterSeq: $after) { kind participant { user { id email } } } }`;
      const viewers = [tutor, ann, bob, other];
      const subs = viewers.map((v) => watch(server, v.token, EMAILS, { s: sessionId, after: session.board.lastSeq }));
      await as(ann, `mutation($s: ID!) { raiseHand(sessionId: $s, raised: true) { id } }`, { s: sessionId });
      const seen = await Promise.all(
        subs.map(
          async (sub) =>
            (await sub.until((f) => f.data.systemEvents.kind === "PARTICIPANT_UPDATE" && f.data.systemEvents.participant.user.id === ann.id)).data.systemEvents
              .participant.user,
        ),
      );
      assert.deepEqual(seen, [
        { id: ann.id, email: ann.email },
        { id: ann.id, email: ann.email },
        { id: ann.id, email: null },
        { id: ann.id, email: null },
      ]);
      subs.forEach((s) => s.close());
    });
  });
}
