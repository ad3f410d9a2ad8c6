import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import type { BoardCache } from "../../src/services/board-cache";
import { ok } from "../support/assertions";
import { backends } from "../support/backends";
import { activeLesson } from "../support/lesson";
import { startTestServer, type TestServer } from "../support/test-server";

const BOARD = `query($s: ID!) { session(id: $s) { board { version objects } } }`;
const APPLY = `mutation($s: ID!, $events: [BoardEventInput!]!) { applyBoardEvents(sessionId: $s, events: $events) { version } }`;

/** A stroke of `points` points: about 9 bytes of JSON each. */
const stroke = (id: string, baseVersion: number, points: number) => ({
  clientOpId: `op-${id}`,
  type: "STROKE" as const,
  baseVersion,
  data: { id, points: Array.from({ length: points }, (_, i) => [i, i]) },
});

for (const backend of backends) {
  // BOARD_CACHE_BYTES holds one board of a 1000-point stroke (~9 KB of JSON), not two: each
  // write to one board evicts the other, which the next write or read loads from the timeline.
  describe(`the board cache bounded by bytes [${backend.name}]`, { skip: backend.skip }, () => {
    let server: TestServer;
    before(async () => {
      server = await startTestServer(backend, { env: { BOARD_CACHE_BYTES: "15000" } });
    });
    after(() => server?.stop());

    it("evicts a board for another and reads and writes the evicted one right", async () => {
      const cache = (server.app.services.board as unknown as { cache: BoardCache }).cache;
      const a = await activeLesson(server, 0);
      const b = await activeLesson(server, 0);
      const write = (lesson: typeof a, op: ReturnType<typeof stroke>) => server.gql(APPLY, { s: lesson.sessionId, events: [op] }, lesson.tutor.token);
      const board = async (lesson: typeof a) => ok(await server.gql(BOARD, { s: lesson.sessionId }, lesson.tutor.token)).session.board;

      assert.equal(ok(await write(a, stroke("a1", 0, 1000))).applyBoardEvents.version, 1);
      assert.equal(cache.size, 1);
      assert.equal(ok(await write(b, stroke("b1", 0, 1000))).applyBoardEvents.version, 1);
      assert.equal(cache.size, 1, "B's board evicted A's");
      assert.ok(cache.bytes <= 15000);

      // A's next write starts from the evicted board, loaded again, and evicts B's.
      assert.equal(ok(await write(a, stroke("a2", 1, 10))).applyBoardEvents.version, 2);
      assert.equal(ok(await write(b, stroke("b2", 1, 10))).applyBoardEvents.version, 2);
      const [shownA, shownB] = [await board(a), await board(b)];
      assert.equal(shownA.version, 2);
      assert.deepEqual(Object.keys(shownA.objects).sort(), ["a1", "a2"]);
      assert.equal(shownA.objects.a1.props.points.length, 1000);
      assert.deepEqual(shownA.objects.a2.props.points, stroke("a2", 1, 10).data.points);
      assert.equal(shownB.version, 2);
      assert.deepEqual(Object.keys(shownB.objects).sort(), ["b1", "b2"]);
      assert.equal(shownB.objects.b1.props.points.length, 1000);
      assert.ok(cache.bytes <= 15000);
    });
  });
}
