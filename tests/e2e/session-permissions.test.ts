import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { codeOf } from "../support/assertions";
import { backends } from "../support/backends";
import { registerUser, startTestServer, type TestServer } from "../support/test-server";

type User = Awaited<ReturnType<typeof registerUser>>;

/**
 * RULES.md "Who has access to a session", one row per operation: who may, and what the
 * others get. `student` is a participant without the needed permission; `stranger` has no
 * access at all; `anonymous` sends no token.
 */
const operations: Array<{ name: string; document: string; vars?: (ids: { session: string; target: string }) => object; forbiddenFor: "student" | null }> = [
  { name: "updateSession", document: `mutation($s: ID!) { updateSession(id: $s, input: { title: "x" }) { id } }`, forbiddenFor: "student" },
  { name: "deleteSession", document: `mutation($s: ID!) { deleteSession(id: $s) }`, forbiddenFor: "student" },
  { name: "startSession", document: `mutation($s: ID!) { startSession(id: $s) { id } }`, forbiddenFor: "student" },
  { name: "pauseSession", document: `mutation($s: ID!) { pauseSession(id: $s) { id } }`, forbiddenFor: "student" },
  { name: "resumeSession", document: `mutation($s: ID!) { resumeSession(id: $s) { id } }`, forbiddenFor: "student" },
  { name: "completeSession", document: `mutation($s: ID!) { completeSession(id: $s) { id } }`, forbiddenFor: "student" },
  { name: "terminateSession", document: `mutation($s: ID!) { terminateSession(id: $s) { id } }`, forbiddenFor: "student" },
  { name: "kickParticipant", document: `mutation($s: ID!, $t: ID!) { kickParticipant(sessionId: $s, userId: $t) { id } }`, forbiddenFor: "student" },
  {
    name: "changeParticipantRole",
    document: `mutation($s: ID!, $t: ID!) { changeParticipantRole(sessionId: $s, userId: $t, role: VIEWER) { id } }`,
    forbiddenFor: "student",
  },
  {
    name: "updateParticipantPermissions",
    document: `mutation($s: ID!, $t: ID!) { updateParticipantPermissions(sessionId: $s, userId: $t, permissions: { canDraw: false }) { id } }`,
    forbiddenFor: "student",
  },
  { name: "joinSession", document: `mutation($s: ID!) { joinSession(id: $s) { sessionToken } }`, forbiddenFor: null },
  { name: "leaveSession", document: `mutation($s: ID!) { leaveSession(id: $s) { id } }`, forbiddenFor: null },
  { name: "updateMediaState", document: `mutation($s: ID!) { updateMediaState(sessionId: $s, input: { audioEnabled: false }) { id } }`, forbiddenFor: null },
];

