import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { codeOf, ok } from "../support/assertions";
import { backends } from "../support/backends";
import { registerUser, startTestServer, type TestServer } from "../support/test-server";

type User = Awaited<ReturnType<typeof registerUser>>;

for (const backend of backends) {
  describe(`chat and raised hands [${backend.name}]`, { skip: backend.skip }, () => {
    let server: TestServer;
    let tutor: User;
    let viewer: User;
    let stranger: User;
    let sessionId: string;

    before(async () => {
      server = await startTestServer(backend);
      [tutor, viewer, stranger] = await Promise.all([registerUser(server, "TUTOR"), registerUser(server, "STUDENT"), registerUser(server, "STUDENT")]);
      const created = ok(await server.gql(`mutation { createSession(input: { type: GROUP }) { id accessCode } }`, {}, tutor.token)).createSession;
      sessionId = created.id;
      ok(await server.gql(`mutation($c: String!) { joinSessionByCode(accessCode: $c) { participant { id } } }`, { c: created.accessCode }, viewer.token));
      ok(
        await server.gql(
          `mutation($s: ID!, $u: ID!) { changeParticipantRole(sessionId: $s, userId: $u, role: VIEWER) { role } }`,
          { s: sessionId, u: viewer.id },
          tutor.token,
        ),
      );
    });
    after(() => server?.stop());

    const chat = (user: User, text: string) =>
      server.gql(
        `mutation($s: ID!, $t: String!) { sendChatMessage(sessionId: $s, text: $t) { seq type data user { id } } }`,
        { s: sessionId, t: text },
        user.token,
      );

    it("lets a VIEWER chat: a CHAT_MESSAGE timeline event and a CHAT_MESSAGE system event", async () => {
      const frames = server.wsClient(tutor.token).iterate<any>({
        query: `subscription($s: ID!) { systemEvents(sessionId: $s, afterSeq: 0) { seq kind message participant { user { id } } } }`,
        variables: { s: sessionId },
      });
      const sent = ok(await chat(viewer, "  Hello, class!  ")).sendChatMessage;
      assert.equal(sent.type, "CHAT_MESSAGE");
      assert.equal(sent.user.id, viewer.id);
      assert.equal(sent.data.text, "Hello, class!");
      for (;;) {
        const event = (await frames.next()).value.data.systemEvents;
        if (event.seq < sent.seq) continue;
        assert.deepEqual(event, { seq: sent.seq, kind: "CHAT_MESSAGE", message: "Hello, class!", participant: { user: { id: viewer.id } } });
        break;
      }
      await frames.return?.();
    });

    it("raises and lowers a hand, once each", async () => {
      const hand = (raised: boolean) =>
        server.gql(`mutation($s: ID!, $r: Boolean!) { raiseHand(sessionId: $s, raised: $r) { handRaised } }`, { s: sessionId, r: raised }, viewer.token);
      assert.equal(ok(await hand(true)).raiseHand.handRaised, true);
      assert.equal(ok(await hand(true)).raiseHand.handRaised, true);
      assert.equal(ok(await hand(false)).raiseHand.handRaised, false);
      const rows: Array<{ type: string }> = await server.app.db.query(
        `SELECT type FROM session_events WHERE session_id = $1 AND type LIKE 'HAND_%' ORDER BY seq`,
        [sessionId],
      );
      assert.deepEqual(
        rows.map((r) => r.type),
        ["HAND_RAISE", "HAND_LOWER"],
      );
    });

    it("refuses empty or long messages, strangers, and those who left", async () => {
      assert.equal(codeOf(await chat(viewer, "   ")), "BAD_USER_INPUT");
      assert.equal(codeOf(await chat(viewer, "x".repeat(2001))), "BAD_USER_INPUT");
      assert.equal(codeOf(await chat(stranger, "hi")), "NOT_FOUND");
      assert.equal(codeOf(await server.gql(`mutation($s: ID!) { sendChatMessage(sessionId: $s, text: "hi") { id } }`, { s: sessionId })), "UNAUTHENTICATED");
      ok(await server.gql(`mutation($s: ID!) { leaveSession(id: $s) { status } }`, { s: sessionId }, viewer.token));
      assert.equal(codeOf(await chat(viewer, "still here?")), "INVALID_STATE");
    });

    it("allows no chat once the session is over", async () => {
      ok(await server.gql(`mutation($s: ID!) { joinSession(id: $s) { participant { id } } }`, { s: sessionId }, tutor.token));
      ok(await server.gql(`mutation($s: ID!) { terminateSession(id: $s) { status } }`, { s: sessionId }, tutor.token));
      assert.equal(codeOf(await chat(tutor, "anyone?")), "INVALID_STATE");
    });
  });
}
