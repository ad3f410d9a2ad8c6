import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { assertError, ok } from "../support/assertions";
import { backends } from "../support/backends";
import { activeLesson, type User } from "../support/lesson";
import { watch } from "../support/subscriptions";
import { startTestServer, type TestServer } from "../support/test-server";

// Issue 11: signals and presence reach seated participants only; a participant who left (or
// was disconnected) gets no more ICE candidates or cursors, and writes nothing (RULES.md
// "Participants").

const T = { timeout: 20_000 };
const PRESENCE = `subscription($s: ID!) { presence(sessionId: $s) { kind user { id } cursors { userId } } }`;
const SIGNALS = `subscription($s: ID!) { signals(sessionId: $s) { type fromUserId payload } }`;
const SEND = `mutation($s: ID!, $input: SignalInput!) { sendSignal(sessionId: $s, input: $input) }`;
const MOVE = `mutation($s: ID!, $x: Float!) { moveCursor(sessionId: $s, x: $x, y: 0) }`;
const LEAVE = `mutation($s: ID!) { leaveSession(id: $s) { status } }`;
const JOIN = `mutation($s: ID!) { joinSession(id: $s) { participant { status } } }`;
const APPLY = `mutation($s: ID!, $events: [BoardEventInput!]!) { applyBoardEvents(sessionId: $s, events: $events) { version } }`;
const SAVE = `mutation($s: ID!) { saveBoard(sessionId: $s) { version } }`;
const BOARD = `query($s: ID!) { session(id: $s) { board { version } } }`;

type Stream = ReturnType<typeof watch>;

const stroke = (id: string, baseVersion: number) => ({
  clientOpId: id,
  type: "STROKE",
  baseVersion,
  data: {
    id,
    points: [
      [0, 0],
      [1, 1],
    ],
  },
});

for (const backend of backends) {
  describe(`leaving ends private streams and board writes [${backend.name}]`, { skip: backend.skip }, () => {
    let server: TestServer;
    before(async () => {
      server = await startTestServer(backend);
    });
    after(() => server?.stop());

    const send = (user: User, sessionId: string, payload: Record<string, unknown>) =>
      server.gql(SEND, { s: sessionId, input: { type: "ICE_CANDIDATE", payload } }, user.token);

    /** A user's presence and signals subscriptions, both live (the STATUS frame; a ping from `pinger` received). */
    async function privateStreams(user: User, sessionId: string, pinger: User) {
      const presence = watch(server, user.token, PRESENCE, { s: sessionId });
      assert.equal((await presence.next()).data.presence.kind, "STATUS");
      const signals = watch(server, user.token, SIGNALS, { s: sessionId });
      // A signals subscription has no first frame: it is live once a ping reaches it.
      for (let ping = 0; signals.received.length === 0; ping++) {
        assert.ok(ping < 100, "the signals subscription never became live");
        ok(await send(pinger, sessionId, { ping }));
        await new Promise((r) => setTimeout(r, 20));
      }
      return { presence, signals };
    }

    /** The stream ended by completing, without an error. */
    async function completed(stream: Stream): Promise<void> {
      await stream.ended;
      assert.equal(stream.error, undefined, JSON.stringify(stream.error));
      assert.ok(
        stream.received.every((r) => r.frame.errors === undefined),
        JSON.stringify(stream.received),
      );
    }

    /** The next signal `stream` gets that is not a ping (pings are skipped). */
    async function nextCandidate(stream: Stream) {
      return stream.until((f) => f.data.signals.payload.ping === undefined);
    }

    it("completes a participant's presence and signals when they leave; nobody else's", T, async () => {
      const {
        tutor,
        students: [ann, bob],
        sessionId,
      } = await activeLesson(server, 2);
      const anns = await privateStreams(ann, sessionId, tutor);
      const bobs = await privateStreams(bob, sessionId, tutor);
      const tutorsPresence = watch(server, tutor.token, PRESENCE, { s: sessionId });
      await tutorsPresence.next();

      ok(await server.gql(LEAVE, { s: sessionId }, ann.token));
      await completed(anns.presence);
      await completed(anns.signals);
      // Her streams were her realtime connections: the others see her go.
      await tutorsPresence.until((f) => f.data.presence.kind === "LEFT" && f.data.presence.user.id === ann.id);

      // Everyone else's streams go on: candidates and cursors still reach bob.
      ok(await send(tutor, sessionId, { candidate: "after-leave" }));
      assert.deepEqual((await nextCandidate(bobs.signals)).data.signals, {
        type: "ICE_CANDIDATE",
        fromUserId: tutor.id,
        payload: { candidate: "after-leave" },
      });
      assert.equal(ok(await server.gql(MOVE, { s: sessionId, x: 7 }, tutor.token)).moveCursor, true);
      await bobs.presence.until((f) => f.data.presence.kind === "CURSORS" && f.data.presence.cursors.some((c: any) => c.userId === tutor.id));

      // Leaving twice is refused; joining again gives her the streams back.
      assertError(await server.gql(LEAVE, { s: sessionId }, ann.token), "INVALID_STATE");
      ok(await server.gql(JOIN, { s: sessionId }, ann.token));
      const again = await privateStreams(ann, sessionId, tutor);
      ok(await send(bob, sessionId, { candidate: "after-rejoin" }));
      assert.equal((await nextCandidate(again.signals)).data.signals.payload.candidate, "after-rejoin");
      for (const stream of [bobs.presence, bobs.signals, tutorsPresence, again.presence, again.signals]) stream.close();
    });

    it("completes them when the inactivity job disconnects the participant; nobody else's", T, async () => {
      const {
        tutor,
        students: [ann, bob],
        sessionId,
      } = await activeLesson(server, 2);
      const anns = await privateStreams(ann, sessionId, tutor);
      const bobs = await privateStreams(bob, sessionId, tutor);
      // What SessionConnections reports when her last connection is gone from the presence
      // store (the instance holding it stopped heartbeating): RECONNECTING, still seated.
      await server.app.services.participants.connectionChanged(sessionId, ann.id, false);
      assert.ok((await server.app.services.participants.disconnectInactive(0)) >= 1);
      await completed(anns.presence);
      await completed(anns.signals);

      ok(await send(tutor, sessionId, { candidate: "after-disconnect" }));
      assert.equal((await nextCandidate(bobs.signals)).data.signals.payload.candidate, "after-disconnect");
      assert.equal(ok(await server.gql(MOVE, { s: sessionId, x: 3 }, tutor.token)).moveCursor, true);
      await bobs.presence.until((f) => f.data.presence.kind === "CURSORS");
      bobs.presence.close();
      bobs.signals.close();
    });

    it("refuses board writes after leaving (INVALID_STATE): the board version does not move", T, async () => {
      const {
        students: [ann],
        sessionId,
      } = await activeLesson(server, 1);
      // A first write while seated: the board is cached, so the next one takes the single-statement path first.
      assert.equal(ok(await server.gql(APPLY, { s: sessionId, events: [stroke("seated", 0)] }, ann.token)).applyBoardEvents.version, 1);
      ok(await server.gql(LEAVE, { s: sessionId }, ann.token));
      assertError(await server.gql(APPLY, { s: sessionId, events: [stroke("left", 1)] }, ann.token), "INVALID_STATE");
      assertError(await server.gql(SAVE, { s: sessionId }, ann.token), "INVALID_STATE");
      assert.equal(ok(await server.gql(BOARD, { s: sessionId }, ann.token)).session.board.version, 1);
    });
  });
}
