import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { ok } from "../support/assertions";
import { acrossInstances, backends } from "../support/backends";
import { activeLesson } from "../support/lesson";
import { watch } from "../support/subscriptions";
import { registerUser, startTestServer, startTwoInstances, type TestServer } from "../support/test-server";

/**
 * In-app notices (RULES.md "Timeline event types"): NOTIFICATION systemEvents for a lesson
 * starting soon and a report ready, delivered to whoever is subscribed and never recorded.
 * Push is off here: the in-app notice does not depend on it.
 */
const EVENTS = `subscription($s: ID!, $after: Int) { systemEvents(sessionId: $s, afterSeq: $after) { seq kind status message data at } }`;
const REMINDERS = "lesson-reminders";

/** A booking confirmed by the tutor, starting in 5 minutes: answers the users and the lesson's session id. */
async function lessonSoon(server: TestServer) {
  const [tutor, student] = await Promise.all([registerUser(server, "TUTOR"), registerUser(server, "STUDENT")]);
  const start = new Date(Date.now() + 5 * 60_000);
  const input = { studentId: student.id, scheduledStart: start.toISOString(), scheduledEnd: new Date(start.getTime() + 3_600_000).toISOString() };
  const booking = ok(await server.gql(`mutation($input: CreateBookingInput!) { createBooking(input: $input) { id } }`, { input }, tutor.token)).createBooking;
  const confirmed = ok(
    await server.gql(`mutation($id: ID!) { confirmBooking(id: $id) { session { id board { lastSeq } } } }`, { id: booking.id }, tutor.token),
  );
  const {
    id: sessionId,
    board: { lastSeq },
  } = confirmed.confirmBooking.session;
  return { tutor, student, sessionId: sessionId as string, lastSeq: lastSeq as number, start };
}

/**
 * The system events after `afterSeq` of the session as `token` sees them, once the stream is
 * live: it starts one event earlier and that event (a system event, read back) is taken first,
 * so what is announced next reaches it.
 */
async function systemEvents(server: TestServer, token: string, sessionId: string, afterSeq: number) {
  const stream = watch(server, token, EVENTS, { s: sessionId, after: afterSeq - 1 });
  const first = (await stream.next()).data.systemEvents;
  assert.equal(first.seq, afterSeq);
  return stream;
}

