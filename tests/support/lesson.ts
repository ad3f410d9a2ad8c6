import { ok } from "./assertions";
import { registerUser, type TestServer } from "./test-server";

export type User = Awaited<ReturnType<typeof registerUser>>;

/**
 * An ACTIVE group lesson on `server`: a tutor (host, seated) and `students` seated students,
 * plus a stranger with no access. Answers the users and the session id.
 */
export async function activeLesson(server: TestServer, students = 2) {
  const [tutor, stranger, ...seated] = await Promise.all([
    registerUser(server, "TUTOR"),
    registerUser(server, "STUDENT"),
    ...Array.from({ length: students }, () => registerUser(server, "STUDENT")),
  ]);
  const created = ok(await server.gql(`mutation { createSession(input: { type: GROUP }) { id accessCode } }`, {}, tutor.token)).createSession;
  const sessionId: string = created.id;
  ok(await server.gql(`mutation($s: ID!) { joinSession(id: $s) { participant { id } } }`, { s: sessionId }, tutor.token));
  for (const student of seated) {
    ok(await server.gql(`mutation($c: String!) { joinSessionByCode(accessCode: $c) { participant { id } } }`, { c: created.accessCode }, student.token));
  }
  ok(await server.gql(`mutation($s: ID!) { startSession(id: $s) { status } }`, { s: sessionId }, tutor.token));
  return { tutor, stranger, students: seated, sessionId };
}