for (const backend of backends) {
  describe(`who may do what in a session [${backend.name}]`, { skip: backend.skip }, () => {
    let server: TestServer;
    let host: User;
    let student: User;
    let target: User;
    let stranger: User;
    let sessionId: string;

    before(async () => {
      server = await startTestServer(backend);
      [host, student, target, stranger] = await Promise.all([
        registerUser(server, "TUTOR"),
        registerUser(server, "STUDENT"),
        registerUser(server, "STUDENT"),
        registerUser(server, "STUDENT"),
      ]);
      const created = await server.gql(`mutation { createSession(input: { type: GROUP }) { id accessCode } }`, {}, host.token);
      sessionId = created.body.data.createSession.id;
      for (const user of [student, target]) {
        await server.gql(
          `mutation($c: String!) { joinSessionByCode(accessCode: $c) { participant { id } } }`,
          { c: created.body.data.createSession.accessCode },
          user.token,
        );
      }
    });
    after(() => server?.stop());

    for (const op of operations) {
      it(`${op.name}: UNAUTHENTICATED without a token, NOT_FOUND without access${op.forbiddenFor ? ", FORBIDDEN for a student" : ""}`, async () => {
        const vars = { s: sessionId, t: target.id };
        assert.equal(codeOf(await server.gql(op.document, vars)), "UNAUTHENTICATED");
        const strangerRes = await server.gql(op.document, vars, stranger.token);
        assert.equal(codeOf(strangerRes), "NOT_FOUND", strangerRes.text);
        assert.doesNotMatch(strangerRes.text, new RegExp(host.id)); // nothing about the session leaks
        if (op.forbiddenFor) assert.equal(codeOf(await server.gql(op.document, vars, student.token)), "FORBIDDEN");
        const unknown = await server.gql(op.document, { ...vars, s: "00000000-0000-4000-8000-000000000000" }, host.token);
        assert.equal(codeOf(unknown), "NOT_FOUND");
      });
    }

    it("session: null for a stranger and an unknown id, UNAUTHENTICATED without a token", async () => {
      const q = `query($s: ID!) { session(id: $s) { id } }`;
      assert.equal((await server.gql(q, { s: sessionId }, stranger.token)).body.data.session, null);
      assert.equal((await server.gql(q, { s: "not-a-uuid" }, host.token)).body.data.session, null);
      assert.equal(codeOf(await server.gql(q, { s: sessionId })), "UNAUTHENTICATED");
      assert.equal((await server.gql(q, { s: sessionId }, student.token)).body.data.session.id, sessionId);
    });

    it("systemEvents: NOT_FOUND for a stranger, with no event", async () => {
      const client = server.wsClient(stranger.token);
      const result = await new Promise<{ events: unknown[]; error: any }>((resolve) => {
        const events: unknown[] = [];
        client.subscribe(
          { query: `subscription($s: ID!) { systemEvents(sessionId: $s, afterSeq: 0) { seq } }`, variables: { s: sessionId } },
          {
            next: (v) => (v.errors ? resolve({ events, error: v.errors }) : events.push(v)),
            error: (e) => resolve({ events, error: e }),
            complete: () => resolve({ events, error: null }),
          },
        );
      });
      assert.deepEqual(result.events, []);
      assert.equal(result.error?.[0]?.extensions?.code, "NOT_FOUND");
    });

    it("grants overlay role defaults: a student granted canPause may pause, and a VIEWER may not turn video on", async () => {
      await server.gql(`mutation($s: ID!) { startSession(id: $s) { id } }`, { s: sessionId }, host.token);
      const granted = await server.gql(
        `mutation($s: ID!, $t: ID!) { updateParticipantPermissions(sessionId: $s, userId: $t, permissions: { canPause: true }) { permissions { canPause canDraw } } }`,
        { s: sessionId, t: student.id },
        host.token,
      );
      assert.deepEqual(granted.body.data.updateParticipantPermissions.permissions, { canPause: true, canDraw: true });
      assert.equal(
        (await server.gql(`mutation($s: ID!) { pauseSession(id: $s) { status } }`, { s: sessionId }, student.token)).body.data.pauseSession.status,
        "PAUSED",
      );
      const role = await server.gql(
        `mutation($s: ID!, $t: ID!) { changeParticipantRole(sessionId: $s, userId: $t, role: VIEWER) { role permissions { canToggleVideo canExport } } }`,
        { s: sessionId, t: target.id },
        host.token,
      );
      assert.deepEqual(role.body.data.changeParticipantRole, { role: "VIEWER", permissions: { canToggleVideo: false, canExport: true } });
      const video = await server.gql(
        `mutation($s: ID!) { updateMediaState(sessionId: $s, input: { videoEnabled: true }) { id } }`,
        { s: sessionId },
        target.token,
      );
      assert.equal(codeOf(video), "FORBIDDEN");
    });

    it("answers BAD_USER_INPUT for a target that is not in the session, and FORBIDDEN for kicking the host", async () => {
      const notIn = await server.gql(
        `mutation($s: ID!, $t: ID!) { kickParticipant(sessionId: $s, userId: $t) { id } }`,
        { s: sessionId, t: stranger.id },
        host.token,
      );
      assert.equal(codeOf(notIn), "BAD_USER_INPUT");
      const granted = await server.gql(
        `mutation($s: ID!, $t: ID!) { updateParticipantPermissions(sessionId: $s, userId: $t, permissions: { canKick: true }) { id } }`,
        { s: sessionId, t: student.id },
        host.token,
      );
      assert.ok(granted.body.data);
      const kickHost = await server.gql(
        `mutation($s: ID!, $t: ID!) { kickParticipant(sessionId: $s, userId: $t) { id } }`,
        { s: sessionId, t: host.id },
        student.token,
      );
      assert.equal(codeOf(kickHost), "FORBIDDEN");
    });

    it("rolePermissions answers the defaults of RULES.md", async () => {
      const q = `query($r: ParticipantRole!) { rolePermissions(role: $r) { canDraw canDeleteLayers canExport canShareScreen canKick } }`;
      const expected = {
        HOST: { canDraw: true, canDeleteLayers: true, canExport: true, canShareScreen: true, canKick: true },
        STUDENT: { canDraw: true, canDeleteLayers: false, canExport: true, canShareScreen: true, canKick: false },
        VIEWER: { canDraw: false, canDeleteLayers: false, canExport: true, canShareScreen: false, canKick: false },
        SOLO: { canDraw: true, canDeleteLayers: true, canExport: true, canShareScreen: true, canKick: false },
      };
      for (const [role, flags] of Object.entries(expected)) {
        assert.deepEqual((await server.gql(q, { r: role }, student.token)).body.data.rolePermissions, flags, role);
      }
      assert.equal(codeOf(await server.gql(q, { r: "HOST" })), "UNAUTHENTICATED");
    });

    it("accepts a session token on the realtime connection for its own session only", async () => {
      const join = await server.gql(`mutation($s: ID!) { joinSession(id: $s) { sessionToken } }`, { s: sessionId }, student.token);
      const sessionToken = join.body.data.joinSession.sessionToken;
      const other = await server.gql(`mutation { createSession(input: { type: GROUP }) { id } }`, {}, host.token);
      const client = server.wsClient(sessionToken);
      const run = (query: string, variables: Record<string, unknown>) =>
        new Promise<any>((resolve, reject) => {
          let result: unknown;
          client.subscribe({ query, variables }, { next: (v) => (result = v), error: reject, complete: () => resolve(result) });
        });
      const mine = await run(`query($s: ID!) { session(id: $s) { id } }`, { s: sessionId });
      assert.equal(mine.data.session.id, sessionId);
      const elsewhere = await run(`query($s: ID!) { session(id: $s) { id } }`, { s: other.body.data.createSession.id });
      assert.equal(elsewhere.errors?.[0]?.extensions?.code, "FORBIDDEN");
      const me = await run(`{ me { id } }`, {});
      assert.equal(me.errors?.[0]?.extensions?.code, "FORBIDDEN");
      // Over HTTP a session token is not an access token at all.
      assert.equal(codeOf(await server.gql(`query($s: ID!) { session(id: $s) { id } }`, { s: sessionId }, sessionToken)), "UNAUTHENTICATED");
    });

    it("lets only tutors create sessions", async () => {
      const res = await server.gql(`mutation { createSession(input: { type: GROUP }) { id } }`, {}, student.token);
      assert.equal(codeOf(res), "FORBIDDEN");
    });
  });
}
