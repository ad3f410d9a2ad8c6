import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import WebSocket from "ws";
import { topics } from "../../src/realtime/topics";
import { ok } from "../support/assertions";
import { backends } from "../support/backends";
import { activeLesson, type User } from "../support/lesson";
import { watch } from "../support/subscriptions";
import { startTestServer, type TestServer } from "../support/test-server";

// Issue 10: a live event is executed once per distinct operation and serialized once, not
// once per subscriber; what depends on the viewer is never shared; a slow socket is ended
// without holding the others back.

const T = { timeout: 60_000 };
const BOARD_EVENTS = `subscription($s: ID!, $after: Int) { boardEvents(sessionId: $s, afterSeq: $after) { seq version clientOpId user { id displayName } } }`;
const APPLY = `mutation($s: ID!, $events: [BoardEventInput!]!) { applyBoardEvents(sessionId: $s, events: $events) { version accepted { seq } } }`;
const BOARD = `query($s: ID!) { session(id: $s) { board { version lastSeq } } }`;

let opNo = 0;
function stroke(baseVersion: number, points = 2) {
  const id = `s${++opNo}`;
  const pts = Array.from({ length: points }, (_, i) => [i * 0.37, i * 1.13]);
  return { clientOpId: id, type: "STROKE", baseVersion, data: { id, points: pts } };
}

async function executions(server: TestServer): Promise<number> {
  return (await server.app.services.metrics.liveExecutions.get()).values[0]?.value ?? 0;
}

