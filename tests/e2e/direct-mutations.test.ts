// Mutations the socket answers without graphql-js (cursor moves, issue 10): whatever the
// document, variables or caller, the client gets exactly what graphql-js answers for the same
// operation over HTTP, as a `next` then a `complete`, and graphql-ws's protocol rules hold.
import assert from "node:assert/strict";
import { after, afterEach, before, describe, it } from "node:test";
import { backends } from "../support/backends";
import { activeLesson, type User } from "../support/lesson";
import { ackedSocket, rawSocket, terminateRawSockets, type RawSocket } from "../support/raw-socket";
import { startTestServer, type TestServer } from "../support/test-server";

const T = { timeout: 20_000 };
const MOVE = `mutation($s: ID!, $x: Float!, $y: Float!, $tool: String) { moveCursor(sessionId: $s, x: $x, y: $y, tool: $tool) }`;

/** An answer without what differs between any two requests (the request id of a masked error). */
function comparable(payload: { data?: unknown; errors?: Array<{ extensions?: Record<string, unknown> }> }) {
  const errors = payload.errors?.map(({ extensions, ...rest }) => {
    const { requestId: _requestId, ...kept } = extensions ?? {};
    return { ...rest, extensions: kept };
  });
  return { data: payload.data, errors };
}

for (const backend of backends) {
  describe(`moveCursor answered on the socket [${backend.name}]`, () => {
    let server: TestServer;
    let lesson: Awaited<ReturnType<typeof activeLesson>>;
    let student: User;
    let next = 0;

    before(async () => {
      server = await startTestServer(backend);
      lesson = await activeLesson(server, 1);
      student = lesson.students[0];
    });
    after(() => server?.stop());
    afterEach(() => terminateRawSockets());

    /** The socket's answer to one operation: its `next` payload, after which `complete` came for the same id. */
    async function overSocket(socket: RawSocket, query: string, variables?: Record<string, unknown>, operationName?: string) {
      const id = `op${next++}`;
      socket.send({ id, type: "subscribe", payload: { query, variables, operationName } });
      const answer = await socket.next();
      if (answer.type === "error") return { errors: answer.payload };
      assert.deepEqual({ id: answer.id, type: answer.type }, { id, type: "next" });
      assert.deepEqual(await socket.next(), { id, type: "complete" });
      return answer.payload;
    }

    /** The same operation over the socket and over HTTP: the answers must be the same. */
    async function sameAnswer(user: User, query: string, variables?: Record<string, unknown>, operationName?: string) {
      const socket = await ackedSocket(server, { authorization: `Bearer ${user.token}` });
      const viaSocket = await overSocket(socket, query, variables, operationName);
      const viaHttp = await server.gql(query, variables, user.token);
      const http = operationName
        ? await fetch(server.graphqlUrl, {
            method: "POST",
            headers: { "content-type": "application/json", authorization: `Bearer ${user.token}` },
            body: JSON.stringify({ query, variables, operationName }),
          }).then((res) => res.json() as Promise<Parameters<typeof comparable>[0]>)
        : viaHttp.body;
      assert.deepEqual(comparable(viaSocket), comparable(http));
      return viaSocket;
    }

    it("answers an accepted move like graphql-js, with variables, literals, an alias or an operation name", T, async () => {
      const s = lesson.sessionId;
      assert.deepEqual(await sameAnswer(student, MOVE, { s, x: 1, y: 2 }), { data: { moveCursor: true } });
      // An integer for a Float, an unused extra variable: coerced and ignored as graphql-js does.
      assert.deepEqual(await sameAnswer(student, MOVE, { s, x: 5, y: 6, other: "x" }), { data: { moveCursor: true } });
      const literal = `mutation { here: moveCursor(sessionId: "${s}", x: 3.5, y: 4, color: "red") }`;
      assert.deepEqual(await sameAnswer(student, literal), { data: { here: true } });
      const named = `mutation Move($s: ID!, $x: Float! = 7) { moveCursor(sessionId: $s, x: $x, y: 1) }`;
      assert.deepEqual(await sameAnswer(student, named, { s }, "Move"), { data: { moveCursor: true } });
    });

    it("answers refused moves with the errors graphql-js gives (codes, paths, locations, messages)", T, async () => {
      const s = lesson.sessionId;
      const cases: Array<[string, User, string, Record<string, unknown>?, string?]> = [
        ["a string for a Float", student, MOVE, { s, x: "left", y: 0 }],
        ["a missing required variable", student, MOVE, { s, x: 1 }],
        ["null for a required variable", student, MOVE, { s, x: 1, y: null }],
        ["a fractional number for an ID", student, MOVE, { s: 1.5, x: 1, y: 0 }],
        ["NUL in a string", student, MOVE, { s, x: 1, y: 0, tool: "pen\u0000" }],
        ["a lone surrogate in an unused variable", student, MOVE, { s, x: 1, y: 0, extra: "\ud800" }],
        ["a cursor over its size", student, MOVE, { s, x: 1, y: 0, tool: "p".repeat(4000) }],
        ["someone without a seat", lesson.stranger, MOVE, { s, x: 1, y: 0 }],
        ["an id that is no uuid", student, MOVE, { s: "x", x: 1, y: 0 }],
        ["an unknown session", student, MOVE, { s: "00000000-0000-4000-8000-000000000000", x: 1, y: 0 }],
        ["an operation name the document lacks", student, MOVE, { s, x: 1, y: 0 }, "Other"],
      ];
      for (const [name, user, query, variables, operationName] of cases) {
        const answer = await sameAnswer(user, query, variables, operationName).catch((err: Error) => {
          throw new Error(`${name}: ${err.message}`);
        });
        assert.ok(answer.errors?.length, `${name}: refused`);
      }
    });

    it("keeps graphql-ws's rules: no operation before the acknowledgement, no id used twice at once", T, async () => {
      const early = await rawSocket(server);
      early.send({ id: "m", type: "subscribe", payload: { query: MOVE, variables: { s: lesson.sessionId, x: 1, y: 0 } } });
      assert.equal(await early.closeCode(), 4401);

      const socket = await ackedSocket(server, { authorization: `Bearer ${student.token}` });
      socket.send({
        id: "p",
        type: "subscribe",
        payload: { query: `subscription($s: ID!) { presence(sessionId: $s) { kind } }`, variables: { s: lesson.sessionId } },
      });
      assert.equal((await socket.next()).payload.data.presence.kind, "STATUS");
      socket.send({ id: "p", type: "subscribe", payload: { query: MOVE, variables: { s: lesson.sessionId, x: 1, y: 0 } } });
      assert.equal(await socket.closeCode(), 4409);
    });
  });
}
