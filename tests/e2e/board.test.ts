import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { codeOf, ok } from "../support/assertions";
import { acrossInstances, backends } from "../support/backends";
import { registerUser, startTestServer, type TestServer } from "../support/test-server";

type User = Awaited<ReturnType<typeof registerUser>>;

const APPLY = `mutation($s: ID!, $events: [BoardEventInput!]!, $strategy: ConflictStrategy) {
  applyBoardEvents(sessionId: $s, events: $events, strategy: $strategy) {
    version accepted { id seq version type clientOpId user { id } data }
    conflicts { clientOpId objectId reason resolution currentVersion }
  }
}`;
const BOARD = `query($s: ID!) { session(id: $s) { board { version lastSeq objectCount objects layers } } }`;
const EVENTS = `subscription($s: ID!, $after: Int) { boardEvents(sessionId: $s, afterSeq: $after) { seq version type clientOpId user { id } } }`;

let opCounter = 0;
const stroke = (baseVersion: number, id = `s${++opCounter}`) => ({
  clientOpId: `op-${id}`,
  type: "STROKE",
  baseVersion,
  data: {
    id,
    points: [
      [0, 0],
      [10, 10],
    ],
    color: "#000",
  },
});

// Every backend with one instance, and the real one with two instances on one Postgres and
// one Redis: writes through the first, subscriptions and reads on the second.
const setups = backends.flatMap((backend) => [
  { backend, instances: 1, skip: backend.skip },
  { backend, instances: 2, skip: acrossInstances(backend) },
]);

