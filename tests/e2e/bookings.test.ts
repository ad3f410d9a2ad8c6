import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { assertError, ok } from "../support/assertions";
import { backends } from "../support/backends";
import { registerUser, startTestServer, type TestServer } from "../support/test-server";

// ---------------------------------------------------------------------------------------
// Helpers

type Registered = Awaited<ReturnType<typeof registerUser>>;

const BOOKING_FIELDS = `id status scheduledStart scheduledEnd tutor { id } student { id } classroom { id } session { id status }`;
const CREATE = `mutation($input: CreateBookingInput!) { createBooking(input: $input) { ${BOOKING_FIELDS} } }`;
const CONFIRM = `mutation($id: ID!) { confirmBooking(id: $id) {
  id status session { id type status scheduledStart scheduledEnd host { id } booking { id }
    participants { user { id } role status } } } }`;
const CANCEL = `mutation($id: ID!) { cancelBooking(id: $id) { id status session { id status } } }`;
const BOOKING = `query($id: ID!) { booking(id: $id) { ${BOOKING_FIELDS} } }`;
const MY_BOOKINGS = `query($statuses: [BookingStatus!], $first: Int, $after: String) {
  myBookings(statuses: $statuses, first: $first, after: $after) {
    totalCount pageInfo { hasNextPage hasPreviousPage startCursor endCursor } edges { cursor node { id status scheduledStart } } } }`;
const SESSION = `query($id: ID!) { session(id: $id) { id status classroom { id } booking { id } } }`;
const JOIN = `mutation($id: ID!) { joinSession(id: $id) { participant { status role } } }`;
const UNKNOWN_ID = "00000000-0000-4000-8000-000000000000";

const HOUR = 3_600_000;
/** Slots far in the future, on whole hours, so they never depend on when the test runs. */
const BASE = Date.UTC(2031, 0, 6, 8);
const at = (hours: number) => new Date(BASE + hours * HOUR).toISOString();
const slot = (startHour: number, hours = 1) => ({ scheduledStart: at(startHour), scheduledEnd: at(startHour + hours) });

// ---------------------------------------------------------------------------------------

