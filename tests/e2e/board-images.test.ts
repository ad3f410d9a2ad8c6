import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { codeOf, ok } from "../support/assertions";
import { backends } from "../support/backends";
import { download } from "../support/download";
import { activeLesson, type User } from "../support/lesson";
import { startTestServer, type TestServer } from "../support/test-server";

const APPLY = `mutation($s: ID!, $events: [BoardEventInput!]!, $strategy: ConflictStrategy) {
  applyBoardEvents(sessionId: $s, events: $events, strategy: $strategy) { version accepted { version type clientOpId } }
}`;
const BOARD = `query($s: ID!) { session(id: $s) { board { version objects } } }`;
const SAVE = `mutation($s: ID!) { saveBoard(sessionId: $s) { version thumbnailSvg } }`;
const IMPORT = `mutation($s: ID!, $b: JSON!, $m: ImportMode!) { importBoard(sessionId: $s, board: $b, mode: $m) { version } }`;
const GRANT = `mutation($s: ID!, $u: ID!) { updateParticipantPermissions(sessionId: $s, userId: $u, permissions: { canUploadImages: false }) { id } }`;

// What a browser would run as script or open as a document: the scheme is read after
// leading spaces and controls are skipped and tabs/newlines dropped.
const UNSAFE = [
  " javascript:alert(1)",
  " data:text/html,<script>alert(1)</script>",
  "\tjava\nscript:alert(1)",
  "data:image/svg+xml,<svg xmlns='http://www.w3.org/2000/svg' onload='alert(1)'/>",
];
const SAFE = "https://cdn.example/cat.png";

let counter = 0;
const event = (type: string, baseVersion: number, data: Record<string, unknown>) => ({ clientOpId: `op-${++counter}`, type, baseVersion, data });
const stroke = (baseVersion: number) =>
  event("STROKE", baseVersion, {
    id: `s${++counter}`,
    points: [
      [0, 0],
      [10, 10],
    ],
  });
const upload = (baseVersion: number, id: string, url: string, extra: Record<string, unknown> = {}) =>
  event("IMAGE_UPLOAD", baseVersion, { id, url, x: 0, y: 0, width: 40, height: 30, ...extra });
const imageObject = (baseVersion: number, id: string, props: Record<string, unknown>) =>
  event("OBJECT_CREATE", baseVersion, { id, kind: "image", props: { x: 0, y: 0, w: 40, h: 30, ...props } });

for (const backend of backends) {
  describe(`whiteboard images [${backend.name}]`, { skip: backend.skip }, () => {
    let server: TestServer;
    let tutor: User;
    /** Draws, but may not upload images. */
    let bob: User;
    let sessionId: string;

    before(async () => {
      server = await startTestServer(backend);
      let students: User[];
      ({ tutor, students, sessionId } = await activeLesson(server, 1));
      bob = students[0];
      ok(await server.gql(GRANT, { s: sessionId, u: bob.id }, tutor.token));
    });
    after(() => server?.stop());

    const apply = (user: User, events: unknown[], strategy?: string) => server.gql(APPLY, { s: sessionId, events, strategy }, user.token);
    const board = async () => ok(await server.gql(BOARD, { s: sessionId }, tutor.token)).session.board;

    it("accepts an https image by IMAGE_UPLOAD and by OBJECT_CREATE", async () => {
      const { version } = await board();
      const done = ok(await apply(tutor, [upload(version, "cat", SAFE), imageObject(version + 1, "cat2", { url: SAFE })])).applyBoardEvents;
      assert.deepEqual(
        done.accepted.map((e: any) => e.version),
        [version + 1, version + 2],
      );
      const { objects } = await board();
      assert.deepEqual([objects.cat.kind, objects.cat.props.url, objects.cat2.kind, objects.cat2.props.url], ["image", SAFE, "image", SAFE]);
    });

    it("refuses an unsafe image URL whatever op brings it (BAD_USER_INPUT), applying nothing of the batch", async () => {
      const { version } = await board();
      ok(await apply(tutor, [upload(version, "pic", SAFE)]));
      const base = version + 1;
      for (const url of UNSAFE) {
        const batches = {
          "IMAGE_UPLOAD url": [upload(base + 1, "x", url)],
          "IMAGE_UPLOAD href": [upload(base + 1, "x", SAFE, { href: url })],
          "OBJECT_CREATE image url": [imageObject(base + 1, "x", { url })],
          "OBJECT_CREATE image src": [imageObject(base + 1, "x", { src: url })],
          "OBJECT_MODIFY image url": [event("OBJECT_MODIFY", base + 1, { id: "pic", props: { url } })],
        };
        for (const [what, events] of Object.entries(batches)) {
          const res = await apply(tutor, [stroke(base), ...events]);
          assert.equal(codeOf(res), "BAD_USER_INPUT", `${what}: ${JSON.stringify(url)}`);
        }
      }
      const after = await board();
      assert.equal(after.version, base);
      assert.equal(after.objects.pic.props.url, SAFE);
      assert.equal(after.objects.x, undefined);
    });

    it("needs canUploadImages to create an image or re-point one, whatever the op type (FORBIDDEN)", async () => {
      const { version } = await board();
      ok(await apply(tutor, [upload(version, "photo", SAFE)]));
      const base = version + 1;
      const refused = {
        IMAGE_UPLOAD: upload(base + 1, "mine", SAFE),
        "OBJECT_CREATE image": imageObject(base + 1, "mine", { url: SAFE }),
        "OBJECT_MODIFY image url": event("OBJECT_MODIFY", base + 1, { id: "photo", props: { url: "https://cdn.example/dog.png" } }),
      };
      for (const [what, op] of Object.entries(refused)) assert.equal(codeOf(await apply(bob, [stroke(base), op])), "FORBIDDEN", what);
      assert.equal((await board()).version, base);
      // Drawing, and moving an image, is still canDraw.
      ok(await apply(bob, [stroke(base), event("OBJECT_MODIFY", base + 1, { id: "photo", props: { x: 5 } })]));
      const after = await board();
      assert.deepEqual([after.version, after.objects.photo.props.x, after.objects.photo.props.url], [base + 2, 5, SAFE]);
    });

    it("refuses an imported board with an unsafe image in every mode; exports and thumbnails never reference script", async () => {
      const before = await board();
      for (const url of UNSAFE) {
        const imported = {
          layers: [{ id: "default", name: "Layer 1" }],
          objects: { evil: { id: "evil", kind: "image", layerId: "default", props: { url, x: 0, y: 0, w: 10, h: 10 }, createdBy: tutor.id } },
        };
        for (const mode of ["REPLACE", "MERGE_KEEP_SERVER", "MERGE_KEEP_CLIENT"]) {
          assert.equal(
            codeOf(await server.gql(IMPORT, { s: sessionId, b: imported, m: mode }, tutor.token)),
            "BAD_USER_INPUT",
            `${mode}: ${JSON.stringify(url)}`,
          );
        }
      }
      assert.equal((await board()).version, before.version);
      const saved = ok(await server.gql(SAVE, { s: sessionId }, tutor.token)).saveBoard;
      assert.match(saved.thumbnailSvg, new RegExp(`<image data-id="cat"[^>]* href="${SAFE.replace(/[.]/g, "\\.")}"`));
      assert.doesNotMatch(saved.thumbnailSvg, /javascript:|text\/html|svg\+xml,/i);
      const exported = await download(`${server.url}/export/sessions/${sessionId}/board`, { authorization: `Bearer ${tutor.token}` });
      assert.equal(exported.status, 200);
      assert.doesNotMatch(exported.raw.toString("utf8"), /javascript:|text\/html/i);
    });
  });
}
