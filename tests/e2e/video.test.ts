import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { after, before, describe, it } from "node:test";
import { assertError, ok } from "../support/assertions";
import { backends } from "../support/backends";
import { LocalDailyService } from "../support/daily-service";
import { activeLesson } from "../support/lesson";
import { watch } from "../support/subscriptions";
import { registerUser, startTestServer, type TestServer } from "../support/test-server";

const ROOM = `query($s: ID!) { session(id: $s) { status videoRoom { provider name url } } }`;
const JOIN = `mutation($s: ID!) { joinSession(id: $s) { participant { id } videoToken } }`;
const JOIN_BY_CODE = `mutation($c: String!) { joinSessionByCode(accessCode: $c) { participant { id } videoToken } }`;
const REFRESH = `mutation($s: ID!) { refreshVideoToken(sessionId: $s) }`;
const TYPES = `query($s: ID!) { session(id: $s) { timeline(first: 100) { edges { node { type user { id } data } } } } }`;
const STROKE = {
  type: "STROKE",
  clientOpId: "s1",
  baseVersion: 0,
  data: {
    id: "stroke-1",
    points: [
      [0, 0],
      [10, 10],
    ],
  },
};

for (const backend of backends) {
  describe(`video provider: Daily [${backend.name}]`, { skip: backend.skip }, () => {
    let daily: LocalDailyService;
    let server: TestServer;

    before(async () => {
      daily = await LocalDailyService.start();
      server = await startTestServer(backend, { env: { ...daily.env(), VIDEO_RETRY_BASE_MS: "0" } });
    });
    after(async () => {
      await server?.stop();
      await daily?.stop();
    });

    const createSession = async (token: string) =>
      ok(await server.gql(`mutation { createSession(input: { type: GROUP, maxParticipants: 12 }) { id accessCode videoRoom { name url } } }`, {}, token))
        .createSession;
    const timelineTypes = async (sessionId: string, token: string) =>
      ok(await server.gql(TYPES, { s: sessionId }, token)).session.timeline.edges.map((e: any) => e.node);
    /** POSTs a webhook event, signed as Daily signs it unless `headers` say otherwise. */
    const webhook = (event: unknown, headers?: Record<string, string>) => {
      const body = JSON.stringify(event);
      return fetch(`${server.url}/webhooks/video`, { method: "POST", headers: headers ?? daily.sign(body), body });
    };

    it("makes one room per lesson, from creation to completion, and deletes it at the end", async () => {
      const tutor = await registerUser(server, "TUTOR");
      const created = await createSession(tutor.token);
      const name = `cls-${created.id}`;
      assert.deepEqual(created.videoRoom, { name, url: `https://school.daily.co/${name}` });
      const room = daily.rooms.get(name)!;
      assert.equal(room.privacy, "private");
      assert.equal(room.properties.max_participants, 12);
      assert.equal(room.properties.enable_screenshare, true);
      assert.ok((room.properties.exp as number) > Date.now() / 1000 + 4 * 3600, "the room outlives the longest lesson");

      ok(await server.gql(JOIN, { s: created.id }, tutor.token));
      const started = ok(await server.gql(`mutation($s: ID!) { startSession(id: $s) { status videoRoom { provider name } } }`, { s: created.id }, tutor.token));
      assert.deepEqual(started.startSession, { status: "ACTIVE", videoRoom: { provider: "daily", name } });
      assert.equal(daily.requests.filter((r) => r.method === "POST" && r.path === "/rooms" && r.body.name === name).length, 1, "one room");

      ok(await server.gql(`mutation($s: ID!) { completeSession(id: $s) { status } }`, { s: created.id }, tutor.token));
      await daily.answered((r) => r.method === "DELETE" && r.path === `/rooms/${name}`);
      assert.equal(daily.rooms.has(name), false);
      assert.equal(ok(await server.gql(ROOM, { s: created.id }, tutor.token)).session.videoRoom, null);
    });

    it("gives each participant a token: owner for the host, screen sharing as the role allows, and a role change shows in the next one", async () => {
      const [tutor, student] = await Promise.all([registerUser(server, "TUTOR"), registerUser(server, "STUDENT")]);
      const created = await createSession(tutor.token);
      const hostToken = ok(await server.gql(JOIN, { s: created.id }, tutor.token)).joinSession.videoToken;
      const studentToken = ok(await server.gql(JOIN_BY_CODE, { c: created.accessCode }, student.token)).joinSessionByCode.videoToken;
      const issued = (token: string) => daily.tokens.find((t) => t.token === token)!.properties;
      const host = issued(hostToken);
      assert.deepEqual(
        { room: host.room_name, user: host.user_id, owner: host.is_owner, screen: host.enable_screenshare },
        { room: `cls-${created.id}`, user: tutor.id, owner: true, screen: true },
      );
      assert.equal(typeof host.user_name, "string");
      assert.ok(host.exp > Date.now() / 1000);
      const first = issued(studentToken);
      assert.deepEqual({ user: first.user_id, owner: first.is_owner, screen: first.enable_screenshare }, { user: student.id, owner: false, screen: true });

      ok(
        await server.gql(
          `mutation($s: ID!, $u: ID!) { changeParticipantRole(sessionId: $s, userId: $u, role: VIEWER) { role } }`,
          { s: created.id, u: student.id },
          tutor.token,
        ),
      );
      const next = issued(ok(await server.gql(REFRESH, { s: created.id }, student.token)).refreshVideoToken);
      assert.deepEqual({ owner: next.is_owner, screen: next.enable_screenshare }, { owner: false, screen: false });

      // Only a seated participant gets one.
      const stranger = await registerUser(server, "STUDENT");
      assertError(await server.gql(REFRESH, { s: created.id }, stranger.token), "NOT_FOUND");
      ok(await server.gql(`mutation($s: ID!) { leaveSession(id: $s) { status } }`, { s: created.id }, student.token));
      assertError(await server.gql(REFRESH, { s: created.id }, student.token), "INVALID_STATE");
    });

    it("records the call's webhooks once each, into the timeline, the participant and the report", async () => {
      const { tutor, students, sessionId } = await activeLesson(server, 1);
      const [student] = students;
      const room = `cls-${sessionId}`;
      const event = (type: string, payload: Record<string, unknown> = {}) => ({
        version: "1.0.0",
        type,
        id: randomUUID(),
        event_ts: Date.now() / 1000,
        payload: { room, user_id: student.id, user_name: "Student", session_id: randomUUID(), joined_at: Date.now() / 1000, ...payload },
      });

      const joined = event("participant.joined");
      for (let i = 0; i < 2; i++) assert.equal((await webhook(joined)).status, 200); // a redelivery
      assert.equal((await webhook(event("screen-share.started"))).status, 200);
      assert.equal((await webhook(event("recording.started", { room: undefined, room_name: room, recording_id: "rec-1" }))).status, 200);
      const unknown = await webhook(event("meeting.started"));
      assert.equal(unknown.status, 200);
      const during = ok(
        await server.gql(`query($s: ID!) { session(id: $s) { participants { user { id } inCall media { screenSharing } } } }`, { s: sessionId }, tutor.token),
      ).session.participants.find((p: any) => p.user.id === student.id);
      assert.deepEqual({ inCall: during.inCall, sharing: during.media.screenSharing }, { inCall: true, sharing: true });
      // The participant a mutation answers (read with the access check) shows it too.
      const own = ok(
        await server.gql(
          `mutation($s: ID!) { raiseHand(sessionId: $s, raised: true) { inCall callTimeSeconds recordingConsent } }`,
          { s: sessionId },
          student.token,
        ),
      ).raiseHand;
      assert.equal(own.inCall, true);
      assert.equal(typeof own.callTimeSeconds, "number");
      assert.equal(own.recordingConsent, null);
      assert.equal((await webhook(event("participant.left", { duration: 3 }))).status, 200);

      const recorded = (await timelineTypes(sessionId, tutor.token)).filter((e: any) => /^(VIDEO_CALL|SCREEN_SHARE|RECORDING)_/.test(e.type));
      assert.deepEqual(
        recorded.map((e: any) => [e.type, e.user?.id ?? null]),
        [
          ["VIDEO_CALL_JOIN", student.id],
          ["SCREEN_SHARE_START", student.id],
          ["RECORDING_START", null],
          ["VIDEO_CALL_LEAVE", student.id],
        ],
      );
      assert.equal(recorded[2].data.recordingId, "rec-1");
      const report = ok(
        await server.gql(`query($s: ID!) { session(id: $s) { report { attendance { user { id } callTimeSeconds } } } }`, { s: sessionId }, tutor.token),
      ).session.report.attendance;
      assert.equal(typeof report.find((a: any) => a.user.id === student.id).callTimeSeconds, "number");
    });

    it("records the call only once every participant consented, asking those who did not answer and telling the host who declined", async () => {
      const { tutor, students, sessionId } = await activeLesson(server, 1);
      const [student] = students;
      const room = daily.rooms.get(`cls-${sessionId}`)!;
      assert.equal(room.properties.enable_recording, "cloud", "isRecorded (the default) lets the room be recorded");
      const token = ok(await server.gql(JOIN, { s: sessionId }, student.token)).joinSession.videoToken;
      assert.equal(daily.tokens.find((t) => t.token === token)!.properties.enable_recording_ui, false, "never from the call's own button");
      const start = () => server.gql(`mutation($s: ID!) { startRecording(sessionId: $s) }`, { s: sessionId }, tutor.token);
      const consent = (value: boolean) =>
        server.gql(
          `mutation($s: ID!, $c: Boolean!) { setRecordingConsent(sessionId: $s, consent: $c) { recordingConsent } }`,
          { s: sessionId, c: value },
          student.token,
        );

      const { lastSeq } = ok(await server.gql(`query($s: ID!) { session(id: $s) { board { lastSeq } } }`, { s: sessionId }, student.token)).session.board;
      const events = watch(server, student.token, `subscription($s: ID!, $a: Int) { systemEvents(sessionId: $s, afterSeq: $a) { seq kind message data } }`, {
        s: sessionId,
        a: lastSeq - 1,
      });
      await events.next(); // the stream is live
      const asked = assertError(await start(), "INVALID_STATE");
      assert.deepEqual({ awaiting: asked.extensions?.awaitingConsent, declined: asked.extensions?.declined }, { awaiting: [student.id], declined: [] });
      const request = (await events.until((f) => f.data.systemEvents.kind === "NOTIFICATION")).data.systemEvents;
      assert.deepEqual([request.seq, request.data.type], [null, "RECORDING_CONSENT"]);
      assertError(await server.gql(`mutation($s: ID!) { startRecording(sessionId: $s) }`, { s: sessionId }, student.token), "FORBIDDEN");

      assert.equal(ok(await consent(false)).setRecordingConsent.recordingConsent, false);
      const refused = assertError(await start(), "INVALID_STATE");
      assert.deepEqual({ awaiting: refused.extensions?.awaitingConsent, declined: refused.extensions?.declined }, { awaiting: [], declined: [student.id] });
      assert.equal(daily.count("POST", `/rooms/cls-${sessionId}/recordings`), 0, "nothing recorded without consent");

      ok(await consent(true));
      assert.equal(ok(await start()).startRecording, true);
      assert.equal(daily.count("POST", `/rooms/cls-${sessionId}/recordings/start`), 1);
      const answers = (await timelineTypes(sessionId, tutor.token)).filter((e: any) => e.type === "RECORDING_CONSENT");
      assert.deepEqual(
        answers.map((e: any) => [e.user.id, e.data.consent]),
        [
          [student.id, false],
          [student.id, true],
        ],
      );
      events.close();
    });

    it("never records a session with isRecorded false", async () => {
      const tutor = await registerUser(server, "TUTOR");
      const created = ok(
        await server.gql(`mutation { createSession(input: { type: GROUP, isRecorded: false }) { id videoRoom { name } } }`, {}, tutor.token),
      ).createSession;
      assert.equal(daily.rooms.get(`cls-${created.id}`)!.properties.enable_recording, undefined, "the room cannot be recorded at all");
      ok(await server.gql(`mutation($s: ID!) { joinSession(id: $s) { participant { id } } }`, { s: created.id }, tutor.token));
      ok(await server.gql(`mutation($s: ID!) { startSession(id: $s) { status } }`, { s: created.id }, tutor.token));
      const refused = assertError(await server.gql(`mutation($s: ID!) { startRecording(sessionId: $s) }`, { s: created.id }, tutor.token), "INVALID_STATE");
      assert.match(refused.message, /isRecorded/);
      assert.equal(daily.count("POST", `/rooms/cls-${created.id}/recordings`), 0);
    });

    it("refuses a wrong signature, an old timestamp and a body over 64 KiB, recording nothing", async () => {
      const { tutor, students, sessionId } = await activeLesson(server, 1);
      const event = { type: "participant.joined", id: randomUUID(), payload: { room: `cls-${sessionId}`, user_id: students[0].id } };
      const body = JSON.stringify(event);
      const forged = { ...daily.sign(body), "x-webhook-signature": daily.sign(`${body} `)["x-webhook-signature"] };
      assert.equal((await webhook(event, forged)).status, 401);
      const unsigned = { "content-type": "application/json" };
      assert.equal((await webhook(event, unsigned)).status, 401);
      const old = daily.sign(body, Math.floor(Date.now() / 1000) - 6 * 60);
      assert.equal((await webhook(event, old)).status, 401);
      const huge = { ...event, payload: { ...event.payload, padding: "x".repeat(70_000) } };
      assert.equal((await webhook(huge)).status, 413);
      const types = (await timelineTypes(sessionId, tutor.token)).map((e: any) => e.type);
      assert.ok(!types.includes("VIDEO_CALL_JOIN"), types.join());
      // The same event, signed: recorded now (its id was not taken by the refused ones).
      assert.equal((await webhook(event)).status, 200);
      assert.ok((await timelineTypes(sessionId, tutor.token)).some((e: any) => e.type === "VIDEO_CALL_JOIN"));
    });

    it("starts a lesson while the provider is down, with a clear error, and makes the room once it is back", async () => {
      const tutor = await registerUser(server, "TUTOR");
      await daily.stop();
      let sessionId: string;
      try {
        const created = await server.gql(`mutation { createSession(input: { type: GROUP }) { id videoRoom { url } } }`, {}, tutor.token);
        sessionId = created.body.data!.createSession.id;
        assert.equal(created.body.data!.createSession.videoRoom, null);
        ok(await server.gql(`mutation($s: ID!) { joinSession(id: $s) { participant { id } } }`, { s: sessionId }, tutor.token));
        const started = await server.gql(`mutation($s: ID!) { startSession(id: $s) { status videoRoom { url } } }`, { s: sessionId }, tutor.token);
        assert.equal(started.body.data!.startSession.status, "ACTIVE");
        const error = assertError(started, "UNAVAILABLE");
        assert.deepEqual(error.path, ["startSession", "videoRoom"]);
        assert.match(error.message, /video provider is unavailable/);
        assert.equal(error.extensions?.retryable, true);
        // The whiteboard works meanwhile.
        ok(
          await server.gql(
            `mutation($s: ID!, $e: [BoardEventInput!]!) { applyBoardEvents(sessionId: $s, events: $e) { version } }`,
            { s: sessionId, e: [STROKE] },
            tutor.token,
          ),
        );
      } finally {
        await daily.resume();
      }
      await server.app.jobs.runNow("video-rooms");
      const name = `cls-${sessionId}`;
      assert.equal(ok(await server.gql(ROOM, { s: sessionId }, tutor.token)).session.videoRoom.name, name);
      assert.equal(daily.requests.filter((r) => r.method === "POST" && r.path === "/rooms" && r.body.name === name).length, 1, "one room");
      assert.ok(daily.rooms.has(name));
    });

    it("deletes what a crash or a deleted session left behind, and a retried creation finds the same room", async () => {
      const tutor = await registerUser(server, "TUTOR");
      const kept = await createSession(tutor.token);
      const dropped = await createSession(tutor.token);
      // As if the process died between the provider's answer and its own record of it.
      await server.app.db.query(`UPDATE session_video_rooms SET state = 'CREATING', url = NULL WHERE session_id = $1`, [kept.id]);
      ok(await server.gql(`mutation($s: ID!) { deleteSession(id: $s) }`, { s: dropped.id }, tutor.token));
      await server.app.jobs.runNow("video-rooms");
      assert.equal(daily.rooms.has(`cls-${dropped.id}`), false);
      assert.equal(ok(await server.gql(ROOM, { s: kept.id }, tutor.token)).session.videoRoom.name, `cls-${kept.id}`);
      assert.ok(daily.rooms.has(`cls-${kept.id}`));
    });
  });
}

