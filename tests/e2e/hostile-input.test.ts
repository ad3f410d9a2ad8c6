import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import type { GraphQLFormattedError } from "graphql";
import type { Client } from "graphql-ws";
import { assertError, ok } from "../support/assertions";
import { backends } from "../support/backends";
import { activeLesson, type User } from "../support/lesson";
import { registerUser, type TestServer, startTestServer } from "../support/test-server";

/** `leaf` wrapped in `depth` levels of objects ({ a: { a: … } }). */
function nested(depth: number, leaf: unknown): unknown {
  let value = leaf;
  for (let i = 0; i < depth; i++) value = { a: value };
  return value;
}

/** The errors a graphql-ws operation ends with (an `error` message, or a result's errors). */
function overSocket(client: Client, query: string, variables: Record<string, unknown>): Promise<readonly GraphQLFormattedError[]> {
  return new Promise((resolve, reject) => {
    let errors: readonly GraphQLFormattedError[] = [];
    client.subscribe(
      { query, variables },
      {
        next: (result) => (errors = result.errors ?? []),
        error: (err) => (Array.isArray(err) ? resolve(err) : reject(err)),
        complete: () => resolve(errors),
      },
    );
  });
}

const forge = (position: object) => Buffer.from(JSON.stringify(position)).toString("base64url");

/**
 * HARDENING.md "Bad input to try": hostile input at any depth of any argument gets a clear
 * error (BAD_USER_INPUT, or a 400 for a malformed HTTP request), never a 500, nothing stored,
 * and the server keeps serving.
 */
