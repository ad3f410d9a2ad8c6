import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { ok, until } from "../support/assertions";
import { backends } from "../support/backends";
import { activeLesson, type User } from "../support/lesson";
import { watch } from "../support/subscriptions";
import { startTestServer, type TestServer } from "../support/test-server";

// RULES.md "Participants" (CHANGELOG 2026-12-01): what leaving, a disconnect or a kick clears
// (screen sharing, a raised hand) and the media a role or permission change turns off are
// recorded on the timeline (SCREEN_SHARE_STOP, HAND_LOWER, MEDIA_*_OFF) after the event of
// the change itself, and delivered live like every other timeline event.

const T = { timeout: 30_000 };
const SYSTEM_EVENTS = `subscription($s: ID!, $after: Int) { systemEvents(sessionId: $s, afterSeq: $after) { seq kind data participant { user { id } } } }`;
const LAST_SEQ = `query($s: ID!) { session(id: $s) { board { lastSeq } } }`;
const TIMELINE = `query($s: ID!) { session(id: $s) { timeline(first: 100) { edges { node { seq type user { id } data } } } } }`;
const MEDIA = `mutation($s: ID!, $input: MediaStateInput!) { updateMediaState(sessionId: $s, input: $input) { id } }`;
const HAND = `mutation($s: ID!) { raiseHand(sessionId: $s, raised: true) { handRaised } }`;
const LEAVE = `mutation($s: ID!) { leaveSession(id: $s) { status } }`;
const KICK = `mutation($s: ID!, $u: ID!) { kickParticipant(sessionId: $s, userId: $u) { status } }`;
const ROLE = `mutation($s: ID!, $u: ID!) { changeParticipantRole(sessionId: $s, userId: $u, role: VIEWER) { role handRaised media { audioEnabled videoEnabled screenSharing } } }`;
const GRANTS = `mutation($s: ID!, $u: ID!) { updateParticipantPermissions(sessionId: $s, userId: $u, permissions: { canToggleAudio: false }) { media { audioEnabled videoEnabled } } }`;
const PARTICIPANTS = `query($s: ID!) { session(id: $s) { participants { user { id } status handRaised media { screenSharing } } } }`;
const PRESENCE = `subscription($s: ID!) { presence(sessionId: $s) { kind } }`;

interface Recorded {
  seq: number;
  type: string;
  userId: string | undefined;
  cause: unknown;
}

