import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { assertError, codeOf, ok } from "../support/assertions";
import { backends } from "../support/backends";
import { download } from "../support/download";
import { activeLesson, type User } from "../support/lesson";
import { watch } from "../support/subscriptions";
import { registerUser, startTestServer, type TestServer } from "../support/test-server";

const EVERY = 5;

const APPLY = `mutation($s: ID!, $events: [BoardEventInput!]!) { applyBoardEvents(sessionId: $s, events: $events) { version accepted { seq version } } }`;
const BOARD = `query($s: ID!) { session(id: $s) { board { version lastSeq objectCount objects layers } } }`;
const SNAPSHOT_FIELDS = `id version boardVersion type timestampMs createdBy { id } participantCount sizeBytes createdAt thumbnailSvg board { version lastSeq layers objects objectCount }`;
const SNAPSHOTS = `query($s: ID!, $first: Int, $after: String) { session(id: $s) { snapshots(first: $first, after: $after) {
  totalCount pageInfo { hasNextPage endCursor } edges { cursor node { version boardVersion type } } } } }`;
const SAVE = `mutation($s: ID!) { saveBoard(sessionId: $s) { ${SNAPSHOT_FIELDS} } }`;
const RESTORE = `mutation($s: ID!, $v: Int!) { restoreSnapshot(sessionId: $s, version: $v) { version boardVersion type board { version objects } } }`;
const IMPORT = `mutation($s: ID!, $b: JSON!, $m: ImportMode!) { importBoard(sessionId: $s, board: $b, mode: $m) {
  version accepted { type version } conflicts { objectId reason resolution } } }`;

let counter = 0;
const stroke = (baseVersion: number, id = `s${++counter}`, extra: Record<string, unknown> = {}) => ({
  clientOpId: `op-${id}-${counter}`,
  type: "STROKE",
  baseVersion,
  data: {
    id,
    points: [
      [counter, 0],
      [10, 10],
    ],
    color: "#000",
    ...extra,
  },
});

/** What a board is made of, without the versions at which things changed. */
function content(board: { layers: unknown; objects: Record<string, any> }) {
  const objects: Record<string, unknown> = {};
  for (const [id, { kind, layerId, props, createdBy, z }] of Object.entries(board.objects)) objects[id] = { kind, layerId, props, createdBy, z };
  return { layers: board.layers, objects };
}