for (const backend of backends) {
  describe(`shared live delivery [${backend.name}]`, { skip: backend.skip }, () => {
    let server: TestServer;
    let tutor: User;
    let ann: User;
    let bob: User;
    let sessionId: string;

    before(async () => {
      // A paused reader answers no ping: the stall below must end by the buffer, not by keepalive.
      server = await startTestServer(backend, { env: { WS_KEEPALIVE_MS: "120000" } });
      ({
        tutor,
        students: [ann, bob],
        sessionId,
      } = await activeLesson(server, 2));
    });
    after(() => server?.stop());

    const board = async () => ok(await server.gql(BOARD, { s: sessionId }, tutor.token)).session.board;
    const draw = async (user: User, ops: unknown[]) => ok(await server.gql(APPLY, { s: sessionId, events: ops }, user.token)).applyBoardEvents;

    it("executes each event once for 200 subscribers of one document, and each gets every event", T, async () => {
      const start = await board();
      // 200 subscriptions on 4 sockets (at most 50 a socket), the same document and variables.
      const clients = Array.from({ length: 4 }, () => server.wsClient(ann.token));
      const subs = Array.from({ length: 200 }, (_, i) => watch(server, ann.token, BOARD_EVENTS, { s: sessionId, after: start.lastSeq }, clients[i % 4]));
      // Every subscription is live once each has the first event.
      await draw(tutor, [stroke(start.version)]);
      await Promise.all(subs.map((s) => s.next()));
      const before = await executions(server);
      const events = 5;
      for (let i = 0; i < events; i++) await draw(tutor, [stroke(start.version + 1 + i)]);
      for (const sub of subs) {
        const frames = [];
        for (let i = 0; i < events; i++) frames.push(await sub.next());
        assert.deepEqual(
          frames.map((f) => f.data.boardEvents.version),
          Array.from({ length: events }, (_, i) => start.version + 2 + i),
        );
        assert.equal(frames[0].data.boardEvents.user.id, tutor.id);
      }
      assert.equal((await executions(server)) - before, events, "one execution per event, not per subscriber");
      subs.forEach((s) => s.close());
    });

    it("never shares a viewer-dependent field: the host sees a joining student's email, another student null", T, async () => {
      const EMAILS = `subscription($s: ID!, $after: Int) { systemEvents(sessionId: $s, afterSeq: $after) { kind participant { user { id email } } } }`;
      const KINDS = `subscription($s: ID!, $after: Int) { systemEvents(sessionId: $s, afterSeq: $after) { kind participant { user { id displayName } } } }`;
      const vars = { s: sessionId, after: (await board()).lastSeq };
      const hostEmails = watch(server, tutor.token, EMAILS, vars);
      const bobEmails = watch(server, bob.token, EMAILS, vars);
      const hostKinds = watch(server, tutor.token, KINDS, vars);
      const bobKinds = watch(server, bob.token, KINDS, vars);
      // Live once a chat message reaches all four.
      ok(await server.gql(`mutation($s: ID!) { sendChatMessage(sessionId: $s, text: "hi") { id } }`, { s: sessionId }, tutor.token));
      for (const sub of [hostEmails, bobEmails, hostKinds, bobKinds]) await sub.until((f) => f.data.systemEvents.kind === "CHAT_MESSAGE");
      const before = await executions(server);
      ok(await server.gql(`mutation($s: ID!) { raiseHand(sessionId: $s, raised: true) { id } }`, { s: sessionId }, ann.token));
      const seen = async (sub: ReturnType<typeof watch>) =>
        (await sub.until((f) => f.data.systemEvents.kind === "PARTICIPANT_UPDATE")).data.systemEvents.participant.user;
      assert.deepEqual(await seen(hostEmails), { id: ann.id, email: ann.email });
      assert.deepEqual(await seen(bobEmails), { id: ann.id, email: null });
      const annName = ann.email.split("@")[0]; // registerUser names a user after its email
      assert.deepEqual(await seen(hostKinds), { id: ann.id, displayName: annName });
      assert.deepEqual(await seen(bobKinds), { id: ann.id, displayName: annName });
      // Two viewers of the email document (one each), one shared execution of the other.
      assert.equal((await executions(server)) - before, 3);
      for (const sub of [hostEmails, bobEmails, hostKinds, bobKinds]) sub.close();
    });

    it("shows a renamed user's new displayName in the next live event", T, async () => {
      const start = await board();
      const sub = watch(server, bob.token, BOARD_EVENTS, { s: sessionId, after: start.lastSeq });
      await draw(ann, [stroke(start.version)]);
      assert.equal((await sub.next()).data.boardEvents.user.displayName, ann.email.split("@")[0]);
      ok(await server.gql(`mutation { updateProfile(input: { displayName: "Ann Renamed" }) { id } }`, {}, ann.token));
      await draw(ann, [stroke(start.version + 1)]);
      assert.equal((await sub.next()).data.boardEvents.user.displayName, "Ann Renamed");
      sub.close();
    });

    it("reads no user row for a live frame that asks for the user's id only", T, async () => {
      const lesson = await activeLesson(server, 1);
      const s = lesson.sessionId;
      const { lastSeq } = ok(await server.gql(BOARD, { s }, lesson.tutor.token)).session.board;
      const idOnly = watch(
        server,
        lesson.tutor.token,
        `subscription($s: ID!, $after: Int) { boardEvents(sessionId: $s, afterSeq: $after) { seq user { id } } }`,
        {
          s,
          after: lastSeq,
        },
      );
      // Live once a real event reaches it; then an announcement straight on the bus (no write).
      ok(await server.gql(APPLY, { s, events: [stroke(0)] }, lesson.tutor.token));
      await idOnly.next();
      const statements: string[] = [];
      const original = server.app.db.logger.logQuery;
      Object.assign(server.app.db.logger, { logQuery: (query: string) => void statements.push(query) });
      try {
        const event = {
          id: "00000000-0000-4000-8000-000000000001",
          sessionId: s,
          seq: lastSeq + 2,
          type: "BOARD_STROKE",
          timestampMs: 1,
          userId: lesson.tutor.id,
          data: { id: "x", points: [[0, 0]] },
          clientOpId: "bus-only",
          boardVersion: 2,
          createdAt: new Date(),
        };
        await server.app.bus.publish(topics.sessionTimeline(s), { sessionId: s, events: [event] });
        assert.deepEqual((await idOnly.next()).data.boardEvents, { seq: lastSeq + 2, user: { id: lesson.tutor.id } });
      } finally {
        Object.assign(server.app.db.logger, { logQuery: original });
      }
      // (A participant's status may change meanwhile: only reads of users count here.)
      assert.deepEqual(
        statements.filter((q) => /FROM "users"/.test(q)),
        [],
      );
      idOnly.close();
    });

    it("stops delivering to a kicked subscriber at once while one sharing its operation goes on", T, async () => {
      const lesson = await activeLesson(server, 2);
      const [carl, dana] = lesson.students;
      const s = lesson.sessionId;
      const start = ok(await server.gql(BOARD, { s }, lesson.tutor.token)).session.board;
      // The same document and variables: one shared group.
      const carlSub = watch(server, carl.token, BOARD_EVENTS, { s, after: start.lastSeq });
      const danaSub = watch(server, dana.token, BOARD_EVENTS, { s, after: start.lastSeq });
      ok(await server.gql(APPLY, { s, events: [stroke(start.version)] }, lesson.tutor.token));
      await carlSub.next();
      await danaSub.next();
      ok(await server.gql(`mutation($s: ID!, $u: ID!) { kickParticipant(sessionId: $s, userId: $u) { status } }`, { s, u: carl.id }, lesson.tutor.token));
      await carlSub.ended;
      assert.equal(carlSub.error?.[0]?.extensions?.code, "FORBIDDEN");
      ok(await server.gql(APPLY, { s, events: [stroke(start.version + 1)] }, lesson.tutor.token));
      assert.equal((await danaSub.next()).data.boardEvents.version, start.version + 2);
      assert.equal(carlSub.received.length, 1, "nothing after the kick");
      danaSub.close();
    });

    it("ends a subscriber whose socket stops draining with RESYNC_REQUIRED while the others keep receiving", T, async () => {
      const start = await board();
      const WITH_DATA = `subscription($s: ID!, $after: Int) { boardEvents(sessionId: $s, afterSeq: $after) { seq version data } }`;
      const healthy = watch(server, ann.token, WITH_DATA, { s: sessionId, after: start.lastSeq });
      const stalled = await rawSubscriber(server, bob.token, WITH_DATA, { s: sessionId, after: start.lastSeq });
      await draw(tutor, [stroke(start.version)]);
      await healthy.next();
      await stalled.firstFrame;
      stalled.pause(); // the client stops reading: the server's socket cannot drain
      // Big frames (~180 KB each) until far more than the kernel's buffers and the 4 MiB cap.
      const BATCHES = 30;
      let version = start.version + 1;
      for (let batch = 0; batch < BATCHES; batch++) {
        const ops = Array.from({ length: 4 }, (_, i) => stroke(version + i, 9000));
        version = (await draw(tutor, ops)).version;
        // The healthy subscriber has the whole batch before the next one is written.
        for (let i = 0; i < ops.length; i++) await healthy.next();
      }
      stalled.resume();
      const ending = await stalled.ended;
      assert.equal(ending.type, "error", JSON.stringify(ending).slice(0, 300));
      assert.equal(ending.payload[0].extensions.code, "RESYNC_REQUIRED");
      assert.ok(stalled.nextFrames < 1 + BATCHES * 4, `the stalled subscriber got ${stalled.nextFrames} frames: it was never ended`);
      healthy.close();
      stalled.close();
    });
  });
}