for (const backend of backends) {
  describe(`bookings [${backend.name}]`, { skip: backend.skip }, () => {
    let server: TestServer;
    let admin: Registered;
    let outsider: Registered;

    /** A fresh tutor and student, so each test owns its calendar. */
    const pair = async () => {
      const [tutor, student] = await Promise.all([registerUser(server, "TUTOR"), registerUser(server, "STUDENT")]);
      return { tutor, student };
    };
    const book = (tutor: Registered, input: Record<string, unknown>) => server.gql(CREATE, { input }, tutor.token);
    const booked = async (tutor: Registered, student: Registered, startHour = 0, extra: Record<string, unknown> = {}) =>
      ok(await book(tutor, { studentId: student.id, ...slot(startHour), ...extra })).createBooking;
    const confirm = (id: string, by: Registered) => server.gql(CONFIRM, { id }, by.token);
    const cancel = (id: string, by: Registered) => server.gql(CANCEL, { id }, by.token);
    /** The session's timeline event types in seq order (a direct read, for the assertion only). */
    const timeline = async (sessionId: string): Promise<string[]> =>
      (await server.app.db.query(`SELECT type FROM session_events WHERE session_id = $1 ORDER BY seq`, [sessionId])).map((r: { type: string }) => r.type);

    before(async () => {
      server = await startTestServer(backend);
      [admin, outsider] = await Promise.all([registerUser(server, "STUDENT"), registerUser(server, "STUDENT")]);
      // What `npm run admin -- <email>` does (the CLI itself is covered by auth.test.ts).
      await server.app.db.query(`UPDATE users SET role = 'ADMIN' WHERE id = $1`, [admin.id]);
    });
    after(() => server?.stop());

    it("a tutor books a lesson (PENDING); confirming it creates the SCHEDULED lesson, the student INVITED, linked both ways", async () => {
      const { tutor, student } = await pair();
      const booking = await booked(tutor, student, 0);
      assert.deepEqual(booking, {
        id: booking.id,
        status: "PENDING",
        ...slot(0),
        tutor: { id: tutor.id },
        student: { id: student.id },
        classroom: null,
        session: null,
      });

      const confirmed = ok(await confirm(booking.id, tutor)).confirmBooking;
      assert.equal(confirmed.status, "CONFIRMED");
      const session = confirmed.session;
      assert.deepEqual(
        { ...session, id: undefined },
        {
          id: undefined,
          type: "LESSON",
          status: "SCHEDULED",
          ...slot(0),
          host: { id: tutor.id },
          booking: { id: booking.id },
          participants: [{ user: { id: student.id }, role: "STUDENT", status: "INVITED" }],
        },
      );
      assert.deepEqual(await timeline(session.id), ["SESSION_CREATED"]);
      // The student sees the booking and its session, from either side.
      const seen = ok(await server.gql(BOOKING, { id: booking.id }, student.token)).booking;
      assert.deepEqual(seen.session, { id: session.id, status: "SCHEDULED" });
      assert.deepEqual(ok(await server.gql(SESSION, { id: session.id }, student.token)).session, {
        id: session.id,
        status: "SCHEDULED",
        classroom: null,
        booking: { id: booking.id },
      });
    });

    it("lets the booking's student join the lesson by id, without a code", async () => {
      const { tutor, student } = await pair();
      const booking = await booked(tutor, student);
      const sessionId = ok(await confirm(booking.id, tutor)).confirmBooking.session.id;
      assert.deepEqual(ok(await server.gql(JOIN, { id: sessionId }, student.token)).joinSession, {
        participant: { status: "JOINING", role: "STUDENT" },
      });
      assertError(await server.gql(JOIN, { id: sessionId }, outsider.token), "NOT_FOUND");
    });

    it("creates exactly one session when the same booking is confirmed concurrently", async () => {
      const { tutor, student } = await pair();
      const booking = await booked(tutor, student);
      const answers = (await Promise.all([confirm(booking.id, tutor), confirm(booking.id, tutor), confirm(booking.id, admin)])).map(
        (res) => ok(res).confirmBooking,
      );
      const sessionIds = new Set(answers.map((a) => a.session.id));
      assert.equal(sessionIds.size, 1, JSON.stringify(answers));
      assert.deepEqual(
        answers.map((a) => a.status),
        ["CONFIRMED", "CONFIRMED", "CONFIRMED"],
      );
      const [sessionId] = sessionIds;
      const rows = await server.app.db.query(`SELECT id FROM classroom_sessions WHERE booking_id = $1`, [booking.id]);
      assert.deepEqual(rows, [{ id: sessionId }]);
      assert.deepEqual(await timeline(sessionId), ["SESSION_CREATED"]);
    });

    it("answers a CONFIRMED booking unchanged when it is confirmed again", async () => {
      const { tutor, student } = await pair();
      const booking = await booked(tutor, student);
      const first = ok(await confirm(booking.id, tutor)).confirmBooking;
      const again = ok(await confirm(booking.id, tutor)).confirmBooking;
      assert.deepEqual(again, first);
      assert.deepEqual(await timeline(first.session.id), ["SESSION_CREATED"]);
    });

    it("lets only one of two overlapping bookings racing for the same tutor and student succeed", async () => {
      const { tutor, student } = await pair();
      const results = await Promise.all([book(tutor, { studentId: student.id, ...slot(0, 2) }), book(tutor, { studentId: student.id, ...slot(1, 2) })]);
      const won = results.filter((r) => r.body.data?.createBooking);
      const lost = results.filter((r) => r.body.errors);
      assert.equal(won.length, 1, results.map((r) => r.text).join("\n"));
      assert.equal(lost.length, 1);
      assertError(lost[0], "CONFLICT", "DOUBLE_BOOKING");
      assert.equal(ok(await server.gql(MY_BOOKINGS, {}, tutor.token)).myBookings.totalCount, 1);
    });

    it("lets only one of two tutors racing to book the same student at overlapping times succeed", async () => {
      const { tutor, student } = await pair();
      const otherTutor = await registerUser(server, "TUTOR");
      const results = await Promise.all([book(tutor, { studentId: student.id, ...slot(0, 2) }), book(otherTutor, { studentId: student.id, ...slot(1, 2) })]);
      assert.equal(results.filter((r) => r.body.data?.createBooking).length, 1, results.map((r) => r.text).join("\n"));
      const [lost] = results.filter((r) => r.body.errors);
      assert.equal(assertError(lost, "CONFLICT", "DOUBLE_BOOKING").extensions?.party, "STUDENT");
      assert.equal(ok(await server.gql(MY_BOOKINGS, {}, student.token)).myBookings.totalCount, 1);
    });

    it("refuses a slot overlapping the tutor's or the student's PENDING or CONFIRMED booking; back to back and over a cancelled one are fine", async () => {
      const { tutor, student } = await pair();
      const [otherStudent, otherTutor] = await Promise.all([registerUser(server, "STUDENT"), registerUser(server, "TUTOR")]);
      const pending = await booked(tutor, student, 10);
      const confirmed = await booked(tutor, student, 12);
      ok(await confirm(confirmed.id, tutor));

      const tutorBusy = assertError(await book(tutor, { studentId: otherStudent.id, ...slot(10.5) }), "CONFLICT", "DOUBLE_BOOKING");
      assert.equal(tutorBusy.extensions?.party, "TUTOR");
      assert.equal(assertError(await book(tutor, { studentId: otherStudent.id, ...slot(12.5) }), "CONFLICT").extensions?.party, "TUTOR");
      const studentBusy = assertError(await book(otherTutor, { studentId: student.id, ...slot(9.5) }), "CONFLICT", "DOUBLE_BOOKING");
      assert.equal(studentBusy.extensions?.party, "STUDENT");
      // Enclosing another booking is an overlap too.
      assertError(await book(otherTutor, { studentId: student.id, ...slot(11.5, 3) }), "CONFLICT", "DOUBLE_BOOKING");

      // Half-open slots: 11:00-12:00 sits between 10-11 and 12-13.
      assert.equal((await booked(tutor, student, 11)).status, "PENDING");
      ok(await cancel(pending.id, student));
      assert.equal((await booked(otherTutor, student, 10)).status, "PENDING");
    });

    it("refuses createBooking: students and admins FORBIDDEN; not a student, unknown ids, end not after start BAD_USER_INPUT", async () => {
      const { tutor, student } = await pair();
      const otherTutor = await registerUser(server, "TUTOR");
      assertError(await book(student, { studentId: outsider.id, ...slot(0) }), "FORBIDDEN");
      assertError(await book(admin, { studentId: student.id, ...slot(0) }), "FORBIDDEN");
      for (const studentId of [otherTutor.id, admin.id, UNKNOWN_ID, "not-a-uuid"]) {
        assert.equal(assertError(await book(tutor, { studentId, ...slot(0) }), "BAD_USER_INPUT").extensions?.field, "studentId");
      }
      for (const times of [
        { scheduledStart: at(1), scheduledEnd: at(1) },
        { scheduledStart: at(2), scheduledEnd: at(1) },
      ]) {
        assert.equal(assertError(await book(tutor, { studentId: student.id, ...times }), "BAD_USER_INPUT").extensions?.field, "scheduledEnd");
      }
      assertError(await book(tutor, { studentId: student.id, scheduledStart: "tomorrow", scheduledEnd: at(1) }), "BAD_USER_INPUT");
      assert.equal(ok(await server.gql(MY_BOOKINGS, {}, tutor.token)).myBookings.totalCount, 0);
    });

    it("books into the tutor's own classroom only (another's: NOT_FOUND; as a member: FORBIDDEN)", async () => {
      const { tutor, student } = await pair();
      const otherTutor = await registerUser(server, "TUTOR");
      const createClassroom = async (owner: Registered) =>
        ok(await server.gql(`mutation { createClassroom(name: "Lessons") { id } }`, {}, owner.token)).createClassroom.id as string;
      const own = await createClassroom(tutor);
      const foreign = await createClassroom(otherTutor);
      const memberOf = await createClassroom(otherTutor);
      ok(
        await server.gql(
          `mutation($c: ID!, $u: ID!) { addClassroomMember(classroomId: $c, userId: $u) { id } }`,
          { c: memberOf, u: tutor.id },
          otherTutor.token,
        ),
      );

      assertError(await book(tutor, { studentId: student.id, classroomId: foreign, ...slot(0) }), "NOT_FOUND");
      assertError(await book(tutor, { studentId: student.id, classroomId: UNKNOWN_ID, ...slot(0) }), "NOT_FOUND");
      assertError(await book(tutor, { studentId: student.id, classroomId: memberOf, ...slot(0) }), "FORBIDDEN");

      const booking = await booked(tutor, student, 0, { classroomId: own });
      assert.deepEqual(booking.classroom, { id: own });
      // The student is not a member: the booking is theirs, the classroom is not.
      assert.equal(ok(await server.gql(BOOKING, { id: booking.id }, student.token)).booking.classroom, null);
      const sessionId = ok(await confirm(booking.id, tutor)).confirmBooking.session.id;
      assert.deepEqual(ok(await server.gql(SESSION, { id: sessionId }, tutor.token)).session.classroom, { id: own });

      // A member reads the classroom's session, but not the booking behind it.
      const member = await registerUser(server, "STUDENT");
      ok(await server.gql(`mutation($c: ID!, $u: ID!) { addClassroomMember(classroomId: $c, userId: $u) { id } }`, { c: own, u: member.id }, tutor.token));
      assert.deepEqual(ok(await server.gql(SESSION, { id: sessionId }, member.token)).session, {
        id: sessionId,
        status: "SCHEDULED",
        classroom: { id: own },
        booking: null,
      });
      assert.deepEqual(ok(await server.gql(BOOKING, { id: booking.id }, member.token)), { booking: null });
    });

    it("refuses confirmBooking: the student FORBIDDEN, anyone else NOT_FOUND, a cancelled booking INVALID_STATE", async () => {
      const { tutor, student } = await pair();
      const otherTutor = await registerUser(server, "TUTOR");
      const booking = await booked(tutor, student);
      assertError(await confirm(booking.id, student), "FORBIDDEN");
      assertError(await confirm(booking.id, outsider), "NOT_FOUND");
      assertError(await confirm(booking.id, otherTutor), "NOT_FOUND");
      assertError(await confirm(UNKNOWN_ID, tutor), "NOT_FOUND");
      assertError(await confirm("not-a-uuid", tutor), "NOT_FOUND");
      assert.equal(ok(await server.gql(BOOKING, { id: booking.id }, tutor.token)).booking.status, "PENDING");
      ok(await cancel(booking.id, tutor));
      assertError(await confirm(booking.id, tutor), "INVALID_STATE");
      assert.equal(ok(await server.gql(BOOKING, { id: booking.id }, tutor.token)).booking.session, null);
    });

    it("cancels: a pending booking by its student; a confirmed one by its tutor, terminating the lesson that has not started", async () => {
      const { tutor, student } = await pair();
      const pending = await booked(tutor, student, 0);
      assert.deepEqual(ok(await cancel(pending.id, student)).cancelBooking, { id: pending.id, status: "CANCELLED", session: null });

      const confirmed = await booked(tutor, student, 2);
      const sessionId = ok(await confirm(confirmed.id, tutor)).confirmBooking.session.id;
      ok(await server.gql(JOIN, { id: sessionId }, student.token));
      assert.deepEqual(ok(await cancel(confirmed.id, tutor)).cancelBooking, {
        id: confirmed.id,
        status: "CANCELLED",
        session: { id: sessionId, status: "TERMINATED" },
      });
      assert.deepEqual(await timeline(sessionId), ["SESSION_CREATED", "PARTICIPANT_JOIN", "SESSION_TERMINATE"]);
      assertError(await server.gql(JOIN, { id: sessionId }, student.token), "INVALID_STATE");
    });

    // RULES.md "Participants" (CHANGELOG 2026-12-01): cancelBooking only while the lesson has
    // not started; a lesson under way is its host's to end (it used to be left running, the
    // booking cancelled).
    it("refuses cancelBooking once the lesson has started (INVALID_STATE): booking and lesson go on", async () => {
      const { tutor, student } = await pair();
      const booking = await booked(tutor, student);
      const sessionId = ok(await confirm(booking.id, tutor)).confirmBooking.session.id;
      ok(await server.gql(`mutation($id: ID!) { startSession(id: $id) { status } }`, { id: sessionId }, tutor.token));
      for (const by of [student, tutor, admin]) assertError(await cancel(booking.id, by), "INVALID_STATE");
      assert.equal(ok(await server.gql(BOOKING, { id: booking.id }, student.token)).booking.status, "CONFIRMED");
      assert.deepEqual(ok(await server.gql(BOOKING, { id: booking.id }, tutor.token)).booking.session, { id: sessionId, status: "ACTIVE" });
      assert.deepEqual(await timeline(sessionId), ["SESSION_CREATED", "SESSION_START"]);
    });

    it("refuses cancelBooking to a student kicked from the lesson (FORBIDDEN): the lesson is not terminated", async () => {
      const { tutor, student } = await pair();
      const booking = await booked(tutor, student);
      const sessionId = ok(await confirm(booking.id, tutor)).confirmBooking.session.id;
      ok(await server.gql(JOIN, { id: sessionId }, student.token));
      ok(
        await server.gql(`mutation($s: ID!, $u: ID!) { kickParticipant(sessionId: $s, userId: $u) { status } }`, { s: sessionId, u: student.id }, tutor.token),
      );
      assertError(await cancel(booking.id, student), "FORBIDDEN");
      const kept = ok(await server.gql(BOOKING, { id: booking.id }, tutor.token)).booking;
      assert.deepEqual([kept.status, kept.session], ["CONFIRMED", { id: sessionId, status: "SCHEDULED" }]);
      assert.deepEqual(await timeline(sessionId), ["SESSION_CREATED", "PARTICIPANT_JOIN", "PARTICIPANT_KICK"]);
      // The tutor still may: the refusal is the kicked student's alone.
      assert.deepEqual(ok(await cancel(booking.id, tutor)).cancelBooking.session, { id: sessionId, status: "TERMINATED" });
    });

    it("refuses cancelBooking: anyone else NOT_FOUND, a cancelled booking INVALID_STATE; an admin may cancel", async () => {
      const { tutor, student } = await pair();
      const booking = await booked(tutor, student);
      assertError(await cancel(booking.id, outsider), "NOT_FOUND");
      assertError(await cancel(UNKNOWN_ID, tutor), "NOT_FOUND");
      assert.equal(ok(await cancel(booking.id, admin)).cancelBooking.status, "CANCELLED");
      assertError(await cancel(booking.id, tutor), "INVALID_STATE");
      assertError(await cancel(booking.id, student), "INVALID_STATE");
    });

    it("answers booking(id) to its tutor, its student and admins; null to anyone else", async () => {
      const { tutor, student } = await pair();
      const otherTutor = await registerUser(server, "TUTOR");
      const booking = await booked(tutor, student);
      for (const reader of [tutor, student, admin]) {
        assert.equal(ok(await server.gql(BOOKING, { id: booking.id }, reader.token)).booking.id, booking.id);
      }
      for (const [reader, id] of [
        [outsider, booking.id],
        [otherTutor, booking.id],
        [tutor, UNKNOWN_ID],
        [tutor, "not-a-uuid"],
      ] as const) {
        assert.deepEqual(ok(await server.gql(BOOKING, { id }, reader.token)), { booking: null });
      }
    });

    it("lists myBookings as tutor and as student, by scheduledStart then id, filtered by status, page by page", async () => {
      const { tutor, student } = await pair();
      const otherStudent = await registerUser(server, "STUDENT");
      // Made out of order: the list is by time.
      const late = await booked(tutor, student, 30);
      const early = await booked(tutor, student, 20);
      const middle = await booked(tutor, otherStudent, 25);
      const cancelled = await booked(tutor, student, 40);
      ok(await confirm(middle.id, tutor));
      ok(await cancel(cancelled.id, tutor));

      const all = ok(await server.gql(MY_BOOKINGS, {}, tutor.token)).myBookings;
      assert.equal(all.totalCount, 4);
      assert.deepEqual(
        all.edges.map((e: any) => e.node.id),
        [early.id, middle.id, late.id, cancelled.id],
      );
      assert.deepEqual(all.pageInfo, {
        hasNextPage: false,
        hasPreviousPage: false,
        startCursor: all.edges[0].cursor,
        endCursor: all.edges[3].cursor,
      });
      const asStudent = ok(await server.gql(MY_BOOKINGS, {}, student.token)).myBookings;
      assert.deepEqual(
        asStudent.edges.map((e: any) => e.node.id),
        [early.id, late.id, cancelled.id],
      );

      const live = ok(await server.gql(MY_BOOKINGS, { statuses: ["PENDING", "CONFIRMED"], first: 2 }, tutor.token)).myBookings;
      assert.equal(live.totalCount, 3);
      assert.deepEqual(
        live.edges.map((e: any) => e.node.id),
        [early.id, middle.id],
      );
      assert.equal(live.pageInfo.hasNextPage, true);
      const rest = ok(await server.gql(MY_BOOKINGS, { statuses: ["PENDING", "CONFIRMED"], first: 2, after: live.pageInfo.endCursor }, tutor.token)).myBookings;
      assert.equal(rest.totalCount, 3);
      assert.deepEqual(
        rest.edges.map((e: any) => e.node.id),
        [late.id],
      );
      assert.deepEqual([rest.pageInfo.hasNextPage, rest.pageInfo.hasPreviousPage], [false, true]);

      const confirmedOnly = ok(await server.gql(MY_BOOKINGS, { statuses: ["CONFIRMED"] }, tutor.token)).myBookings;
      assert.deepEqual(
        confirmedOnly.edges.map((e: any) => e.node.status),
        ["CONFIRMED"],
      );
      assert.equal(ok(await server.gql(MY_BOOKINGS, {}, outsider.token)).myBookings.totalCount, 0);
    });

    it("orders bookings at the same time by id, without skipping or repeating across pages", async () => {
      const { tutor, student } = await pair();
      // Only cancelled bookings free their slot, so same-time bookings are rebookings.
      const ids: string[] = [];
      for (let i = 0; i < 3; i++) {
        const booking = await booked(tutor, student, 50);
        ids.push(booking.id);
        if (i < 2) ok(await cancel(booking.id, tutor));
      }
      const seen: string[] = [];
      let after: string | undefined;
      for (let page = 0; page < 5; page++) {
        const { myBookings } = ok(await server.gql(MY_BOOKINGS, { first: 1, after }, student.token));
        assert.equal(myBookings.totalCount, 3);
        seen.push(...myBookings.edges.map((e: any) => e.node.id));
        if (!myBookings.pageInfo.hasNextPage) break;
        after = myBookings.pageInfo.endCursor;
      }
      assert.deepEqual(seen, [...ids].sort());
    });

    it("answers BAD_USER_INPUT for a page size over 100 and for a forged cursor", async () => {
      const { tutor } = await pair();
      assertError(await server.gql(MY_BOOKINGS, { first: 101 }, tutor.token), "BAD_USER_INPUT");
      assertError(await server.gql(MY_BOOKINGS, { first: -1 }, tutor.token), "BAD_USER_INPUT");
      for (const after of ["not-a-cursor", Buffer.from(JSON.stringify({ at: "x", id: 1 })).toString("base64url")]) {
        assertError(await server.gql(MY_BOOKINGS, { after }, tutor.token), "BAD_USER_INPUT");
      }
      assert.equal(ok(await server.gql(MY_BOOKINGS, { first: 100 }, tutor.token)).myBookings.totalCount, 0);
    });

    it("answers UNAUTHENTICATED to every booking operation without a token", async () => {
      const { tutor, student } = await pair();
      const booking = await booked(tutor, student);
      for (const [query, variables] of [
        [BOOKING, { id: booking.id }],
        [MY_BOOKINGS, {}],
        [CREATE, { input: { studentId: student.id, ...slot(5) } }],
        [CONFIRM, { id: booking.id }],
        [CANCEL, { id: booking.id }],
      ] as const) {
        assertError(await server.gql(query, variables), "UNAUTHENTICATED");
      }
      assert.equal(ok(await server.gql(BOOKING, { id: booking.id }, tutor.token)).booking.status, "PENDING");
    });
  });
}