for (const backend of backends) {
  describe(`hostile input [${backend.name}]`, { skip: backend.skip }, () => {
    let server: TestServer;
    let tutor: User;
    let students: User[];
    let sessionId: string;
    /** A session not started yet, whose settings may change. */
    let scheduledId: string;

    const settingsOf = async () => ok(await server.gql(`query($s: ID!) { session(id: $s) { settings } }`, { s: scheduledId }, tutor.token)).session.settings;
    const boardVersion = async () =>
      ok(await server.gql(`query($s: ID!) { session(id: $s) { board { version } } }`, { s: sessionId }, tutor.token)).session.board.version;
    const updateSettingsQuery = `mutation($s: ID!, $v: JSON) { updateSession(id: $s, input: { settings: $v }) { id } }`;
    const updateSettings = (settings: unknown) => server.gql(updateSettingsQuery, { s: scheduledId, v: settings }, tutor.token);
    /** updateSession with the variables' JSON text given as is (for what JSON.stringify cannot write). */
    const updateSettingsRaw = async (settingsJson: string) => {
      const res = await fetch(server.graphqlUrl, {
        method: "POST",
        headers: { "content-type": "application/json", authorization: `Bearer ${tutor.token}` },
        body: `{"query":${JSON.stringify(updateSettingsQuery)},"variables":{"s":"${scheduledId}","v":${settingsJson}}}`,
      });
      const text = await res.text();
      return { status: res.status, headers: res.headers, body: JSON.parse(text), text };
    };
    const applyOp = (data: unknown) =>
      server.gql(
        `mutation($s: ID!, $e: [BoardEventInput!]!) { applyBoardEvents(sessionId: $s, events: $e) { version } }`,
        { s: sessionId, e: [{ clientOpId: `op-${Math.random()}`, type: "OBJECT_CREATE", baseVersion: 0, data }] },
        tutor.token,
      );
    const sendSignal = (payload: unknown) =>
      server.gql(`mutation($s: ID!, $p: JSON!) { sendSignal(sessionId: $s, input: { type: OFFER, payload: $p }) }`, { s: sessionId, p: payload }, tutor.token);

    before(async () => {
      server = await startTestServer(backend);
      ({ tutor, students, sessionId } = await activeLesson(server, 1));
      scheduledId = ok(await server.gql(`mutation { createSession(input: { type: GROUP }) { id } }`, {}, tutor.token)).createSession.id;
    });
    after(() => server?.stop());

    it("refuses NUL or a lone surrogate deeper than 64 levels in settings, board props and a signal payload (BAD_USER_INPUT, nothing stored)", async () => {
      const settingsBefore = await settingsOf();
      const versionBefore = await boardVersion();
      for (const bad of ["a\u0000b", "\ud800", "\udc00x"]) {
        assertError(await updateSettings(nested(70, bad)), "BAD_USER_INPUT");
        assertError(await applyOp({ id: "deep", kind: "rect", props: nested(70, bad) }), "BAD_USER_INPUT");
        assertError(await sendSignal(nested(70, bad)), "BAD_USER_INPUT");
        // within the depth limit too, and as an object key
        assertError(await updateSettings(nested(20, { [bad]: 1 })), "BAD_USER_INPUT");
      }
      assert.deepEqual(await settingsOf(), settingsBefore);
      assert.equal(await boardVersion(), versionBefore);
    });

    it("refuses JSON input deeper than 32 levels, 8 000-deep arrays included (BAD_USER_INPUT), and accepts 32", async () => {
      // as text: JSON.stringify itself overflows the stack on it
      assertError(await updateSettingsRaw(`${"[".repeat(8000)}"x"${"]".repeat(8000)}`), "BAD_USER_INPUT");
      const deep = nested(33, 1);
      assertError(await updateSettings(deep), "BAD_USER_INPUT");
      assertError(await applyOp({ id: "deep", kind: "rect", props: deep }), "BAD_USER_INPUT");
      assertError(await sendSignal(deep), "BAD_USER_INPUT");
      // as a literal in the document, and over WebSocket: the same answer
      const literal = `mutation($s: ID!) { updateSession(id: $s, input: { settings: ${"{ a: ".repeat(33)}1${" }".repeat(33)} }) { id } }`;
      assertError(await server.gql(literal, { s: scheduledId }, tutor.token), "BAD_USER_INPUT");
      const client = server.wsClient(tutor.token);
      for (const [query, variables] of [
        [literal, { s: scheduledId }],
        [updateSettingsQuery, { s: scheduledId, v: deep }],
        [updateSettingsQuery, { s: scheduledId, v: nested(40, "\u0000") }],
      ] as const) {
        const errors = await overSocket(client, query, variables);
        assert.deepEqual(
          errors.map((e) => e.extensions?.code),
          ["BAD_USER_INPUT"],
          JSON.stringify(errors),
        );
      }
      // 32 levels in all: the settings object and 31 below it
      ok(await updateSettings(nested(32, 1)));
      assert.deepEqual(await settingsOf(), nested(32, 1));
    });

    it("refuses numbers past 2^53 (or past any float) and prototype keys in JSON, never polluting a prototype", async () => {
      const settingsBefore = await settingsOf();
      assertError(await updateSettingsRaw(`{"n":1e400}`), "BAD_USER_INPUT"); // Infinity once parsed
      assertError(await updateSettings({ n: 2 ** 53 + 2 }), "BAD_USER_INPUT");
      assertError(await sendSignal([-(2 ** 60)]), "BAD_USER_INPUT");
      for (const key of ["__proto__", "constructor", "prototype"]) {
        assertError(await updateSettingsRaw(`{"x":{"${key}":{"polluted":true}}}`), "BAD_USER_INPUT");
      }
      assert.deepEqual(await settingsOf(), settingsBefore);
      assert.equal(({} as { polluted?: boolean }).polluted, undefined);
      ok(await updateSettings({ small: 1.5, big: 2 ** 53 - 1, negative: -(2 ** 53 - 1) }));
    });

    it("refuses forged cursors with huge numbers (mySessions, myBookings, timeline, replayEvents, snapshots) with BAD_USER_INPUT", async () => {
      const id = "00000000-0000-4000-8000-000000000000";
      // past what a Date (8.64e15 ms) or a Postgres timestamp holds
      for (const at of [Number.MAX_SAFE_INTEGER, -Number.MAX_SAFE_INTEGER, 8.64e15, -8.64e15]) {
        assertError(await server.gql(`query($a: String) { mySessions(after: $a) { totalCount } }`, { a: forge({ at, id }) }, tutor.token), "BAD_USER_INPUT");
        assertError(await server.gql(`query($a: String) { myBookings(after: $a) { totalCount } }`, { a: forge({ at, id }) }, tutor.token), "BAD_USER_INPUT");
      }
      // past a Postgres integer (seq, version)
      for (const n of [Number.MAX_SAFE_INTEGER, -Number.MAX_SAFE_INTEGER, 2 ** 31]) {
        const onSession = async (field: string, after: string) => {
          const res = await server.gql(`query($s: ID!, $a: String) { session(id: $s) { ${field} } }`, { s: sessionId, a: after }, tutor.token);
          assertError(res, "BAD_USER_INPUT");
        };
        await onSession(`timeline(after: $a) { totalCount }`, forge({ s: sessionId, q: n }));
        await onSession(`replayEvents(fromMs: 0, toMs: 1000000, after: $a) { totalCount }`, forge({ s: sessionId, seq: n }));
        await onSession(`snapshots(after: $a) { totalCount }`, forge({ s: sessionId, v: n }));
      }
      // the server keeps serving
      ok(await server.gql(`query { mySessions { totalCount } }`, {}, tutor.token));
    });

    it("refuses a replay or snapshots cursor of another session with BAD_USER_INPUT", async () => {
      ok(await server.gql(`mutation($s: ID!) { saveBoard(sessionId: $s) { version } }`, { s: sessionId }, tutor.token));
      const pages = {
        replay: `replayEvents(fromMs: 0, toMs: 100000000, first: 1, after: $a) { edges { cursor } }`,
        snapshots: `snapshots(first: 1, after: $a) { edges { cursor } }`,
      };
      for (const [name, field] of Object.entries(pages)) {
        const query = `query($s: ID!, $a: String) { session(id: $s) { list: ${field} } }`;
        const [edge] = ok(await server.gql(query, { s: sessionId }, tutor.token)).session.list.edges;
        assert.ok(edge, name);
        ok(await server.gql(query, { s: sessionId, a: edge.cursor }, tutor.token)); // its own session's list takes it
        assertError(await server.gql(query, { s: scheduledId, a: edge.cursor }, tutor.token), "BAD_USER_INPUT");
      }
    });

    it("answers a userId that is not a UUID as a target not in the session (BAD_USER_INPUT) on kick, role change and permissions", async () => {
      const ops = [
        `mutation($s: ID!, $t: ID!) { kickParticipant(sessionId: $s, userId: $t) { id } }`,
        `mutation($s: ID!, $t: ID!) { changeParticipantRole(sessionId: $s, userId: $t, role: VIEWER) { id } }`,
        `mutation($s: ID!, $t: ID!) { updateParticipantPermissions(sessionId: $s, userId: $t, permissions: { canDraw: false }) { id } }`,
      ];
      for (const op of ops) {
        for (const t of ["x", "' OR 1=1 --"]) assertError(await server.gql(op, { s: sessionId, t }, tutor.token), "BAD_USER_INPUT");
      }
      // a real participant is still handled
      ok(await server.gql(ops[1], { s: sessionId, t: students[0].id }, tutor.token));
    });

    it("answers a malformed persisted query with 400 BAD_REQUEST, not a 500", async () => {
      const stranger = await registerUser(server);
      for (const extensions of [
        { persistedQuery: "x" },
        { persistedQuery: { version: 2, sha256Hash: "a".repeat(64) } },
        { persistedQuery: { version: 1, sha256Hash: "not hex" } },
      ]) {
        const res = await fetch(server.graphqlUrl, {
          method: "POST",
          headers: { "content-type": "application/json", authorization: `Bearer ${stranger.token}` },
          body: JSON.stringify({ extensions }),
        });
        const body = (await res.json()) as { errors?: Array<{ extensions?: { code?: string } }> };
        assert.equal(res.status, 400, JSON.stringify(body));
        assert.equal(body.errors?.length, 1, JSON.stringify(body));
        assert.equal(body.errors?.[0].extensions?.code, "BAD_REQUEST", JSON.stringify(body));
      }
      ok(await server.gql(`{ __typename }`));
    });
  });
}
