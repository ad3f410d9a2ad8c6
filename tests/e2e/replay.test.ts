import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { assertError, ok } from "../support/assertions";
import { backends } from "../support/backends";
import { activeLesson } from "../support/lesson";
import { registerUser, startTestServer, type TestServer } from "../support/test-server";

const EVERY = 5;
const APPLY = `mutation($s: ID!, $events: [BoardEventInput!]!) { applyBoardEvents(sessionId: $s, events: $events) { version accepted { seq version timestampMs } } }`;
const BOARD = `query($s: ID!) { session(id: $s) { board { version lastSeq objectCount objects layers } } }`;
const AT = `query($s: ID!, $t: SafeInt!) { session(id: $s) { replayBoardAt(timestampMs: $t) { version lastSeq objectCount objects layers } } }`;
/** What a player's scrubber asks at every step: answered without the whole board. */
const AT_VERSION = `query($s: ID!, $t: SafeInt!) { session(id: $s) { replayBoardAt(timestampMs: $t) { version lastSeq } } }`;
const AT_COUNT = `query($s: ID!, $t: SafeInt!) { session(id: $s) { replayBoardAt(timestampMs: $t) { objectCount version } } }`;
const AT_SOME = `query($s: ID!, $t: SafeInt!, $ids: [ID!]) { session(id: $s) { replayBoardAt(timestampMs: $t) { objects(ids: $ids) } board { objects(ids: $ids) } } }`;
const MANIFEST = `query($s: ID!) { session(id: $s) { replayManifest { canReplay durationMs eventCount snapshotCount keyframesMs } } }`;
const EVENTS = `query($s: ID!, $from: SafeInt!, $to: SafeInt!, $first: Int, $after: String) { session(id: $s) {
  replayEvents(fromMs: $from, toMs: $to, first: $first, after: $after) { totalCount pageInfo { hasNextPage endCursor } edges { cursor node { seq type timestampMs } } } } }`;

let n = 0;
const stroke = (baseVersion: number, id = `s${++n}`) => ({
  clientOpId: `op-${++n}`,
  type: "STROKE",
  baseVersion,
  data: {
    id,
    points: [
      [n, n],
      [1, 2],
    ],
  },
});
const modify = (baseVersion: number, id: string) => ({
  clientOpId: `op-${++n}`,
  type: "OBJECT_MODIFY",
  baseVersion,
  data: { id, props: { color: `#${(n % 1000).toString().padStart(3, "0")}` } },
});
const undo = (baseVersion: number) => ({ clientOpId: `op-${++n}`, type: "UNDO", baseVersion, data: {} });
const redo = (baseVersion: number) => ({ clientOpId: `op-${++n}`, type: "REDO", baseVersion, data: {} });