for (const backend of backends) {
  describe(`clearing a participant's state is on the timeline [${backend.name}]`, { skip: backend.skip }, () => {
    let server: TestServer;
    before(async () => {
      server = await startTestServer(backend, { env: { RECONNECT_GRACE_MS: "200" } });
    });
    after(() => server?.stop());

    /** The tutor's systemEvents from the session's current seq: everything after now, live. */
    async function followAsHost(tutor: User, sessionId: string) {
      const from = ok(await server.gql(LAST_SEQ, { s: sessionId }, tutor.token)).session.board.lastSeq as number;
      const stream = watch(server, tutor.token, SYSTEM_EVENTS, { s: sessionId, after: from });
      /** The next `count` events as delivered live. */
      const next = async (count: number): Promise<Recorded[]> => {
        const events: Recorded[] = [];
        for (let i = 0; i < count; i++) {
          const event = (await stream.next()).data.systemEvents;
          assert.equal(event.kind, "PARTICIPANT_UPDATE", JSON.stringify(event));
          events.push({ seq: event.seq, type: event.data.type, userId: event.participant?.user.id, cause: event.data.cause });
        }
        return events;
      };
      return { stream, next, from };
    }

    /** The session's timeline events after `from`, as the timeline query reads them. */
    async function recordedAfter(user: User, sessionId: string, from: number): Promise<Recorded[]> {
      const edges = ok(await server.gql(TIMELINE, { s: sessionId }, user.token)).session.timeline.edges as any[];
      return edges.map(({ node }) => ({ seq: node.seq, type: node.type, userId: node.user?.id, cause: node.data.cause })).filter((e) => e.seq > from);
    }

    async function shareAndRaise(user: User, sessionId: string) {
      ok(await server.gql(MEDIA, { s: sessionId, input: { screenSharing: true, audioEnabled: true } }, user.token));
      ok(await server.gql(HAND, { s: sessionId }, user.token));
    }

    it("leaving records PARTICIPANT_LEAVE, then SCREEN_SHARE_STOP and HAND_LOWER, delivered live in seq order", T, async () => {
      const {
        tutor,
        students: [ann, bob],
        sessionId,
      } = await activeLesson(server, 2);
      await shareAndRaise(ann, sessionId);
      const host = await followAsHost(tutor, sessionId);
      ok(await server.gql(LEAVE, { s: sessionId }, ann.token));
      const live = await host.next(3);
      const expected = [
        { seq: host.from + 1, type: "PARTICIPANT_LEAVE", userId: ann.id, cause: undefined },
        { seq: host.from + 2, type: "SCREEN_SHARE_STOP", userId: ann.id, cause: "LEFT" },
        { seq: host.from + 3, type: "HAND_LOWER", userId: ann.id, cause: "LEFT" },
      ];
      assert.deepEqual(live, expected);
      assert.deepEqual(await recordedAfter(tutor, sessionId, host.from), expected);
      // The cleared screen is free for someone else.
      ok(await server.gql(MEDIA, { s: sessionId, input: { screenSharing: true } }, bob.token));
      host.stream.close();
    });

    it("leaving with nothing to clear records the leave alone", T, async () => {
      const {
        tutor,
        students: [ann],
        sessionId,
      } = await activeLesson(server, 1);
      const host = await followAsHost(tutor, sessionId);
      ok(await server.gql(LEAVE, { s: sessionId }, ann.token));
      assert.deepEqual(
        (await host.next(1)).map((e) => e.type),
        ["PARTICIPANT_LEAVE"],
      );
      assert.deepEqual(
        (await recordedAfter(tutor, sessionId, host.from)).map((e) => e.type),
        ["PARTICIPANT_LEAVE"],
      );
      host.stream.close();
    });

    it("a disconnect (socket closed, no return within the grace) records PARTICIPANT_DISCONNECT, SCREEN_SHARE_STOP, HAND_LOWER", T, async () => {
      const {
        tutor,
        students: [ann],
        sessionId,
      } = await activeLesson(server, 1);
      const annOf = async () =>
        (ok(await server.gql(PARTICIPANTS, { s: sessionId }, tutor.token)).session.participants as any[]).find((p) => p.user.id === ann.id);
      // Ann's realtime connection: CONNECTED while her socket is open.
      const socket = server.wsClient(ann.token);
      const presence = watch(server, ann.token, PRESENCE, { s: sessionId }, socket);
      assert.equal((await presence.next()).data.presence.kind, "STATUS");
      await until(annOf, (p) => p.status === "CONNECTED");
      await shareAndRaise(ann, sessionId);
      const host = await followAsHost(tutor, sessionId);

      await socket.dispose(); // the socket closes: RECONNECTING, then DISCONNECTED by the job after the grace
      await until(annOf, (p) => p.status === "RECONNECTING");
      await until(
        async () => (await server.app.jobs.runNow("disconnect-inactive"), annOf()),
        (p) => p.status === "DISCONNECTED",
      );
      const expected = [
        { seq: host.from + 1, type: "PARTICIPANT_DISCONNECT", userId: ann.id, cause: undefined },
        { seq: host.from + 2, type: "SCREEN_SHARE_STOP", userId: ann.id, cause: "DISCONNECTED" },
        { seq: host.from + 3, type: "HAND_LOWER", userId: ann.id, cause: "DISCONNECTED" },
      ];
      assert.deepEqual(await host.next(3), expected);
      assert.deepEqual(await recordedAfter(tutor, sessionId, host.from), expected);
      const cleared = await annOf();
      assert.deepEqual([cleared.handRaised, cleared.media.screenSharing], [false, false]);
      host.stream.close();
    });

    it("a kick records PARTICIPANT_KICK, then SCREEN_SHARE_STOP and HAND_LOWER", T, async () => {
      const {
        tutor,
        students: [ann],
        sessionId,
      } = await activeLesson(server, 1);
      await shareAndRaise(ann, sessionId);
      const host = await followAsHost(tutor, sessionId);
      ok(await server.gql(KICK, { s: sessionId, u: ann.id }, tutor.token));
      const expected = [
        { seq: host.from + 1, type: "PARTICIPANT_KICK", userId: ann.id, cause: undefined },
        { seq: host.from + 2, type: "SCREEN_SHARE_STOP", userId: ann.id, cause: "KICKED" },
        { seq: host.from + 3, type: "HAND_LOWER", userId: ann.id, cause: "KICKED" },
      ];
      assert.deepEqual(await host.next(3), expected);
      assert.deepEqual(await recordedAfter(tutor, sessionId, host.from), expected);
      host.stream.close();
    });

    it("a downgrade to VIEWER records ROLE_CHANGE, then the MEDIA_*_OFF and SCREEN_SHARE_STOP of what was on; the hand stays", T, async () => {
      const {
        tutor,
        students: [ann],
        sessionId,
      } = await activeLesson(server, 1);
      ok(await server.gql(MEDIA, { s: sessionId, input: { audioEnabled: true, videoEnabled: true, screenSharing: true } }, ann.token));
      ok(await server.gql(HAND, { s: sessionId }, ann.token));
      const host = await followAsHost(tutor, sessionId);
      const changed = ok(await server.gql(ROLE, { s: sessionId, u: ann.id }, tutor.token)).changeParticipantRole;
      assert.deepEqual(changed, { role: "VIEWER", handRaised: true, media: { audioEnabled: false, videoEnabled: false, screenSharing: false } });
      const recorded = await recordedAfter(tutor, sessionId, host.from);
      assert.deepEqual(recorded, [
        { seq: host.from + 1, type: "ROLE_CHANGE", userId: ann.id, cause: undefined },
        { seq: host.from + 2, type: "MEDIA_AUDIO_OFF", userId: ann.id, cause: "ROLE_CHANGE" },
        { seq: host.from + 3, type: "MEDIA_VIDEO_OFF", userId: ann.id, cause: "ROLE_CHANGE" },
        { seq: host.from + 4, type: "SCREEN_SHARE_STOP", userId: ann.id, cause: "ROLE_CHANGE" },
      ]);
      // Delivered live: ROLE_CHANGE is a PERMISSION_UPDATE systemEvent, the rest PARTICIPANT_UPDATEs.
      const roleChange = (await host.stream.next()).data.systemEvents;
      assert.deepEqual([roleChange.seq, roleChange.kind, roleChange.data.type], [host.from + 1, "PERMISSION_UPDATE", "ROLE_CHANGE"]);
      assert.deepEqual(await host.next(3), recorded.slice(1));
      host.stream.close();
    });

    it("a permission taken away records the MEDIA_*_OFF of the medium it turned off, and only that", T, async () => {
      const {
        tutor,
        students: [ann],
        sessionId,
      } = await activeLesson(server, 1);
      ok(await server.gql(MEDIA, { s: sessionId, input: { audioEnabled: true, videoEnabled: true } }, ann.token));
      const host = await followAsHost(tutor, sessionId);
      const media = ok(await server.gql(GRANTS, { s: sessionId, u: ann.id }, tutor.token)).updateParticipantPermissions.media;
      assert.deepEqual(media, { audioEnabled: false, videoEnabled: true });
      const permissionUpdate = (await host.stream.next()).data.systemEvents;
      assert.deepEqual([permissionUpdate.kind, permissionUpdate.data.type], ["PERMISSION_UPDATE", "PERMISSION_UPDATE"]);
      assert.deepEqual(await host.next(1), [{ seq: host.from + 2, type: "MEDIA_AUDIO_OFF", userId: ann.id, cause: "PERMISSION_UPDATE" }]);
      assert.deepEqual(
        (await recordedAfter(tutor, sessionId, host.from)).map((e) => e.type),
        ["PERMISSION_UPDATE", "MEDIA_AUDIO_OFF"],
      );
      host.stream.close();
    });
  });
}