for (const backend of backends) {
  describe(`an account's backlog of live frames [${backend.name}]`, { skip: backend.skip }, () => {
    let server: TestServer;
    before(async () => {
      // Two frames waiting end a subscriber (RESYNC_REQUIRED): a burst cuts every backlog at once.
      server = await startTestServer(backend, { env: { SUBSCRIBER_BUFFER_FRAMES: "2" } });
    });
    after(() => server?.stop());

    it("is never executed for subscriptions that ended while it waited for the account's turn", T, async () => {
      const {
        tutor,
        students: [ann],
        sessionId,
      } = await activeLesson(server, 1);
      const board = ok(await server.gql(BOARD, { s: sessionId }, tutor.token)).session.board;
      // Distinct documents of one account: each waits for that account's one execution slot.
      const distinct = (k: number) => `subscription($s: ID!, $after: Int) { boardEvents(sessionId: $s, afterSeq: $after) { seq k${k}: version } }`;
      await ok(await server.gql(APPLY, { s: sessionId, events: [stroke(board.version)] }, tutor.token));
      const after = board.lastSeq; // each gets the stroke above as its first frame, then is live
      const client = server.wsClient(ann.token);
      const subs = Array.from({ length: 20 }, (_, k) => watch(server, ann.token, distinct(k), { s: sessionId, after }, client));
      await Promise.all(subs.map((sub) => sub.next()));
      const before = await executions(server);
      // Ten events in one batch reach all twenty subscriptions in one pass: each has two frames
      // waiting for the slot when the third ends it.
      const ops = Array.from({ length: 10 }, (_, i) => stroke(board.version + 1 + i));
      await ok(await server.gql(APPLY, { s: sessionId, events: ops }, tutor.token));
      await Promise.all(subs.map((sub) => sub.ended));
      for (const sub of subs) assert.equal(sub.error?.[0]?.extensions?.code, "RESYNC_REQUIRED");
      // A new subscription of the same account waits behind that backlog in the account's queue:
      // once it has its frame, the backlog was gone through.
      const sentinel = watch(server, ann.token, distinct(20), { s: sessionId, after: board.lastSeq + 1 + ops.length - 1 }, client);
      assert.equal((await sentinel.next()).data.boardEvents.seq, board.lastSeq + 1 + ops.length);
      const ran = (await executions(server)) - before;
      // The one frame that found the slot free started at once; the sentinel's own frame is the other.
      assert.ok(ran <= 2, `${ran} executions for ${subs.length * 2} frames nobody could receive any more`);
      sentinel.close();
    });
  });
}

/**
 * A graphql-transport-ws subscriber on a bare `ws` socket whose reading can be paused, as a
 * phone on a congested link would stop reading.
 */
async function rawSubscriber(server: TestServer, token: string, query: string, variables: Record<string, unknown>) {
  const socket = new WebSocket(server.wsUrl, "graphql-transport-ws");
  await new Promise((resolve, reject) => socket.once("open", resolve).once("error", reject));
  let nextFrames = 0;
  let first!: () => void;
  const firstFrame = new Promise<void>((resolve) => (first = resolve));
  const ended = new Promise<any>((resolve) => {
    socket.on("message", (data) => {
      const message = JSON.parse(String(data));
      if (message.type === "connection_ack") socket.send(JSON.stringify({ id: "1", type: "subscribe", payload: { query, variables } }));
      else if (message.type === "next") {
        nextFrames += 1;
        first();
      } else if (message.type === "error" || message.type === "complete") resolve(message);
    });
    socket.on("close", (code) => resolve({ type: "closed", code }));
  });
  socket.send(JSON.stringify({ type: "connection_init", payload: { authorization: `Bearer ${token}` } }));
  return {
    firstFrame,
    ended,
    get nextFrames() {
      return nextFrames;
    },
    pause: () => socket.pause(),
    resume: () => socket.resume(),
    close: () => socket.terminate(),
  };
}
