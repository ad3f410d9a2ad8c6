import { randomBytes } from "node:crypto";
import { ok } from "./assertions";
import type { User } from "./lesson";
import { registerUser, type TestServer } from "./test-server";

const HOUR = 3_600_000;

/**
 * Two finished lessons of one tutor, scripted through the API (issue 18), and a third one
 * still ACTIVE, so statistics, exports and erasure can be checked against counts known here:
 *
 * - lesson 1 (GROUP, COMPLETED): ann and ben join; ann draws 2 strokes and sends 1 chat
 *   message, ben sends 1, the tutor draws 1 and sends 1;
 * - lesson 2 (a confirmed booking for cal, TERMINATED): cal is invited but never joins; ann
 *   joins by code and draws 1 stroke;
 * - lesson 3 (GROUP, still ACTIVE): ben joins and sends 1 chat message.
 */
export async function scriptedLessons(server: TestServer) {
  const [tutor, ann, ben, cal] = await Promise.all([
    registerUser(server, "TUTOR"),
    registerUser(server, "STUDENT"),
    registerUser(server, "STUDENT"),
    registerUser(server, "STUDENT"),
  ]);
  const gql = (user: User, query: string, variables: Record<string, unknown> = {}) => server.gql(query, variables, user.token).then(ok);
  let strokes = 0;
  const draw = (user: User, sessionId: string) =>
    gql(user, `mutation($s: ID!, $e: [BoardEventInput!]!) { applyBoardEvents(sessionId: $s, events: $e) { version } }`, {
      s: sessionId,
      e: [
        {
          clientOpId: `op-${++strokes}`,
          type: "STROKE",
          baseVersion: 0,
          data: {
            id: `s${strokes}`,
            points: [
              [0, 0],
              [5, 5],
            ],
            color: "#000",
          },
        },
      ],
    });
  const chat = (user: User, sessionId: string, text: string) =>
    gql(user, `mutation($s: ID!, $t: String!) { sendChatMessage(sessionId: $s, text: $t) { seq } }`, { s: sessionId, t: text });
  const joinByCode = (user: User, code: string) => gql(user, `mutation($c: String!) { joinSessionByCode(accessCode: $c) { participant { id } } }`, { c: code });
  const act = (user: User, action: string, sessionId: string) => gql(user, `mutation($s: ID!) { ${action}(id: $s) { status } }`, { s: sessionId });
  const join = (user: User, sessionId: string) => gql(user, `mutation($s: ID!) { joinSession(id: $s) { participant { id } } }`, { s: sessionId });
  const group = async () => (await gql(tutor, `mutation { createSession(input: { type: GROUP }) { id accessCode } }`)).createSession;

  const first = await group();
  await join(tutor, first.id);
  await joinByCode(ann, first.accessCode);
  await joinByCode(ben, first.accessCode);
  await act(tutor, "startSession", first.id);
  await draw(ann, first.id);
  await draw(ann, first.id);
  await draw(tutor, first.id);
  await chat(ann, first.id, "ann says hello");
  await chat(ben, first.id, "ben says hello");
  await chat(tutor, first.id, "tutor says hello");
  await act(tutor, "completeSession", first.id);

  // Far enough in the future never to clash with another test's booking.
  const start = Date.UTC(2032, 0, 1) + (randomBytes(2).readUInt16BE() % 5000) * HOUR;
  const booking = (
    await gql(tutor, `mutation($input: CreateBookingInput!) { createBooking(input: $input) { id } }`, {
      input: { studentId: cal.id, scheduledStart: new Date(start).toISOString(), scheduledEnd: new Date(start + HOUR).toISOString() },
    })
  ).createBooking;
  const second = (await gql(tutor, `mutation($id: ID!) { confirmBooking(id: $id) { session { id accessCode } } }`, { id: booking.id })).confirmBooking.session;
  await join(tutor, second.id);
  await joinByCode(ann, second.accessCode);
  await act(tutor, "startSession", second.id);
  await draw(ann, second.id);
  await act(tutor, "terminateSession", second.id);

  const live = await group();
  await join(tutor, live.id);
  await joinByCode(ben, live.accessCode);
  await act(tutor, "startSession", live.id);
  await chat(ben, live.id, "ben in a live lesson");

  return { tutor, ann, ben, cal, lessons: [first.id as string, second.id as string], liveLesson: live.id as string };
}