for (const backend of backends) {
  describe(`board snapshots, restore, export and import [${backend.name}]`, { skip: backend.skip }, () => {
    let server: TestServer;

    before(async () => {
      server = await startTestServer(backend, { env: { SNAPSHOT_EVERY_EVENTS: String(EVERY), SOLO_QUOTA_BYTES: "20000", SOLO_SNAPSHOT_KEEP_LAST: "2" } });
    });
    after(() => server?.stop());

    const board = async (sessionId: string, user: User) => ok(await server.gql(BOARD, { s: sessionId }, user.token)).session.board;
    const draw = async (sessionId: string, user: User, n: number, extra?: Record<string, unknown>) => {
      const { version } = await board(sessionId, user);
      const events = Array.from({ length: n }, (_, i) => stroke(version + i, undefined, extra));
      return ok(await server.gql(APPLY, { s: sessionId, events }, user.token)).applyBoardEvents;
    };
    const snapshots = async (sessionId: string, user: User) =>
      ok(await server.gql(SNAPSHOTS, { s: sessionId, first: 100 }, user.token)).session.snapshots.edges.map((e: any) => e.node);

    it("takes a keyframe at every multiple of SNAPSHOT_EVERY_EVENTS board versions, inside a batch too", async () => {
      const { tutor, sessionId } = await activeLesson(server, 1);
      await draw(sessionId, tutor, 12);
      await draw(sessionId, tutor, 3);
      const list = await snapshots(sessionId, tutor);
      assert.deepEqual(
        list.map((s: any) => [s.version, s.type, s.boardVersion]),
        [
          [1, "AUTO", 5],
          [2, "AUTO", 10],
          [3, "AUTO", 15],
        ],
      );
    });

    it("saveBoard stores a MANUAL snapshot with its metadata, board and SVG thumbnail; lists page by cursor", async () => {
      const { tutor, students, sessionId } = await activeLesson(server, 2);
      await draw(sessionId, students[0], 2);
      // Text beyond ASCII goes to the database as UTF-8 bytes and must come back the same.
      const text = { clientOpId: `op-text-${++counter}`, type: "TEXT_EDIT", baseVersion: 2, data: { id: `t${counter}`, text: "Привіт, клас 👋" } };
      ok(await server.gql(APPLY, { s: sessionId, events: [text] }, students[0].token));
      const live = await board(sessionId, tutor);
      const saved = ok(await server.gql(SAVE, { s: sessionId }, students[0].token)).saveBoard;
      assert.equal(saved.type, "MANUAL");
      assert.equal(saved.version, 1);
      assert.equal(saved.boardVersion, 3);
      assert.equal(saved.createdBy.id, students[0].id);
      assert.equal(saved.participantCount, 3);
      assert.ok(saved.sizeBytes > 100);
      assert.deepEqual(saved.board, live);
      assert.match(saved.thumbnailSvg, /^<svg /);
      for (const id of Object.keys(live.objects)) assert.ok(saved.thumbnailSvg.includes(`data-id="${id}"`), id);
      const detail = ok(
        await server.gql(
          `query($s: ID!) { session(id: $s) { snapshot(version: 1) { ${SNAPSHOT_FIELDS} } missing: snapshot(version: 99) { id } } }`,
          { s: sessionId },
          students[1].token,
        ),
      ).session;
      assert.deepEqual(detail.snapshot, saved);
      assert.equal(detail.missing, null);

      await draw(sessionId, tutor, 4); // keyframe at 5
      ok(await server.gql(SAVE, { s: sessionId }, tutor.token));
      const first = ok(await server.gql(SNAPSHOTS, { s: sessionId, first: 2 }, tutor.token)).session.snapshots;
      assert.equal(first.totalCount, 3);
      assert.equal(first.pageInfo.hasNextPage, true);
      const rest = ok(await server.gql(SNAPSHOTS, { s: sessionId, first: 2, after: first.pageInfo.endCursor }, tutor.token)).session.snapshots;
      assert.deepEqual(
        [...first.edges, ...rest.edges].map((e: any) => [e.node.version, e.node.type]),
        [
          [1, "MANUAL"],
          [2, "AUTO"],
          [3, "MANUAL"],
        ],
      );
      assert.equal(rest.pageInfo.hasNextPage, false);
    });

    it("refuses saveBoard and restoreSnapshot as RULES.md says", async () => {
      const { tutor, students, stranger, sessionId } = await activeLesson(server, 2);
      const [student, viewer] = students;
      ok(
        await server.gql(
          `mutation($s: ID!, $u: ID!) { changeParticipantRole(sessionId: $s, userId: $u, role: VIEWER) { role } }`,
          { s: sessionId, u: viewer.id },
          tutor.token,
        ),
      );
      await draw(sessionId, tutor, 2);
      assertError(await server.gql(SAVE, { s: sessionId }, viewer.token), "FORBIDDEN");
      assertError(await server.gql(SAVE, { s: sessionId }, stranger.token), "NOT_FOUND");
      assertError(await server.gql(SAVE, { s: sessionId }), "UNAUTHENTICATED");
      const saved = ok(await server.gql(SAVE, { s: sessionId }, student.token)).saveBoard;
      assertError(await server.gql(RESTORE, { s: sessionId, v: saved.version }, student.token), "FORBIDDEN");
      assertError(await server.gql(RESTORE, { s: sessionId, v: saved.version }, stranger.token), "NOT_FOUND");
      assertError(await server.gql(RESTORE, { s: sessionId, v: 999 }, stranger.token), "NOT_FOUND");
      assertError(await server.gql(RESTORE, { s: sessionId, v: saved.version }), "UNAUTHENTICATED");
      assertError(await server.gql(RESTORE, { s: sessionId, v: 999 }, tutor.token), "NOT_FOUND");
      // canClearBoard granted: the student may restore.
      ok(
        await server.gql(
          `mutation($s: ID!, $u: ID!) { updateParticipantPermissions(sessionId: $s, userId: $u, permissions: { canClearBoard: true }) { id } }`,
          { s: sessionId, u: student.id },
          tutor.token,
        ),
      );
      assert.equal(ok(await server.gql(RESTORE, { s: sessionId, v: saved.version }, student.token)).restoreSnapshot.type, "RESTORE");
      ok(await server.gql(`mutation($s: ID!) { pauseSession(id: $s) { status } }`, { s: sessionId }, tutor.token));
      assertError(await server.gql(RESTORE, { s: sessionId, v: saved.version }, tutor.token), "INVALID_STATE");
    });

    it("restores a snapshot as a new version that reaches a live boardEvents subscriber; history stays", async () => {
      const { tutor, students, sessionId } = await activeLesson(server, 1);
      await draw(sessionId, tutor, 2);
      const saved = ok(await server.gql(SAVE, { s: sessionId }, tutor.token)).saveBoard;
      await draw(sessionId, students[0], 2);
      const current = await board(sessionId, students[0]);
      const frames = watch(server, students[0].token, `subscription($s: ID!, $a: Int) { boardEvents(sessionId: $s, afterSeq: $a) { seq version type data } }`, {
        s: sessionId,
        a: current.lastSeq,
      });
      const restored = ok(await server.gql(RESTORE, { s: sessionId, v: saved.version }, tutor.token)).restoreSnapshot;
      assert.equal(restored.type, "RESTORE");
      assert.equal(restored.boardVersion, current.version + 1);
      const event = (await frames.until((f) => f.data?.boardEvents)).data.boardEvents;
      frames.close();
      assert.equal(event.type, "RESTORE");
      assert.equal(event.version, current.version + 1);
      const after = await board(sessionId, tutor);
      assert.equal(after.version, current.version + 1);
      assert.deepEqual(content(after), content(saved.board));
      assert.deepEqual(restored.board.objects, after.objects);
      // Nothing rewritten: the four strokes are still events, and the board before the restore is still there.
      const timeline = ok(
        await server.gql(
          `query($s: ID!) { session(id: $s) { replayEvents(fromMs: 0, toMs: 100000000, first: 100) { edges { node { type } } } } }`,
          { s: sessionId },
          tutor.token,
        ),
      );
      const types = timeline.session.replayEvents.edges.map((e: any) => e.node.type);
      assert.equal(types.filter((t: string) => t === "BOARD_STROKE").length, 4);
      assert.deepEqual(types.slice(-2), ["BOARD_RESTORE", "SNAPSHOT_RESTORE"]);
    });

    it("takes JOIN, LEAVE and TERMINATE snapshots when the board has something new", async () => {
      const { tutor, students, sessionId } = await activeLesson(server, 1);
      const code = ok(await server.gql(`query($s: ID!) { session(id: $s) { accessCode } }`, { s: sessionId }, tutor.token)).session.accessCode;
      await draw(sessionId, tutor, 2);
      ok(await server.gql(`mutation($s: ID!) { leaveSession(id: $s) { status } }`, { s: sessionId }, students[0].token));
      const late = await registerUser(server, "STUDENT");
      ok(await server.gql(`mutation($c: String!) { joinSessionByCode(accessCode: $c) { participant { id } } }`, { c: code }, late.token)); // nothing new: no snapshot
      await draw(sessionId, tutor, 1);
      const again = await registerUser(server, "STUDENT");
      ok(await server.gql(`mutation($c: String!) { joinSessionByCode(accessCode: $c) { participant { id } } }`, { c: code }, again.token));
      ok(await server.gql(`mutation($s: ID!) { terminateSession(id: $s) { status } }`, { s: sessionId }, tutor.token));
      assert.deepEqual(
        (await snapshots(sessionId, tutor)).map((s: any) => [s.type, s.boardVersion]),
        [
          ["LEAVE", 2],
          ["JOIN", 3],
          ["TERMINATE", 3],
        ],
      );
    });

    it("downloads the board and snapshots as JSON, gzip-compressed when asked, access-checked", async () => {
      const { tutor, students, stranger, sessionId } = await activeLesson(server, 2);
      await draw(sessionId, tutor, 3);
      const saved = ok(await server.gql(SAVE, { s: sessionId }, tutor.token)).saveBoard;
      await draw(sessionId, students[0], 1);
      const live = await board(sessionId, tutor);
      const url = `${server.url}/export/sessions/${sessionId}/board`;

      const zipped = await download(url, { authorization: `Bearer ${students[0].token}`, "accept-encoding": "gzip, deflate" });
      assert.equal(zipped.status, 200);
      assert.equal(zipped.headers["content-encoding"], "gzip");
      assert.match(String(zipped.headers["content-type"]), /^application\/json/);
      assert.match(String(zipped.headers["content-disposition"]), /^attachment; filename=".+\.json"$/);
      assert.equal(zipped.raw[0], 0x1f); // gzip magic
      assert.deepEqual(zipped.json(), live);

      const plain = await download(url, { authorization: `Bearer ${tutor.token}` });
      assert.equal(plain.status, 200);
      assert.equal(plain.headers["content-encoding"], undefined);
      assert.deepEqual(JSON.parse(plain.raw.toString("utf8")), live);
      const refused = await download(url, { authorization: `Bearer ${tutor.token}`, "accept-encoding": "gzip;q=0, identity" });
      assert.equal(refused.headers["content-encoding"], undefined);

      const snapshot = await download(`${server.url}/export/sessions/${sessionId}/snapshots/${saved.version}`, {
        authorization: `Bearer ${students[1].token}`,
        "accept-encoding": "gzip",
      });
      assert.equal(snapshot.status, 200);
      assert.deepEqual(snapshot.json(), saved.board);

      assert.equal((await download(url)).status, 401);
      assert.equal((await download(url, { authorization: "Bearer not-a-token" })).status, 401);
      const strangers = await download(url, { authorization: `Bearer ${stranger.token}` });
      assert.equal(strangers.status, 404);
      assert.equal(strangers.json().errors[0].extensions.code, "NOT_FOUND");
      assert.equal((await download(`${server.url}/export/sessions/${sessionId}/snapshots/99`, { authorization: `Bearer ${tutor.token}` })).status, 404);
      assert.equal(
        (await download(`${server.url}/export/sessions/${sessionId}/snapshots/${saved.version}`, { authorization: `Bearer ${stranger.token}` })).status,
        404,
      );
      ok(
        await server.gql(
          `mutation($s: ID!, $u: ID!) { kickParticipant(sessionId: $s, userId: $u) { status } }`,
          { s: sessionId, u: students[1].id },
          tutor.token,
        ),
      );
      assert.equal((await download(url, { authorization: `Bearer ${students[1].token}` })).status, 403);
    });

    it("imports an exported board into a new session as the same board, and merges as the mode says", async () => {
      const a = await activeLesson(server, 1);
      await draw(a.sessionId, a.tutor, 3);
      await draw(a.sessionId, a.students[0], 2);
      ok(
        await server.gql(
          APPLY,
          { s: a.sessionId, events: [{ clientOpId: "layer", type: "LAYER_ADD", baseVersion: 5, data: { id: "notes", name: "Notes" } }] },
          a.tutor.token,
        ),
      );
      await draw(a.sessionId, a.tutor, 1, { layerId: "notes" });
      const exported = (
        await download(`${server.url}/export/sessions/${a.sessionId}/board`, { authorization: `Bearer ${a.tutor.token}`, "accept-encoding": "gzip" })
      ).json();

      const b = await activeLesson(server, 1);
      const imported = ok(await server.gql(IMPORT, { s: b.sessionId, b: exported, m: "REPLACE" }, b.tutor.token)).importBoard;
      assert.deepEqual(
        imported.accepted.map((e: any) => [e.type, e.version]),
        [["RESTORE", 1]],
      );
      assert.deepEqual(content(await board(b.sessionId, b.students[0])), content(exported));

      // Merges: one clashing id with other props, one id only on each side.
      const c = await activeLesson(server, 1);
      ok(
        await server.gql(APPLY, { s: c.sessionId, events: [stroke(0, "mine"), stroke(1, Object.keys(exported.objects)[0], { color: "#fff" })] }, c.tutor.token),
      );
      const clash = Object.keys(exported.objects)[0];
      const keep = ok(await server.gql(IMPORT, { s: c.sessionId, b: exported, m: "MERGE_KEEP_SERVER" }, c.tutor.token)).importBoard;
      const kept = await board(c.sessionId, c.tutor);
      assert.equal(kept.objects[clash].props.color, "#fff");
      assert.ok(kept.objects.mine);
      assert.equal(kept.objectCount, Object.keys(exported.objects).length + 1);
      assert.deepEqual(kept.layers, exported.layers);
      assert.equal(keep.version, kept.version);
      const win = ok(await server.gql(IMPORT, { s: c.sessionId, b: exported, m: "MERGE_KEEP_CLIENT" }, c.tutor.token)).importBoard;
      const won = await board(c.sessionId, c.tutor);
      assert.equal(won.objects[clash].props.color, exported.objects[clash].props.color);
      assert.ok(won.objects.mine);
      assert.ok(win.accepted.every((e: any) => e.type === "OBJECT_CREATE"));

      // More objects than one batch of ops: still one import, in one transaction.
      const many = { layers: [{ id: "default", name: "Layer 1" }], objects: {} as Record<string, unknown> };
      for (let i = 0; i < 620; i++)
        many.objects[`m${i}`] = { id: `m${i}`, kind: "rect", layerId: "default", props: { x: i, y: i, w: 5, h: 5 }, createdBy: c.tutor.id };
      const big = ok(await server.gql(IMPORT, { s: c.sessionId, b: many, m: "MERGE_KEEP_SERVER" }, c.tutor.token)).importBoard;
      assert.equal(big.accepted.length, 620);
      assert.equal((await board(c.sessionId, c.tutor)).objectCount, won.objectCount + 620);

      assertError(await server.gql(IMPORT, { s: c.sessionId, b: { layers: [], objects: {} }, m: "REPLACE" }, c.tutor.token), "BAD_USER_INPUT");
      assertError(await server.gql(IMPORT, { s: c.sessionId, b: exported, m: "REPLACE" }, c.students[0].token), "FORBIDDEN");
      assertError(await server.gql(IMPORT, { s: c.sessionId, b: exported, m: "REPLACE" }, c.stranger.token), "NOT_FOUND");
      assert.equal((await board(c.sessionId, c.tutor)).version, big.version);
    });

    it("retention thins AUTO snapshots of finished lessons and keeps every keyframe", async () => {
      const { tutor, sessionId } = await activeLesson(server, 1);
      const autosave = () => server.app.services.captures.autosave(new Date(Date.now() + 60_000), 10_000);
      // (Boards of earlier tests' sessions may be saved too: only this session's list is asserted.)
      await draw(sessionId, tutor, 7); // keyframe 5
      await autosave(); // AUTO at 7
      await autosave(); // nothing new
      await draw(sessionId, tutor, 4); // keyframe 10
      await autosave(); // AUTO at 11
      await draw(sessionId, tutor, 1);
      await autosave(); // AUTO at 12
      const live = await board(sessionId, tutor);
      assert.deepEqual(
        (await snapshots(sessionId, tutor)).map((s: any) => s.boardVersion),
        [5, 7, 10, 11, 12],
      );
      // Not finished yet: nothing is thinned.
      assert.match(await server.app.jobs.runNow("snapshot-retention"), /^thinned 0 snapshots/);
      ok(await server.gql(`mutation($s: ID!) { completeSession(id: $s) { status } }`, { s: sessionId }, tutor.token));
      assert.match(await server.app.jobs.runNow("snapshot-retention"), /^thinned 3 snapshots/);
      assert.match(await server.app.jobs.runNow("snapshot-retention"), /^thinned 0 snapshots/);
      const left = await snapshots(sessionId, tutor);
      assert.deepEqual(
        left.map((s: any) => [s.type, s.boardVersion]),
        [
          ["AUTO", 5],
          ["AUTO", 10],
          ["TERMINATE", 12],
        ],
      );
      const at = ok(
        await server.gql(`query($s: ID!) { session(id: $s) { replayBoardAt(timestampMs: 100000000) { version objects } } }`, { s: sessionId }, tutor.token),
      );
      assert.deepEqual(at.session.replayBoardAt.objects, live.objects);
    });

    it("stores solo snapshots under the owner's quota: QUOTA_EXCEEDED stores nothing; GC keeps the last N", async () => {
      const owner = await registerUser(server, "STUDENT");
      const other = await registerUser(server, "STUDENT");
      const solo = ok(await server.gql(`mutation { createSoloSession(title: "mine") { id } }`, {}, owner.token)).createSoloSession.id;
      const SOLO = `mutation($s: ID!, $b: JSON!) { createSoloSnapshot(sessionId: $s, board: $b) { version type sizeBytes boardVersion board { objects layers } } }`;
      const USAGE = `{ storageUsage { usedBytes quotaBytes remainingBytes } }`;
      const small = (n: number) => ({
        layers: [{ id: "default", name: "Layer 1" }],
        objects: { [`t${n}`]: { id: `t${n}`, kind: "text", layerId: "default", props: { text: `note ${n}` }, createdBy: owner.id } },
      });
      assert.deepEqual(ok(await server.gql(USAGE, {}, owner.token)).storageUsage, { usedBytes: 0, quotaBytes: 20000, remainingBytes: 20000 });
      const first = ok(await server.gql(SOLO, { s: solo, b: small(1) }, owner.token)).createSoloSnapshot;
      assert.equal(first.type, "MANUAL");
      assert.deepEqual(Object.keys(first.board.objects), ["t1"]);
      assert.deepEqual(Object.keys((await board(solo, owner)).objects), ["t1"]);
      assert.deepEqual(ok(await server.gql(USAGE, {}, owner.token)).storageUsage, {
        usedBytes: first.sizeBytes,
        quotaBytes: 20000,
        remainingBytes: 20000 - first.sizeBytes,
      });

      const big = small(2);
      big.objects.t2.props.text = "x".repeat(9900);
      (big.objects as any).t3 = { id: "t3", kind: "text", layerId: "default", props: { text: "y".repeat(9900) }, createdBy: owner.id };
      const before = await board(solo, owner);
      const error = assertError(await server.gql(SOLO, { s: solo, b: big }, owner.token), "QUOTA_EXCEEDED");
      assert.deepEqual(
        [error.extensions!.usedBytes, error.extensions!.quotaBytes, error.extensions!.remainingBytes],
        [first.sizeBytes, 20000, 20000 - first.sizeBytes],
      );
      assert.deepEqual(await board(solo, owner), before);
      assert.equal(ok(await server.gql(USAGE, {}, owner.token)).storageUsage.usedBytes, first.sizeBytes);
      assert.equal((await snapshots(solo, owner)).length, 1);

      assertError(await server.gql(SOLO, { s: solo, b: { layers: "nope" } }, owner.token), "BAD_USER_INPUT");
      assertError(await server.gql(SOLO, { s: solo, b: small(3) }, other.token), "NOT_FOUND");
      assertError(await server.gql(SOLO, { s: solo, b: small(3) }), "UNAUTHENTICATED");
      const lesson = await activeLesson(server, 0);
      assertError(await server.gql(SOLO, { s: lesson.sessionId, b: small(3) }, lesson.tutor.token), "BAD_USER_INPUT");

      const sizes = [first.sizeBytes];
      for (const n of [4, 5, 6]) sizes.push(ok(await server.gql(SOLO, { s: solo, b: small(n) }, owner.token)).createSoloSnapshot.sizeBytes);
      const used = sizes.reduce((a, b) => a + b, 0);
      assert.equal(ok(await server.gql(USAGE, {}, owner.token)).storageUsage.usedBytes, used);
      assert.match(await server.app.jobs.runNow("snapshot-retention"), /collected 2 solo snapshots$/);
      assert.match(await server.app.jobs.runNow("snapshot-retention"), /collected 0 solo snapshots$/);
      assert.deepEqual(
        (await snapshots(solo, owner)).map((s: any) => s.version),
        [3, 4],
      );
      assert.equal(ok(await server.gql(USAGE, {}, owner.token)).storageUsage.usedBytes, sizes[2] + sizes[3]);
      assert.equal(codeOf(await server.gql(USAGE)), "UNAUTHENTICATED");
    });

    it("lets only one of two uploads racing for the last bytes in (two workspaces, one owner)", async () => {
      const owner = await registerUser(server, "STUDENT");
      const SOLO = `mutation($s: ID!, $b: JSON!) { createSoloSnapshot(sessionId: $s, board: $b) { sizeBytes } }`;
      const workspaces = await Promise.all(
        [1, 2].map(async () => ok(await server.gql(`mutation { createSoloSession { id } }`, {}, owner.token)).createSoloSession.id as string),
      );
      // Each fits the 20 000-byte quota alone; both together do not.
      const board = (n: number) => ({
        layers: [{ id: "default", name: "Layer 1" }],
        objects: { big: { id: "big", kind: "text", layerId: "default", props: { text: String(n).repeat(9900) }, createdBy: owner.id } },
      });
      const results = await Promise.all(workspaces.map((s, i) => server.gql(SOLO, { s, b: board(i) }, owner.token)));
      const stored = results.filter((r) => !r.body.errors);
      assert.equal(stored.length, 1, results.map((r) => r.text).join("\n"));
      assert.equal(codeOf(results.find((r) => r.body.errors)!), "QUOTA_EXCEEDED");
      const usage = ok(await server.gql(`{ storageUsage { usedBytes } }`, {}, owner.token)).storageUsage;
      assert.equal(usage.usedBytes, stored[0].body.data.createSoloSnapshot.sizeBytes);
    });
  });
}
