import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { applyOps, emptyBoard, type BoardState } from "../../src/board";
import { BoardCache, estimateBoardBytes } from "../../src/services/board-cache";

const USER = "00000000-0000-4000-8000-00000000000a";

/** A board with `strokes` strokes of `points` points each. */
function board(strokes: number, points = 10): BoardState {
  const ops = Array.from({ length: strokes }, (_, i) => ({
    clientOpId: `op-${i}`,
    type: "STROKE" as const,
    baseVersion: 0,
    data: { id: `s${i}`, points: Array.from({ length: points }, (_, p) => [p, p]) },
  }));
  return applyOps(emptyBoard(), ops, USER, "LAST_WRITE_WINS").state;
}

describe("BoardCache", () => {
  it("is bounded by the boards' estimated bytes, least recently used out", () => {
    const small = board(5);
    const size = estimateBoardBytes(small);
    const cache = new BoardCache(size * 3); // three such boards, not four
    for (const id of ["a", "b", "c"]) cache.offer(id, board(5));
    assert.equal(cache.size, 3);
    assert.ok(cache.get("a")); // a is now the most recently used: b goes first
    cache.offer("d", board(5));
    assert.deepEqual([cache.get("a") !== undefined, cache.get("b"), cache.get("c") !== undefined, cache.get("d") !== undefined], [true, undefined, true, true]);
    assert.ok(cache.bytes <= cache.budgetBytes);
    // One big board pushes out as many small ones as it needs to.
    cache.offer("big", board(10));
    assert.ok(cache.get("big"));
    assert.ok(cache.bytes <= cache.budgetBytes);
    assert.ok(cache.size <= 2);
  });

  it("keeps no board larger than the whole budget, and keeps the others", () => {
    const cache = new BoardCache(estimateBoardBytes(board(5)) * 2);
    cache.offer("a", board(5));
    cache.offer("huge", board(100));
    assert.equal(cache.get("huge"), undefined);
    assert.ok(cache.get("a"));
  });

  it("counts what a write in place adds, and evicts once the board outgrows the rest", () => {
    const cache = new BoardCache(estimateBoardBytes(board(20)));
    const state = board(1);
    cache.offer("a", state);
    cache.offer("b", board(1));
    const before = cache.bytes;
    const step = applyOps(
      state,
      Array.from({ length: 5 }, (_, i) => ({
        clientOpId: `more-${i}`,
        type: "STROKE" as const,
        baseVersion: state.version,
        data: {
          id: `m${i}`,
          points: [
            [0, 0],
            [1, 1],
          ],
        },
      })),
      USER,
      "LAST_WRITE_WINS",
      { inPlace: true },
    );
    assert.equal(step.state, state);
    cache.grew("a", state, step.applied);
    assert.ok(cache.bytes > before);
    // The grown board's estimate bounds its real size from above.
    assert.ok(cache.bytes - estimateBoardBytes(cache.get("b") as BoardState) >= estimateBoardBytes(state));
    for (let i = 0; i < 10 && cache.get("a"); i++) {
      const more = applyOps(
        state,
        [{ clientOpId: `x-${i}`, type: "STROKE", baseVersion: state.version, data: { id: `x${i}`, points: Array.from({ length: 200 }, (_, p) => [p, p]) } }],
        USER,
        "LAST_WRITE_WINS",
        { inPlace: true },
      );
      cache.grew("a", state, more.applied);
    }
    assert.equal(cache.get("a"), undefined, "a board grown past the budget is let go");
    assert.ok(cache.bytes <= cache.budgetBytes);
  });

  it("keeps the newer board of a session and forgets one on delete", () => {
    const cache = new BoardCache(1 << 20);
    const newer = board(3);
    cache.offer("a", newer);
    cache.offer("a", board(1));
    assert.equal(cache.get("a"), newer);
    cache.delete("a");
    assert.equal(cache.get("a"), undefined);
    assert.equal(cache.bytes, 0);
  });

  it("takes a measured size for the cached board only, and evicts by it", () => {
    const a = board(5);
    const cache = new BoardCache(estimateBoardBytes(a) * 3);
    cache.offer("a", a);
    cache.offer("b", board(5));
    cache.measured("a", board(5), 1); // not the cached object: ignored
    assert.equal(cache.bytes, estimateBoardBytes(a) * 2);
    cache.measured("a", a, estimateBoardBytes(a) * 2); // the board written in place grew
    assert.equal(cache.bytes, estimateBoardBytes(a) * 3);
    cache.offer("c", board(5)); // over budget: b, the least recently used, goes
    assert.equal(cache.get("b"), undefined);
    assert.equal(cache.get("a"), a);
  });
});