describe("video provider: p2p (VIDEO_PROVIDER unset)", () => {
  let daily: LocalDailyService;
  let server: TestServer;
  before(async () => {
    daily = await LocalDailyService.start();
    // Daily's settings are there, but the provider is not chosen: none of them is used.
    const { VIDEO_PROVIDER: _chosen, ...settings } = daily.env();
    server = await startTestServer(backends[0], { env: settings });
  });
  after(async () => {
    await server?.stop();
    await daily?.stop();
  });

  it("works as before: no room, no token, no webhook route, and no request to anyone", async () => {
    const { tutor, students, sessionId } = await activeLesson(server, 1);
    ok(await server.gql(`mutation($s: ID!) { joinSession(id: $s) { participant { id } } }`, { s: sessionId }, students[0].token));
    const joined = ok(await server.gql(JOIN, { s: sessionId }, tutor.token)).joinSession;
    assert.equal(joined.videoToken, null);
    assert.equal(ok(await server.gql(ROOM, { s: sessionId }, tutor.token)).session.videoRoom, null);
    assert.equal(ok(await server.gql(REFRESH, { s: sessionId }, tutor.token)).refreshVideoToken, null);
    ok(await server.gql(`mutation($s: ID!) { completeSession(id: $s) { status } }`, { s: sessionId }, tutor.token));
    await server.app.jobs.runNow("video-rooms");
    const body = JSON.stringify({ id: "x", type: "participant.joined", payload: {} });
    assert.equal((await fetch(`${server.url}/webhooks/video`, { method: "POST", headers: daily.sign(body), body })).status, 404);
    assert.equal(daily.requests.length, 0);
  });
});
