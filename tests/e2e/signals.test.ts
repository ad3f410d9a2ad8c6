import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { assertError, codeOf, ok } from "../support/assertions";
import { backends } from "../support/backends";
import { activeLesson, type User } from "../support/lesson";
import { watch } from "../support/subscriptions";
import { startTestServer, type TestServer } from "../support/test-server";

const T = { timeout: 20_000 };
const SIGNALS = `subscription($s: ID!) { signals(sessionId: $s) { sessionId type fromUserId toUserId payload sentAt } }`;
const SEND = `mutation($s: ID!, $input: SignalInput!) { sendSignal(sessionId: $s, input: $input) }`;

type Signals = ReturnType<typeof watch>;

for (const backend of backends) {
  describe(`WebRTC signaling [${backend.name}]`, { skip: backend.skip }, () => {
    let server: TestServer;
    before(async () => {
      server = await startTestServer(backend);
    });
    after(() => server?.stop());

    const send = (user: User, sessionId: string, input: Record<string, unknown>) => server.gql(SEND, { s: sessionId, input }, user.token);
    const signalOf = async (stream: Signals) => {
      const frame = await stream.next();
      assert.equal(frame.errors, undefined, JSON.stringify(frame.errors));
      return frame.data.signals;
    };

    /**
     * A subscription has no first frame, so it is known to be live once it receives something:
     * `sender` broadcasts JOIN pings until every stream got one; those pings are then skipped.
     */
    async function live(streams: Signals[], sender: User, sessionId: string): Promise<void> {
      const pending = new Set(streams);
      for (let ping = 0; pending.size > 0; ping++) {
        assert.ok(ping < 100, "the subscriptions never became live");
        ok(await send(sender, sessionId, { type: "JOIN", payload: { ping } }));
        await new Promise((r) => setTimeout(r, 20));
        for (const stream of pending) if (stream.received.length > 0) pending.delete(stream);
      }
    }
    /** The next signal that is not a ping. */
    const nextSignal = async (stream: Signals) => {
      for (;;) {
        const signal = await signalOf(stream);
        if (signal.payload?.ping === undefined) return signal;
      }
    };

    it("relays a signal only to its addressee, and a broadcast to everyone but the sender", T, async () => {
      const {
        tutor,
        students: [ann, bob],
        sessionId,
      } = await activeLesson(server);
      const [toTutor, toAnn, toBob] = [tutor, ann, bob].map((u) => watch(server, u.token, SIGNALS, { s: sessionId }));
      await live([toAnn, toBob], tutor, sessionId);
      await live([toTutor], ann, sessionId);

      const offer = { sdp: "v=0 offer", nested: { list: [1, 2, 3] } };
      assert.equal(ok(await send(ann, sessionId, { type: "OFFER", toUserId: bob.id, payload: offer })).sendSignal, true);
      const atBob = await nextSignal(toBob);
      assert.deepEqual({ ...atBob, sentAt: undefined }, { sessionId, type: "OFFER", fromUserId: ann.id, toUserId: bob.id, payload: offer, sentAt: undefined });
      assert.ok(!Number.isNaN(Date.parse(atBob.sentAt)));

      // A later broadcast from ann: the tutor's next signal is that one, so the offer to bob
      // never reached the tutor; ann does not get her own broadcast back.
      ok(await send(ann, sessionId, { type: "ICE_CANDIDATE", payload: { candidate: "c1" } }));
      for (const stream of [toTutor, toBob]) {
        const signal = await nextSignal(stream);
        assert.deepEqual([signal.type, signal.fromUserId, signal.toUserId, signal.payload], ["ICE_CANDIDATE", ann.id, null, { candidate: "c1" }]);
      }
      ok(await send(bob, sessionId, { type: "ANSWER", toUserId: ann.id, payload: { sdp: "answer" } }));
      const atAnn = await nextSignal(toAnn);
      assert.deepEqual([atAnn.type, atAnn.fromUserId], ["ANSWER", bob.id]);
      ok(await send(bob, sessionId, { type: "LEAVE", payload: {} }));
      assert.equal((await nextSignal(toTutor)).type, "LEAVE"); // not the ANSWER to ann
      for (const stream of [toTutor, toAnn, toBob]) stream.close();
    });

    it("refuses strangers, unknown recipients, big payloads and sessions that are not ACTIVE", T, async () => {
      const {
        tutor,
        stranger,
        students: [ann],
        sessionId,
      } = await activeLesson(server, 1);
      const strangers = watch(server, stranger.token, SIGNALS, { s: sessionId });
      assert.equal(await strangers.refusal(), "NOT_FOUND");
      assert.equal(codeOf(await send(stranger, sessionId, { type: "JOIN", payload: {} })), "NOT_FOUND");
      assertError(await send(ann, sessionId, { type: "OFFER", toUserId: stranger.id, payload: {} }), "BAD_USER_INPUT");
      assertError(await send(ann, sessionId, { type: "OFFER", toUserId: "not-a-user", payload: {} }), "BAD_USER_INPUT");
      assertError(await send(ann, sessionId, { type: "OFFER", toUserId: tutor.id, payload: { sdp: "x".repeat(65_537) } }), "PAYLOAD_TOO_LARGE");
      ok(await send(ann, sessionId, { type: "OFFER", toUserId: tutor.id, payload: { sdp: "x".repeat(60_000) } }));
      ok(await server.gql(`mutation($s: ID!) { pauseSession(id: $s) { status } }`, { s: sessionId }, tutor.token));
      assertError(await send(ann, sessionId, { type: "OFFER", toUserId: tutor.id, payload: {} }), "INVALID_STATE");
    });

    it("applies media toggles: one screen sharer at a time, no media from a VIEWER", T, async () => {
      const {
        tutor,
        students: [ann, bob],
        sessionId,
      } = await activeLesson(server);
      const toTutor = watch(server, tutor.token, SIGNALS, { s: sessionId });
      await live([toTutor], ann, sessionId);
      const media = async (user: User) => {
        const rows: Array<{ screen_sharing: boolean; audio_enabled: boolean }> = await server.app.db.query(
          `SELECT screen_sharing, audio_enabled FROM session_participants WHERE session_id = $1 AND user_id = $2`,
          [sessionId, user.id],
        );
        return rows[0];
      };

      assert.equal(ok(await send(ann, sessionId, { type: "SCREEN_SHARE_START", payload: { trackId: "t1" } })).sendSignal, true);
      assert.equal((await media(ann)).screen_sharing, true);
      assert.equal((await nextSignal(toTutor)).type, "SCREEN_SHARE_START");
      assertError(await send(bob, sessionId, { type: "SCREEN_SHARE_START", payload: {} }), "CONFLICT");
      assert.equal((await media(bob)).screen_sharing, false);
      ok(await send(ann, sessionId, { type: "SCREEN_SHARE_STOP", payload: {} }));
      ok(await send(bob, sessionId, { type: "SCREEN_SHARE_START", payload: {} }));
      assert.equal((await media(bob)).screen_sharing, true);
      ok(await send(ann, sessionId, { type: "UNMUTE_AUDIO", payload: {} }));
      assert.equal((await media(ann)).audio_enabled, true);
      const recorded: Array<{ type: string }> = await server.app.db.query(
        `SELECT type FROM session_events WHERE session_id = $1 AND (type LIKE 'SCREEN_%' OR type LIKE 'MEDIA_%') ORDER BY seq`,
        [sessionId],
      );
      assert.deepEqual(
        recorded.map((r) => r.type),
        ["SCREEN_SHARE_START", "SCREEN_SHARE_STOP", "SCREEN_SHARE_START", "MEDIA_AUDIO_ON"],
      );

      ok(
        await server.gql(
          `mutation($s: ID!, $u: ID!) { changeParticipantRole(sessionId: $s, userId: $u, role: VIEWER) { role } }`,
          { s: sessionId, u: ann.id },
          tutor.token,
        ),
      );
      assertError(await send(ann, sessionId, { type: "UNMUTE_VIDEO", payload: {} }), "FORBIDDEN");
      assertError(await send(ann, sessionId, { type: "SCREEN_SHARE_START", payload: {} }), "FORBIDDEN");
      // A viewer still takes part in the negotiation of what it receives.
      ok(await send(ann, sessionId, { type: "ANSWER", toUserId: tutor.id, payload: { sdp: "recvonly" } }));
      toTutor.close();
    });
  });
}