for (const backend of backends) {
  describe(`replay and seeking [${backend.name}]`, { skip: backend.skip }, () => {
    let server: TestServer;

    before(async () => {
      server = await startTestServer(backend, { env: { SNAPSHOT_EVERY_EVENTS: String(EVERY) } });
    });
    after(() => server?.stop());

    it("seeks to the board clients saw at every batch, on and around every snapshot boundary", async () => {
      const { tutor, students, sessionId } = await activeLesson(server, 1);
      const live: Array<{ t: number; board: any }> = [];
      // Batches that end on a keyframe, cross one, and start right after one; undo/redo
      // across keyframes need the undo history stored with the snapshot.
      const plans: Array<(v: number) => unknown[]> = [
        (v) => [0, 1, 2, 3, 4].map((i) => stroke(v + i, i === 0 ? "first" : undefined)), // 1-5: keyframe at its end
        (v) => [undo(v)], // 6: undoes a stroke made before the keyframe
        (v) => [redo(v), stroke(v + 1), stroke(v + 2)], // 7-9
        (v) => [modify(v, "first"), stroke(v + 1), undo(v + 2), undo(v + 3)], // 10-13: keyframe inside
        (v) => [stroke(v)], // 14
        (v) => [stroke(v)], // 15: keyframe alone
        (v) => [undo(v), undo(v + 1), redo(v + 2), modify(v + 3, "first"), stroke(v + 4), stroke(v + 5), stroke(v + 6)], // 16-22
      ];
      for (const [i, plan] of plans.entries()) {
        const user = i === 4 ? students[0] : tutor;
        const { version } = ok(await server.gql(BOARD, { s: sessionId }, user.token)).session.board;
        const applied = ok(await server.gql(APPLY, { s: sessionId, events: plan(version) }, user.token)).applyBoardEvents;
        const board = ok(await server.gql(BOARD, { s: sessionId }, tutor.token)).session.board;
        live.push({ t: applied.accepted[applied.accepted.length - 1].timestampMs, board });
      }
      const save = ok(await server.gql(`mutation($s: ID!) { saveBoard(sessionId: $s) { boardVersion timestampMs } }`, { s: sessionId }, tutor.token)).saveBoard;
      assert.equal(save.boardVersion, 22);
      // The save is a timeline event (SNAPSHOT_MANUAL): the board after it reflects its seq.
      const timeline = ok(await server.gql(EVENTS, { s: sessionId, from: 0, to: 1e12, first: 100 }, tutor.token)).session.replayEvents.edges;
      const saveEvent = timeline[timeline.length - 1].node;
      assert.equal(saveEvent.type, "SNAPSHOT_MANUAL");
      live.push({ t: saveEvent.timestampMs, board: ok(await server.gql(BOARD, { s: sessionId }, tutor.token)).session.board });

      const manifest = ok(await server.gql(MANIFEST, { s: sessionId }, students[0].token)).session.replayManifest;
      assert.equal(manifest.canReplay, true);
      assert.equal(manifest.snapshotCount, 5); // keyframes 5, 10, 15, 20 and the MANUAL save
      assert.deepEqual(
        manifest.keyframesMs,
        [...new Set<number>(manifest.keyframesMs)].sort((a, b) => a - b),
      );
      assert.ok(manifest.durationMs >= live[live.length - 1].t);

      /** The board clients saw after every event with timestampMs <= t. */
      const expected = (t: number) => [...live].reverse().find((entry) => entry.t <= t)?.board;
      const instants = new Set<number>();
      for (const t of [...live.map((e) => e.t), ...manifest.keyframesMs]) for (const d of [-1, 0, 1]) instants.add(t + d);
      for (const t of instants) {
        const want = expected(t);
        const got = ok(await server.gql(AT, { s: sessionId, t }, students[0].token)).session.replayBoardAt;
        const small = ok(await server.gql(AT_VERSION, { s: sessionId, t }, students[0].token)).session.replayBoardAt;
        assert.deepEqual(small, { version: got.version, lastSeq: got.lastSeq }, `t=${t}: version and lastSeq alone`);
        const counted = ok(await server.gql(AT_COUNT, { s: sessionId, t }, students[0].token)).session.replayBoardAt;
        assert.deepEqual(counted, { objectCount: got.objectCount, version: got.version }, `t=${t}: the object count alone`);
        // A few objects, asked in any order, repeated, or unknown: those that exist, in id order.
        const ids = Object.keys(got.objects).sort();
        const some = [ids.at(-1), "no-such-object", ids[0], ids.at(-1)].filter((id): id is string => id !== undefined);
        const picked = ok(await server.gql(AT_SOME, { s: sessionId, t, ids: some }, students[0].token)).session;
        const wantPicked = Object.fromEntries(
          [...new Set(some)]
            .sort()
            .filter((id) => id in got.objects)
            .map((id) => [id, got.objects[id]]),
        );
        assert.deepEqual(picked.replayBoardAt.objects, wantPicked, `t=${t}: some objects`);
        assert.deepEqual(Object.keys(picked.replayBoardAt.objects), Object.keys(wantPicked), `t=${t}: in id order`);
        if (!want) {
          assert.equal(got.version, 0, `t=${t}`);
          continue;
        }
        assert.deepEqual(got, want, `t=${t}`);
      }
      // The live board picks the same way.
      const now = live[live.length - 1].board;
      const liveIds = Object.keys(now.objects).sort().slice(0, 2);
      const livePicked = ok(await server.gql(AT_SOME, { s: sessionId, t: 0, ids: [...liveIds, "no-such-object"] }, tutor.token)).session.board.objects;
      assert.deepEqual(livePicked, Object.fromEntries(liveIds.map((id) => [id, now.objects[id]])));
      // Far after the end: the final board (the seek answers from the cache the second time).
      const end = ok(await server.gql(AT, { s: sessionId, t: 1e12 }, tutor.token)).session.replayBoardAt;
      assert.deepEqual(end, live[live.length - 1].board);
      assert.deepEqual(ok(await server.gql(AT, { s: sessionId, t: 1e12 }, tutor.token)).session.replayBoardAt, end);
      const start = ok(await server.gql(AT, { s: sessionId, t: -1 }, tutor.token)).session.replayBoardAt;
      assert.deepEqual([start.version, start.lastSeq, start.objectCount], [0, 0, 0]);
    });

    it("pages replay events over half-open time windows, in seq order", async () => {
      const { tutor, sessionId } = await activeLesson(server, 1);
      const stamps: number[] = [];
      for (let i = 0; i < 6; i++) {
        const { version } = ok(await server.gql(BOARD, { s: sessionId }, tutor.token)).session.board;
        const applied = ok(await server.gql(APPLY, { s: sessionId, events: [stroke(version), stroke(version + 1)] }, tutor.token)).applyBoardEvents;
        stamps.push(applied.accepted[0].timestampMs);
      }
      const all = ok(await server.gql(EVENTS, { s: sessionId, from: 0, to: 1e12, first: 100 }, tutor.token)).session.replayEvents;
      const seqs = all.edges.map((e: any) => e.node.seq);
      assert.deepEqual(
        seqs,
        [...seqs].sort((a: number, b: number) => a - b),
      );
      assert.equal(all.totalCount, all.edges.length);
      const from = stamps[2];
      const to = stamps[4];
      const inWindow = all.edges.filter((e: any) => e.node.timestampMs >= from && e.node.timestampMs < to).map((e: any) => e.node.seq);
      assert.ok(inWindow.length >= 2);
      // Three at a time, following the cursors.
      const paged: number[] = [];
      let after: string | null = null;
      for (;;) {
        const page: any = ok(await server.gql(EVENTS, { s: sessionId, from, to, first: 3, after }, tutor.token)).session.replayEvents;
        assert.equal(page.totalCount, inWindow.length);
        paged.push(...page.edges.map((e: any) => e.node.seq));
        if (!page.pageInfo.hasNextPage) break;
        after = page.pageInfo.endCursor;
      }
      assert.deepEqual(paged, inWindow);
      // toMs is excluded, fromMs included.
      const empty = ok(await server.gql(EVENTS, { s: sessionId, from, to: from, first: 10 }, tutor.token)).session.replayEvents;
      assert.equal(empty.totalCount, 0);
      assertError(await server.gql(EVENTS, { s: sessionId, from: 10, to: 5 }, tutor.token), "BAD_USER_INPUT");
      assertError(await server.gql(EVENTS, { s: sessionId, from: 0, to: 5, first: 101 }, tutor.token), "BAD_USER_INPUT");
      assertError(await server.gql(EVENTS, { s: sessionId, from: 0, to: 5, after: "bogus" }, tutor.token), "BAD_USER_INPUT");
    });

    it("keeps replay of an unrecorded session for its host; strangers see no session", async () => {
      const tutor = await registerUser(server, "TUTOR");
      const student = await registerUser(server, "STUDENT");
      const stranger = await registerUser(server, "STUDENT");
      const created = ok(
        await server.gql(`mutation { createSession(input: { type: GROUP, isRecorded: false }) { id accessCode } }`, {}, tutor.token),
      ).createSession;
      ok(await server.gql(`mutation($c: String!) { joinSessionByCode(accessCode: $c) { participant { id } } }`, { c: created.accessCode }, student.token));
      ok(await server.gql(`mutation($s: ID!) { startSession(id: $s) { status } }`, { s: created.id }, tutor.token));
      ok(await server.gql(APPLY, { s: created.id, events: [stroke(0)] }, student.token));

      const denied = ok(await server.gql(MANIFEST, { s: created.id }, student.token)).session.replayManifest;
      assert.deepEqual(denied, { canReplay: false, durationMs: 0, eventCount: 0, snapshotCount: 0, keyframesMs: [] });
      assertError(await server.gql(AT, { s: created.id, t: 1e12 }, student.token), "FORBIDDEN");
      assertError(await server.gql(EVENTS, { s: created.id, from: 0, to: 1e12 }, student.token), "FORBIDDEN");
      // The board and snapshots stay readable: only replay is the host's.
      assert.equal(ok(await server.gql(BOARD, { s: created.id }, student.token)).session.board.version, 1);

      const hosts = ok(await server.gql(MANIFEST, { s: created.id }, tutor.token)).session.replayManifest;
      assert.equal(hosts.canReplay, true);
      assert.ok(hosts.eventCount >= 4);
      assert.equal(ok(await server.gql(AT, { s: created.id, t: 1e12 }, tutor.token)).session.replayBoardAt.version, 1);

      const strangers = await server.gql(AT, { s: created.id, t: 1e12 }, stranger.token);
      assert.equal(strangers.body.data?.session, null);
      assert.equal(strangers.body.errors, undefined);
      assertError(await server.gql(AT, { s: created.id, t: 1e12 }), "UNAUTHENTICATED");
    });
  });
}