for (const backend of backends) {
  describe(`in-app notices [${backend.name}]`, { skip: backend.skip }, () => {
    let server: TestServer;
    before(async () => {
      server = await startTestServer(backend, { env: { PUSH_ENABLED: "false" } });
    });
    after(() => server?.stop());

    it("tells the host and the invited student that the lesson starts soon, once, without recording it", async () => {
      const { tutor, student, sessionId, lastSeq, start } = await lessonSoon(server);
      const [host, invited] = [await systemEvents(server, tutor.token, sessionId, lastSeq), await systemEvents(server, student.token, sessionId, lastSeq)];

      await server.app.jobs.runNow(REMINDERS);
      for (const stream of [host, invited]) {
        const notice = (await stream.next()).data.systemEvents;
        assert.equal(notice.kind, "NOTIFICATION");
        assert.equal(notice.seq, null);
        assert.match(notice.message, /starts in [45] minutes/);
        assert.equal(notice.data.type, "LESSON_STARTING");
        assert.equal(notice.data.title, "Lesson starting soon");
        assert.equal(notice.data.scheduledStart, start.toISOString());
        assert.equal(typeof notice.data.id, "string");
      }

      // Run again, as the next minute or another instance would: no second notice. The
      // lesson's start, recorded next, is the next thing each stream delivers.
      await server.app.jobs.runNow(REMINDERS);
      ok(await server.gql(`mutation($s: ID!) { joinSession(id: $s) { participant { id } } }`, { s: sessionId }, tutor.token));
      for (const stream of [host, invited]) {
        const next = (await stream.next()).data.systemEvents;
        assert.equal(next.kind, "PARTICIPANT_UPDATE", JSON.stringify(next));
        assert.equal(next.seq, lastSeq + 1);
        stream.close();
      }
      // Never recorded: a resume from the start replays no notice.
      const replay = watch(server, tutor.token, EVENTS, { s: sessionId, after: 0 });
      const replayed = [(await replay.next()).data.systemEvents];
      while (replayed.at(-1).seq < lastSeq + 1) replayed.push((await replay.next()).data.systemEvents);
      assert.ok(!replayed.some((e) => e.kind === "NOTIFICATION"), JSON.stringify(replayed));
      const recorded: Array<{ n: string }> = await server.app.db.query(`SELECT count(*) AS n FROM session_events WHERE session_id = $1`, [sessionId]);
      assert.equal(Number(recorded[0].n), lastSeq + 1);
      replay.close();
    });

    it("reminds again when the lesson is moved, and never for a lesson that has started", async () => {
      const { tutor, sessionId, lastSeq } = await lessonSoon(server);
      const host = await systemEvents(server, tutor.token, sessionId, lastSeq);
      await server.app.jobs.runNow(REMINDERS);
      const first = (await host.next()).data.systemEvents;
      // Moved by 2 minutes: a new start time, a new reminder with its own id.
      const moved = new Date(Date.parse(first.data.scheduledStart) + 2 * 60_000);
      await server.app.db.query(`UPDATE classroom_sessions SET scheduled_start = $2 WHERE id = $1`, [sessionId, moved]);
      await server.app.jobs.runNow(REMINDERS);
      const second = (await host.next()).data.systemEvents;
      assert.equal(second.data.scheduledStart, moved.toISOString());
      assert.notEqual(second.data.id, first.data.id);
      assert.match(second.message, /starts in [67] minutes/);

      ok(await server.gql(`mutation($s: ID!) { joinSession(id: $s) { participant { id } } }`, { s: sessionId }, tutor.token));
      ok(await server.gql(`mutation($s: ID!) { startSession(id: $s) { status } }`, { s: sessionId }, tutor.token));
      await server.app.db.query(`UPDATE classroom_sessions SET scheduled_start = $2 WHERE id = $1`, [sessionId, new Date(Date.now() + 3 * 60_000)]);
      await server.app.jobs.runNow(REMINDERS);
      ok(await server.gql(`mutation($s: ID!, $t: String!) { sendChatMessage(sessionId: $s, text: $t) { seq } }`, { s: sessionId, t: "hi" }, tutor.token));
      const kinds: string[] = [];
      for (;;) {
        const event = (await host.next()).data.systemEvents;
        kinds.push(event.kind);
        if (event.kind === "CHAT_MESSAGE") break;
      }
      assert.deepEqual(kinds, ["PARTICIPANT_UPDATE", "SESSION_STATUS", "CHAT_MESSAGE"]);
      host.close();
    });

    it("tells the host, and not the students, that the report is ready when the lesson completes; the stream then ends", async () => {
      const { tutor, students, sessionId } = await activeLesson(server, 1);
      const [host, student] = [
        watch(server, tutor.token, EVENTS, { s: sessionId, after: 0 }),
        watch(server, students[0].token, EVENTS, { s: sessionId, after: 0 }),
      ];
      const completed = ok(await server.gql(`mutation($s: ID!) { completeSession(id: $s) { status board { lastSeq } } }`, { s: sessionId }, tutor.token));
      assert.equal(completed.completeSession.status, "COMPLETED");

      await host.ended;
      await student.ended;
      const delivered = (stream: typeof host) => stream.received.map((f) => f.frame.data.systemEvents);
      const [hostEvents, studentEvents] = [delivered(host), delivered(student)];
      assert.deepEqual(
        hostEvents.slice(-2).map((e) => [e.kind, e.status, e.seq]),
        [
          ["SESSION_STATUS", "COMPLETED", completed.completeSession.board.lastSeq],
          ["NOTIFICATION", null, null],
        ],
      );
      const report = hostEvents.at(-1);
      assert.equal(report.data.type, "REPORT_READY");
      assert.match(report.message, /report .* is ready/);
      assert.deepEqual(studentEvents.at(-1).status, "COMPLETED");
      assert.ok(!studentEvents.some((e) => e.kind === "NOTIFICATION"));
      assert.equal(host.error, undefined);
    });
  });

  describe(`in-app notices across instances [${backend.name}]`, { skip: acrossInstances(backend) }, () => {
    let a: TestServer;
    let b: TestServer;
    startTwoInstances(
      backend,
      (first, second) => {
        [a, b] = [first, second];
      },
      { PUSH_ENABLED: "false" },
    );

    it("reaches a subscriber on another instance than the one running the job", async () => {
      const { student, sessionId, lastSeq } = await lessonSoon(a);
      const onB = await systemEvents(b, student.token, sessionId, lastSeq);
      await a.app.jobs.runNow(REMINDERS);
      const notice = (await onB.next()).data.systemEvents;
      assert.equal(notice.kind, "NOTIFICATION");
      assert.equal(notice.data.type, "LESSON_STARTING");
      onB.close();
    });
  });
}