for (const { backend, instances, skip } of setups) {
  describe(`the shared whiteboard [${backend.name}, ${instances} instance${instances > 1 ? "s" : ""}]`, { skip }, () => {
    /** Takes every write. */
    let server: TestServer;
    /** Serves every subscription and read: `server` itself, or a second instance. */
    let reader: TestServer;
    let tutor: User;
    let ann: User;
    let bob: User;
    let viewer: User;
    let sessionId: string;

    before(async () => {
      server = await startTestServer(backend);
      reader = instances > 1 ? await startTestServer(backend, { share: server }) : server;
      [tutor, ann, bob, viewer] = await Promise.all([
        registerUser(server, "TUTOR"),
        registerUser(server, "STUDENT"),
        registerUser(server, "STUDENT"),
        registerUser(server, "STUDENT"),
      ]);
      const created = ok(await server.gql(`mutation { createSession(input: { type: GROUP }) { id accessCode } }`, {}, tutor.token)).createSession;
      sessionId = created.id;
      // Board writes need a seat, the host's too (RULES.md "Participants").
      ok(await server.gql(`mutation($s: ID!) { joinSession(id: $s) { participant { id } } }`, { s: sessionId }, tutor.token));
      for (const user of [ann, bob, viewer]) {
        ok(await server.gql(`mutation($c: String!) { joinSessionByCode(accessCode: $c) { participant { id } } }`, { c: created.accessCode }, user.token));
      }
      ok(
        await server.gql(
          `mutation($s: ID!, $u: ID!) { changeParticipantRole(sessionId: $s, userId: $u, role: VIEWER) { role } }`,
          { s: sessionId, u: viewer.id },
          tutor.token,
        ),
      );
      ok(await server.gql(`mutation($s: ID!) { startSession(id: $s) { status } }`, { s: sessionId }, tutor.token));
    });
    after(async () => {
      if (reader !== server) await reader?.stop();
      await server?.stop();
    });

    const apply = (user: User, events: unknown[], strategy?: string) => server.gql(APPLY, { s: sessionId, events, strategy }, user.token);
    const board = async (user: User = tutor) => ok(await reader.gql(BOARD, { s: sessionId }, user.token)).session.board;

    it("delivers what one draws to the others, in seq order, from board.lastSeq on", async () => {
      const start = await board(bob);
      const frames = reader.wsClient(bob.token).iterate<any>({ query: EVENTS, variables: { s: sessionId, after: start.lastSeq } });
      const sent = [];
      for (let i = 0; i < 5; i++) sent.push(ok(await apply(i % 2 ? tutor : ann, [stroke(start.version + i)])).applyBoardEvents.accepted[0]);
      for (const expected of sent) {
        const event = (await frames.next()).value.data.boardEvents;
        assert.deepEqual([event.seq, event.version, event.clientOpId], [expected.seq, expected.version, expected.clientOpId]);
      }
      assert.deepEqual(
        sent.map((e) => e.version),
        [1, 2, 3, 4, 5].map((n) => start.version + n),
      );
      const after = await board(bob);
      assert.equal(after.version, start.version + 5);
      assert.equal(after.objectCount, start.objectCount + 5);
      await frames.return?.();
    });

    it("refuses a VIEWER's draw with FORBIDDEN, changing nothing", async () => {
      const before = await board();
      assert.equal(codeOf(await apply(viewer, [stroke(before.version)])), "FORBIDDEN");
      assert.equal((await board()).version, before.version);
    });

    it("applies a repeated clientOpId once and answers the original event", async () => {
      const before = await board();
      const op = stroke(before.version);
      const first = ok(await apply(ann, [op])).applyBoardEvents;
      const again = ok(await apply(ann, [op])).applyBoardEvents;
      assert.deepEqual(again.accepted, first.accepted);
      assert.equal((await board()).version, before.version + 1);
    });

    it("refuses a malformed batch whole (BAD_USER_INPUT) and more than 500 ops", async () => {
      const before = await board();
      const bad = { clientOpId: "bad-1", type: "OBJECT_MODIFY", baseVersion: before.version, data: { props: {} } };
      assert.equal(codeOf(await apply(ann, [stroke(before.version), bad])), "BAD_USER_INPUT");
      assert.equal((await board()).version, before.version);
      const many = Array.from({ length: 501 }, (_, i) => stroke(before.version, `many-${i}`));
      assert.equal(codeOf(await apply(ann, many)), "BAD_USER_INPUT");
    });

    it("reports a stale edit's conflict under every strategy as the table says", async () => {
      for (const [strategy, resolution] of [
        ["LAST_WRITE_WINS", "APPLIED"],
        ["SERVER_WINS", "SKIPPED"],
        ["CLIENT_WINS", "APPLIED"],
      ]) {
        const base = (await board()).version;
        const id = `shape-${strategy}`;
        ok(await apply(ann, [{ clientOpId: `c-${id}`, type: "OBJECT_CREATE", baseVersion: base, data: { id, kind: "rect", props: { x: 1 } } }]));
        ok(await apply(bob, [{ clientOpId: `m1-${id}`, type: "OBJECT_MODIFY", baseVersion: base + 1, data: { id, props: { x: 2 } } }]));
        const stale = ok(
          await apply(ann, [{ clientOpId: `m2-${id}`, type: "OBJECT_MODIFY", baseVersion: base + 1, data: { id, props: { x: 3 } } }], strategy),
        ).applyBoardEvents;
        assert.deepEqual(stale.conflicts, [{ clientOpId: `m2-${id}`, objectId: id, reason: "OBJECT_CHANGED", resolution, currentVersion: base + 2 }], strategy);
        assert.equal(stale.accepted.length, resolution === "SKIPPED" ? 0 : 1, strategy);
        const x = (await board()).objects[id].props.x;
        assert.equal(x, resolution === "SKIPPED" ? 2 : 3, strategy);
      }
    });

    it("gives a subscriber that missed 50 events exactly those 50, in order, after afterSeq", async () => {
      const lastSeen = (await board(bob)).lastSeq;
      const base = (await board()).version;
      for (let i = 0; i < 50; i++) ok(await apply(ann, [stroke(base + i, `missed-${i}`)]));
      const frames = reader.wsClient(bob.token).iterate<any>({ query: EVENTS, variables: { s: sessionId, after: lastSeen } });
      const versions = [];
      for (let i = 0; i < 50; i++) versions.push((await frames.next()).value.data.boardEvents.version);
      assert.deepEqual(
        versions,
        Array.from({ length: 50 }, (_, i) => base + i + 1),
      );
      // The next one is live, not a duplicate.
      ok(await apply(ann, [stroke(base + 50, "live-after-missed")]));
      assert.equal((await frames.next()).value.data.boardEvents.version, base + 51);
      await frames.return?.();
    });

    it("does the same for systemEvents: 50 missed chat messages arrive once, in order", async () => {
      const lastSeen = (await board(bob)).lastSeq;
      const texts = Array.from({ length: 50 }, (_, i) => `message ${i}`);
      for (const text of texts)
        ok(await server.gql(`mutation($s: ID!, $t: String!) { sendChatMessage(sessionId: $s, text: $t) { id } }`, { s: sessionId, t: text }, ann.token));
      const frames = reader.wsClient(bob.token).iterate<any>({
        query: `subscription($s: ID!, $after: Int) { systemEvents(sessionId: $s, afterSeq: $after) { seq kind message } }`,
        variables: { s: sessionId, after: lastSeen },
      });
      // Every event after lastSeen, gap-free (a participant's presence may add one of its own under load).
      const received = [];
      while (received.filter((e) => e.kind === "CHAT_MESSAGE").length < 50) received.push((await frames.next()).value.data.systemEvents);
      assert.deepEqual(
        received.filter((e) => e.kind === "CHAT_MESSAGE").map((e) => e.message),
        texts,
      );
      assert.deepEqual(
        received.map((e) => e.seq),
        received.map((_, i) => lastSeen + i + 1),
      );
      await frames.return?.();
    });
  });
}
