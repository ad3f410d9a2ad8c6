import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  BOARD_LIMITS,
  BoardPermissionError,
  BoardReplayError,
  BoardValidationError,
  applyOps,
  emptyBoard,
  publicBoard,
  renderSvg,
  replayOp,
  replayOps,
  requiredPermission,
  validateBoardContent,
  type ApplyOptions,
  type ApplyResult,
  type BoardOpInput,
  type BoardOpType,
  type BoardPermission,
  type BoardState,
  type ConflictStrategy,
} from "../../src/board";

const ALICE = "alice";
const BOB = "bob";

let counter = 0;
/** An op; baseVersion defaults to the board's version when applied (see `apply`). */
function op(type: BoardOpType, data: Record<string, unknown> = {}, baseVersion?: number): BoardOpInput {
  return { clientOpId: `c${++counter}`, type, baseVersion: baseVersion ?? -1, data };
}

/** applyOps with baseVersion -1 meaning "the version the board is at". */
function apply(state: BoardState, user: string, ops: BoardOpInput[], strategy?: ConflictStrategy, options?: ApplyOptions): ApplyResult {
  const filled = ops.map((o) => (o.baseVersion === -1 ? { ...o, baseVersion: state.version } : o));
  const result = applyOps(state, filled, user, strategy, options);
  // Every accepted batch must replay to the same board: checked on every example too.
  assert.deepStrictEqual(replayOps(state, result.applied), result.state);
  return result;
}

/** The board after `user` applied `ops` (all of them accepted). */
function after(state: BoardState, user: string, ...ops: BoardOpInput[]): BoardState {
  const result = apply(state, user, ops);
  assert.equal(result.applied.length, ops.length, JSON.stringify(result.skipped));
  return result.state;
}

function rejects(state: BoardState, ops: BoardOpInput[], pattern: RegExp, options?: ApplyOptions, index = ops.length - 1) {
  const filled = ops.map((o) => (o.baseVersion === -1 ? { ...o, baseVersion: state.version } : o));
  const before = structuredClone(state);
  assert.throws(
    () => applyOps(state, filled, ALICE, "LAST_WRITE_WINS", options),
    (err: unknown) => err instanceof BoardValidationError && err.index === index && pattern.test(err.message),
  );
  assert.deepStrictEqual(state, before);
}

const stroke = (id: string, extra: Record<string, unknown> = {}) =>
  op("STROKE", {
    id,
    points: [
      [0, 0],
      [10, 5],
    ],
    ...extra,
  });
const rect = (id: string, extra: Record<string, unknown> = {}) => op("OBJECT_CREATE", { id, kind: "rect", props: { x: 0, y: 0, w: 10, h: 10 }, ...extra });

describe("board engine: a new board", () => {
  it("has version 0, the default layer and nothing else", () => {
    const board = emptyBoard();
    assert.deepStrictEqual(publicBoard(board), { version: 0, layers: [{ id: "default", name: "Layer 1" }], objects: {}, objectCount: 0 });
    assert.deepStrictEqual(JSON.parse(JSON.stringify(board)), board);
  });
});

describe("board engine: each op", () => {
  it("STROKE creates a stroke whose props are the rest of data (unknown fields kept)", () => {
    const result = apply(emptyBoard(), ALICE, [stroke("s1", { color: "#f00", width: 3, pressure: [1, 2] })]);
    assert.deepStrictEqual(result.state.objects.s1, {
      id: "s1",
      kind: "stroke",
      layerId: "default",
      props: {
        points: [
          [0, 0],
          [10, 5],
        ],
        color: "#f00",
        width: 3,
        pressure: [1, 2],
      },
      createdBy: ALICE,
      version: 1,
      z: 1,
    });
    assert.equal(result.state.version, 1);
    assert.deepStrictEqual(result.applied, [
      {
        clientOpId: result.applied[0].clientOpId,
        type: "STROKE",
        userId: ALICE,
        version: 1,
        data: { id: "s1", layerId: "default", ...result.state.objects.s1.props },
      },
    ]);
    assert.deepStrictEqual(result.conflicts, []);
  });

  it("OBJECT_CREATE keeps unknown data fields in props (props win)", () => {
    const board = after(emptyBoard(), ALICE, op("OBJECT_CREATE", { id: "r", kind: "rect", props: { x: 1, label: "p" }, label: "d", extra: true }));
    assert.deepStrictEqual(board.objects.r.props, { label: "p", extra: true, x: 1 });
    assert.equal(board.objects.r.kind, "rect");
  });

  it("OBJECT_MODIFY shallow-merges props and bumps the object's version, not its z", () => {
    let board = after(emptyBoard(), ALICE, op("OBJECT_CREATE", { id: "r", kind: "rect", props: { x: 1, style: { a: 1 } } }));
    board = after(board, ALICE, op("OBJECT_MODIFY", { id: "r", props: { y: 2, style: { b: 2 } }, ignored: 1 }));
    assert.deepStrictEqual(board.objects.r.props, { x: 1, style: { b: 2 }, y: 2 });
    assert.equal(board.objects.r.version, 2);
    assert.equal(board.objects.r.z, 1);
  });

  it("OBJECT_DELETE removes the object and leaves a tombstone", () => {
    const board = after(emptyBoard(), ALICE, rect("r"), op("OBJECT_DELETE", { id: "r" }));
    assert.equal(Object.hasOwn(board.objects, "r"), false);
    assert.deepStrictEqual(board.meta.deletedObjects.r, { by: ALICE, version: 2, kind: "rect", layerId: "default" });
    assert.equal(publicBoard(board).objectCount, 0);
  });

  it("TEXT_EDIT creates an absent text (unknown fields into props) and then sets props.text", () => {
    let board = after(emptyBoard(), ALICE, op("TEXT_EDIT", { id: "t", text: "hi", x: 5, y: 6 }));
    assert.deepStrictEqual(board.objects.t, {
      id: "t",
      kind: "text",
      layerId: "default",
      props: { x: 5, y: 6, text: "hi" },
      createdBy: ALICE,
      version: 1,
      z: 1,
    });
    board = after(board, BOB, op("TEXT_EDIT", { id: "t", text: "hello", x: 99 }));
    assert.deepStrictEqual(board.objects.t.props, { x: 5, y: 6, text: "hello" });
    assert.equal(board.objects.t.createdBy, ALICE);
    rejects(after(board, ALICE, rect("r")), [op("TEXT_EDIT", { id: "r", text: "x" })], /r is a rect, not a text/);
  });

  it("IMAGE_UPLOAD creates an image", () => {
    const board = after(emptyBoard(), ALICE, op("IMAGE_UPLOAD", { id: "i", url: "https://cdn.example/a.png", x: 1, y: 2, width: 30, height: 20, alt: "cat" }));
    assert.deepStrictEqual(board.objects.i.props, { url: "https://cdn.example/a.png", x: 1, y: 2, width: 30, height: 20, alt: "cat" });
    assert.equal(board.objects.i.kind, "image");
  });

  it("LAYER_ADD inserts at the top by default, at index when given, past the top = the top", () => {
    let board = after(emptyBoard(), ALICE, op("LAYER_ADD", { id: "a", name: "A" }));
    board = after(board, ALICE, op("LAYER_ADD", { id: "b", name: "B", index: 0 }));
    board = after(board, ALICE, op("LAYER_ADD", { id: "c", name: "C", index: 99 }));
    assert.deepStrictEqual(
      board.layers.map((l) => l.id),
      ["b", "default", "a", "c"],
    );
    rejects(board, [op("LAYER_ADD", { id: "d", name: 5 })], /name must be a string/);
  });

  it("LAYER_ADD refuses a layer past the maximum", () => {
    const ops = Array.from({ length: BOARD_LIMITS.maxLayers - 1 }, (_, i) => op("LAYER_ADD", { id: `l${i}`, name: "x" }));
    const board = after(emptyBoard(), ALICE, ...ops);
    rejects(board, [op("LAYER_ADD", { id: "one-more", name: "x" })], /at most 100 layers/);
  });

  it("LAYER_DELETE removes the layer and its objects; the last layer cannot be removed", () => {
    let board = after(emptyBoard(), ALICE, op("LAYER_ADD", { id: "l2", name: "Notes" }), stroke("s1", { layerId: "l2" }), stroke("s2"));
    board = after(board, ALICE, op("LAYER_DELETE", { id: "l2" }));
    assert.deepStrictEqual(board.layers, [{ id: "default", name: "Layer 1" }]);
    assert.deepStrictEqual(Object.keys(board.objects), ["s2"]);
    assert.equal(board.meta.deletedObjects.s1.layerId, "l2");
    assert.deepStrictEqual(board.meta.deletedLayers.l2, { by: ALICE, version: 4 });
    rejects(board, [op("LAYER_DELETE", { id: "default" })], /last layer/);
    rejects(board, [op("LAYER_DELETE", { id: "l2" })], /unknown layer l2/); // deleted by the same user
  });

  it("LAYER_REORDER must name every layer exactly once", () => {
    let board = after(emptyBoard(), ALICE, op("LAYER_ADD", { id: "a", name: "A" }), op("LAYER_ADD", { id: "b", name: "B" }));
    board = after(board, ALICE, op("LAYER_REORDER", { order: ["b", "default", "a"] }));
    assert.deepStrictEqual(
      board.layers.map((l) => l.id),
      ["b", "default", "a"],
    );
    rejects(board, [op("LAYER_REORDER", { order: ["b", "a"] })], /every layer exactly once/);
    rejects(board, [op("LAYER_REORDER", { order: ["b", "a", "default", "x"] })], /every layer exactly once/);
    rejects(board, [op("LAYER_REORDER", { order: ["b", "a", "a"] })], /twice/);
  });

  it("CLEAR removes every object and keeps the layers", () => {
    let board = after(emptyBoard(), ALICE, op("LAYER_ADD", { id: "l2", name: "N" }), stroke("s1"), rect("r", { layerId: "l2" }));
    board = after(board, ALICE, op("CLEAR"));
    assert.deepStrictEqual(board.objects, {});
    assert.equal(board.layers.length, 2);
  });

  it("RESTORE (server only) sets layers and objects and clears every undo history", () => {
    const board = after(emptyBoard(), ALICE, stroke("s1"), rect("r"));
    const content = {
      layers: [
        { id: "bg", name: "Background" },
        { id: "default", name: "Top" },
      ],
      objects: { r: { id: "r", kind: "rect", layerId: "bg", props: { x: 5 }, createdBy: BOB, version: 7, z: 3 } },
      objectCount: 1,
    };
    rejects(board, [op("RESTORE", content)], /server only/);
    const result = apply(board, ALICE, [op("RESTORE", content)], "LAST_WRITE_WINS", { allowRestore: true });
    assert.deepStrictEqual(publicBoard(result.state), {
      version: 3,
      layers: [
        { id: "bg", name: "Background" },
        { id: "default", name: "Top" },
      ],
      objects: { r: { id: "r", kind: "rect", layerId: "bg", props: { x: 5 }, createdBy: BOB, version: 3, z: 3 } },
      objectCount: 1,
    });
    assert.deepStrictEqual(result.state.meta.history, {});
    assert.equal(apply(result.state, ALICE, [op("UNDO")]).skipped[0].reason, "NOTHING_TO_UNDO");
    assert.throws(() => validateBoardContent({ layers: [], objects: {} }), BoardValidationError);
    assert.throws(
      () => validateBoardContent({ layers: [{ id: "a", name: "A" }], objects: { x: { kind: "k", layerId: "b", props: {}, createdBy: "u" } } }),
      /unknown layer b/,
    );
  });

  it("validates each op against the board the earlier ops of the batch left", () => {
    const result = apply(emptyBoard(), ALICE, [
      op("LAYER_ADD", { id: "l9", name: "New" }),
      stroke("s", { layerId: "l9" }),
      op("OBJECT_MODIFY", { id: "s", props: { color: "#00f" } }),
    ]);
    assert.equal(result.applied.length, 3);
    rejects(emptyBoard(), [stroke("s"), op("OBJECT_DELETE", { id: "s" }), op("OBJECT_MODIFY", { id: "s", props: {} })], /unknown object s/);
  });

  it("ids that are Object.prototype names are ordinary ids", () => {
    let board = after(
      emptyBoard(),
      ALICE,
      stroke("__proto__"),
      stroke("constructor"),
      op("LAYER_ADD", { id: "toString", name: "T" }),
      rect("hasOwnProperty", { layerId: "toString" }),
    );
    assert.deepStrictEqual(Object.keys(board.objects).sort(), ["__proto__", "constructor", "hasOwnProperty"]);
    assert.equal(Object.getPrototypeOf(board.objects), Object.prototype);
    rejects(board, [op("OBJECT_MODIFY", { id: "toString", props: {} })], /unknown object toString/);
    board = after(board, ALICE, op("OBJECT_DELETE", { id: "__proto__" }), op("LAYER_DELETE", { id: "toString" }));
    assert.deepStrictEqual(Object.keys(board.objects), ["constructor"]);
    assert.deepStrictEqual(JSON.parse(JSON.stringify(board)), board);
  });
});

describe("board engine: layer defaults", () => {
  it('puts objects on "default" while it exists, otherwise on the top layer', () => {
    let board = after(emptyBoard(), ALICE, op("LAYER_ADD", { id: "top", name: "Top" }), stroke("a"));
    assert.equal(board.objects.a.layerId, "default");
    board = after(
      board,
      ALICE,
      op("LAYER_ADD", { id: "bottom", name: "B", index: 0 }),
      op("LAYER_DELETE", { id: "default" }),
      stroke("b"),
      op("TEXT_EDIT", { id: "t", text: "x" }),
    );
    assert.equal(board.objects.b.layerId, "top");
    assert.equal(board.objects.t.layerId, "top");
    board = after(board, ALICE, op("LAYER_REORDER", { order: ["top", "bottom"] }), stroke("c"));
    assert.equal(board.objects.c.layerId, "bottom");
    rejects(board, [stroke("d", { layerId: "default" })], /unknown layer default/);
  });
});

describe("board engine: undo and redo", () => {
  it("undoes the user's latest op as a new version and redoes it", () => {
    let board = after(emptyBoard(), ALICE, rect("r"), op("OBJECT_MODIFY", { id: "r", props: { x: 50 } }));
    const undo = apply(board, ALICE, [op("UNDO")]);
    assert.equal(undo.state.version, 3);
    assert.equal(undo.state.objects.r.props.x, 0);
    assert.equal(undo.state.objects.r.version, 3);
    assert.deepStrictEqual(undo.applied[0].data.target, { clientOpId: board.meta.history[ALICE].undo[1].clientOpId, type: "OBJECT_MODIFY" });
    board = after(undo.state, ALICE, op("REDO"));
    assert.equal(board.objects.r.props.x, 50);
    board = after(board, ALICE, op("UNDO"), op("UNDO"));
    assert.deepStrictEqual(board.objects, {});
    assert.equal(apply(board, ALICE, [op("UNDO")]).skipped[0].reason, "NOTHING_TO_UNDO");
  });

  it("only ever undoes the acting user's ops", () => {
    let board = after(emptyBoard(), ALICE, stroke("a"));
    board = after(board, BOB, stroke("b"));
    board = after(board, ALICE, op("UNDO"));
    assert.deepStrictEqual(Object.keys(board.objects), ["b"]);
    const bob = apply(board, BOB, [op("UNDO"), op("UNDO")]);
    assert.deepStrictEqual(
      bob.skipped.map((s) => s.reason),
      ["NOTHING_TO_UNDO"],
    );
    assert.deepStrictEqual(bob.state.objects, {});
  });

  it("nothing to undo or redo: skipped, not an error, not a conflict, no version", () => {
    const result = apply(emptyBoard(), ALICE, [op("UNDO"), op("REDO")]);
    assert.deepStrictEqual(result.applied, []);
    assert.deepStrictEqual(result.conflicts, []);
    assert.deepStrictEqual(
      result.skipped.map((s) => s.reason),
      ["NOTHING_TO_UNDO", "NOTHING_TO_REDO"],
    );
    assert.equal(result.state.version, 0);
  });

  it("a new op clears the user's redo stack", () => {
    const board = after(emptyBoard(), ALICE, stroke("a"), stroke("b"), op("UNDO"), stroke("c"));
    assert.equal(apply(board, ALICE, [op("REDO")]).skipped[0].reason, "NOTHING_TO_REDO");
    assert.deepStrictEqual(Object.keys(board.objects).sort(), ["a", "c"]);
  });

  it("keeps the last 100 entries per user", () => {
    const ops = Array.from({ length: 120 }, (_, i) => stroke(`s${i}`));
    let board = after(emptyBoard(), ALICE, ...ops);
    assert.equal(board.meta.history[ALICE].undo.length, BOARD_LIMITS.maxHistory);
    const undos = apply(
      board,
      ALICE,
      Array.from({ length: 101 }, () => op("UNDO")),
    );
    assert.equal(undos.applied.length, 100);
    board = undos.state;
    assert.equal(Object.keys(board.objects).length, 20);
  });

  it("undo of layer ops: a reorder, a delete (with its objects, in place) and a rename", () => {
    let board = after(emptyBoard(), ALICE, op("LAYER_ADD", { id: "a", name: "A" }), op("LAYER_ADD", { id: "b", name: "B" }), stroke("s", { layerId: "a" }));
    const before = board;
    board = after(
      board,
      ALICE,
      op("LAYER_REORDER", { order: ["b", "a", "default"] }),
      op("LAYER_DELETE", { id: "a" }),
      op("LAYER_ADD", { id: "b", name: "Renamed" }),
    );
    assert.deepStrictEqual(board.layers, [
      { id: "b", name: "Renamed" },
      { id: "default", name: "Layer 1" },
    ]);
    board = after(board, ALICE, op("UNDO"), op("UNDO"), op("UNDO"));
    assert.deepStrictEqual(board.layers, before.layers);
    assert.deepStrictEqual({ ...board.objects.s, version: 0 }, { ...before.objects.s, version: 0 });
  });

  it("undo of a CLEAR brings the objects back in their drawing order", () => {
    let board = after(emptyBoard(), ALICE, stroke("z9"), stroke("a1"), rect("m5"));
    const order = (b: BoardState) => [...renderSvg(b).matchAll(/data-id="([^"]+)"/g)].map((m) => m[1]);
    assert.deepStrictEqual(order(board), ["z9", "a1", "m5"]);
    board = after(board, BOB, op("CLEAR"), op("UNDO"));
    assert.deepStrictEqual(order(board), ["z9", "a1", "m5"]);
  });

  it("undo restores what the op touched whoever changed it since (last writer wins), and redo gives the change back", () => {
    let board = after(emptyBoard(), ALICE, rect("r"));
    board = after(board, ALICE, op("OBJECT_MODIFY", { id: "r", props: { x: 1 } }));
    board = after(board, BOB, op("OBJECT_MODIFY", { id: "r", props: { y: 2 } }));
    board = after(board, ALICE, op("UNDO"));
    assert.deepStrictEqual(board.objects.r.props, { x: 0, y: 0, w: 10, h: 10 }); // Bob's y is reverted too
    board = after(board, ALICE, op("REDO"));
    assert.deepStrictEqual(board.objects.r.props, { x: 1, y: 2, w: 10, h: 10 }); // … and comes back with the redo
  });

  it("undo of a LAYER_ADD takes everyone's objects on it; redo brings them back", () => {
    let board = after(emptyBoard(), ALICE, op("LAYER_ADD", { id: "l2", name: "N" }));
    board = after(board, BOB, stroke("b", { layerId: "l2" }));
    const undone = after(board, ALICE, op("UNDO"));
    assert.deepStrictEqual(
      undone.layers.map((l) => l.id),
      ["default"],
    );
    assert.deepStrictEqual(undone.objects, {});
    const redone = after(undone, ALICE, op("REDO"));
    assert.deepStrictEqual(redone.layers, board.layers);
    assert.deepStrictEqual(Object.keys(redone.objects), ["b"]);
  });

  it("undo never removes the last layer, nor re-creates an object whose layer is gone", () => {
    let board = after(emptyBoard(), ALICE, op("LAYER_ADD", { id: "l2", name: "N" }), stroke("s", { layerId: "l2" }));
    board = after(board, BOB, op("LAYER_DELETE", { id: "default" }));
    board = after(board, ALICE, op("UNDO")); // the stroke goes
    board = after(board, ALICE, op("UNDO")); // the add of l2, now the only layer: stays
    assert.deepStrictEqual(
      board.layers.map((l) => l.id),
      ["l2"],
    );
    board = after(board, ALICE, op("REDO"), op("REDO"));
    assert.deepStrictEqual(Object.keys(board.objects), ["s"]);
    board = after(board, ALICE, op("OBJECT_MODIFY", { id: "s", props: { color: "#123" } }));
    board = after(board, BOB, op("LAYER_ADD", { id: "l3", name: "x" }), op("LAYER_DELETE", { id: "l2" }));
    board = after(board, ALICE, op("UNDO")); // the modify: its object is gone with l2
    assert.deepStrictEqual(board.objects, {});
  });
});

describe("board engine: conflicts", () => {
  // Alice made r at version 1 and saw it there; Bob changed (v2), deleted (v2) or created it.
  const created = after(emptyBoard(), ALICE, rect("r"));
  const changed = after(created, BOB, op("OBJECT_MODIFY", { id: "r", props: { x: 7 } }));
  const deleted = after(created, BOB, op("OBJECT_DELETE", { id: "r" }));
  const bobsR = after(emptyBoard(), BOB, rect("r", { props: { bob: true } }));

  const cases: Array<{ strategy: ConflictStrategy; changed: string; deleted: string; exists: string }> = [
    { strategy: "LAST_WRITE_WINS", changed: "APPLIED", deleted: "SKIPPED", exists: "SKIPPED" },
    { strategy: "SERVER_WINS", changed: "SKIPPED", deleted: "SKIPPED", exists: "SKIPPED" },
    { strategy: "CLIENT_WINS", changed: "APPLIED", deleted: "RECREATED", exists: "APPLIED" },
  ];
  for (const expected of cases) {
    const { strategy } = expected;
    it(`${strategy}: modify of an object changed since → ${expected.changed}`, () => {
      const result = apply(changed, ALICE, [op("OBJECT_MODIFY", { id: "r", props: { y: 9 } }, 1)], strategy);
      assert.deepStrictEqual(result.conflicts, [
        { clientOpId: result.conflicts[0].clientOpId, objectId: "r", reason: "OBJECT_CHANGED", resolution: expected.changed, currentVersion: 2 },
      ]);
      assert.equal(result.applied.length, expected.changed === "APPLIED" ? 1 : 0);
      assert.equal(result.state.version, expected.changed === "APPLIED" ? 3 : 2);
      assert.equal(result.state.objects.r.props.y, expected.changed === "APPLIED" ? 9 : 0);
      assert.equal(result.state.objects.r.props.x, 7);
    });

    it(`${strategy}: modify of an object deleted since → ${expected.deleted}`, () => {
      const result = apply(deleted, ALICE, [op("OBJECT_MODIFY", { id: "r", props: { y: 9 } }, 1)], strategy);
      assert.deepStrictEqual(
        result.conflicts.map((c) => [c.objectId, c.reason, c.resolution, c.currentVersion]),
        [["r", "OBJECT_DELETED", expected.deleted, 2]],
      );
      if (expected.deleted === "RECREATED") {
        assert.deepStrictEqual(result.state.objects.r, { id: "r", kind: "rect", layerId: "default", props: { y: 9 }, createdBy: ALICE, version: 3, z: 3 });
      } else {
        assert.deepStrictEqual(result.state, deleted);
        assert.deepStrictEqual(
          result.skipped.map((s) => s.reason),
          ["CONFLICT"],
        );
      }
    });

    it(`${strategy}: create of an id that exists → ${expected.exists}`, () => {
      const result = apply(bobsR, ALICE, [stroke("r")], strategy);
      assert.deepStrictEqual(
        result.conflicts.map((c) => [c.objectId, c.reason, c.resolution, c.currentVersion]),
        [["r", "OBJECT_EXISTS", expected.exists, 1]],
      );
      assert.equal(result.state.objects.r.kind, expected.exists === "APPLIED" ? "stroke" : "rect");
    });

    it(`${strategy}: delete of an object changed since → ${expected.changed}; of one deleted since → SKIPPED`, () => {
      const onChanged = apply(changed, ALICE, [op("OBJECT_DELETE", { id: "r" }, 1)], strategy);
      assert.deepStrictEqual(
        onChanged.conflicts.map((c) => [c.reason, c.resolution]),
        [["OBJECT_CHANGED", expected.changed]],
      );
      assert.equal(Object.hasOwn(onChanged.state.objects, "r"), expected.changed === "SKIPPED");
      // Under CLIENT_WINS too: the client wanted it gone and it is gone.
      const onDeleted = apply(deleted, ALICE, [op("OBJECT_DELETE", { id: "r" }, 1)], strategy);
      assert.deepStrictEqual(
        onDeleted.conflicts.map((c) => [c.reason, c.resolution]),
        [["OBJECT_DELETED", "SKIPPED"]],
      );
      assert.deepStrictEqual(onDeleted.state, deleted);
    });

    it(`${strategy}: TEXT_EDIT follows the same rows`, () => {
      const texts = after(emptyBoard(), ALICE, op("TEXT_EDIT", { id: "t", text: "a" }));
      const edited = after(texts, BOB, op("TEXT_EDIT", { id: "t", text: "b" }));
      const onEdited = apply(edited, ALICE, [op("TEXT_EDIT", { id: "t", text: "c" }, 1)], strategy);
      assert.deepStrictEqual(
        onEdited.conflicts.map((c) => [c.reason, c.resolution]),
        [["OBJECT_CHANGED", expected.changed]],
      );
      const gone = after(texts, BOB, op("OBJECT_DELETE", { id: "t" }));
      const onGone = apply(gone, ALICE, [op("TEXT_EDIT", { id: "t", text: "c", x: 3 }, 1)], strategy);
      assert.deepStrictEqual(
        onGone.conflicts.map((c) => [c.reason, c.resolution]),
        [["OBJECT_DELETED", expected.deleted]],
      );
      assert.deepStrictEqual(onGone.state.objects.t?.props, expected.deleted === "RECREATED" ? { x: 3, text: "c" } : undefined);
    });

    it(`${strategy}: LAYER_DELETE of a layer changed since (it or its objects) → ${expected.changed}`, () => {
      const layered = after(emptyBoard(), ALICE, op("LAYER_ADD", { id: "l2", name: "N" }));
      const drawnOn = after(layered, BOB, stroke("b", { layerId: "l2" }));
      const result = apply(drawnOn, ALICE, [op("LAYER_DELETE", { id: "l2" }, 1)], strategy);
      assert.deepStrictEqual(
        result.conflicts.map((c) => [c.objectId, c.reason, c.resolution, c.currentVersion]),
        [["l2", "LAYER_CHANGED", expected.changed, 2]],
      );
      assert.equal(result.state.layers.length, expected.changed === "APPLIED" ? 1 : 2);
    });

    it(`${strategy}: drawing on a layer deleted since → skipped, or on the default layer under CLIENT_WINS`, () => {
      const layered = after(emptyBoard(), ALICE, op("LAYER_ADD", { id: "l2", name: "N" }));
      const removed = after(layered, BOB, op("LAYER_DELETE", { id: "l2" }));
      const result = apply(
        removed,
        ALICE,
        [stroke("s", { layerId: "l2" })].map((o) => ({ ...o, baseVersion: 1 })),
        strategy,
      );
      const resolution = strategy === "CLIENT_WINS" ? "APPLIED" : "SKIPPED";
      assert.deepStrictEqual(
        result.conflicts.map((c) => [c.objectId, c.reason, c.resolution, c.currentVersion]),
        [["s", "LAYER_DELETED", resolution, 2]],
      );
      assert.equal(result.state.objects.s?.layerId, resolution === "APPLIED" ? "default" : undefined);
      const again = apply(removed, ALICE, [op("LAYER_DELETE", { id: "l2" }, 1)], strategy);
      assert.deepStrictEqual(
        again.conflicts.map((c) => [c.reason, c.resolution]),
        [["LAYER_DELETED", "SKIPPED"]],
      );
    });

    it(`${strategy}: a stale LAYER_REORDER → LAYER_CHANGED ${expected.changed}, merged with the layers added since`, () => {
      const layered = after(emptyBoard(), ALICE, op("LAYER_ADD", { id: "a", name: "A" }));
      const added = after(layered, BOB, op("LAYER_ADD", { id: "b", name: "B" }));
      const result = apply(added, ALICE, [op("LAYER_REORDER", { order: ["a", "default"] }, 1)], strategy);
      assert.deepStrictEqual(
        result.conflicts.map((c) => [c.objectId, c.reason, c.resolution, c.currentVersion]),
        [[null, "LAYER_CHANGED", expected.changed, 2]],
      );
      assert.deepStrictEqual(
        result.state.layers.map((l) => l.id),
        expected.changed === "APPLIED" ? ["a", "default", "b"] : ["default", "a", "b"],
      );
      if (expected.changed === "APPLIED") assert.deepStrictEqual(result.applied[0].data, { order: ["a", "default", "b"] });
    });

    it(`${strategy}: CLEAR reports each object changed since; SERVER_WINS keeps those`, () => {
      const mixed = after(after(emptyBoard(), ALICE, stroke("mine")), BOB, stroke("his"));
      const result = apply(mixed, ALICE, [op("CLEAR", {}, 1)], strategy);
      assert.deepStrictEqual(
        result.conflicts.map((c) => [c.objectId, c.reason, c.resolution]),
        [["his", "OBJECT_CHANGED", expected.changed]],
      );
      assert.deepStrictEqual(Object.keys(result.state.objects), expected.changed === "SKIPPED" ? ["his"] : []);
      assert.equal(result.applied.length, 1);
    });
  }

  it("LAYER_ADD of an existing id: OBJECT_EXISTS; CLIENT_WINS renames it in place", () => {
    const layered = after(emptyBoard(), BOB, op("LAYER_ADD", { id: "l2", name: "Bob's" }));
    const lww = apply(layered, ALICE, [op("LAYER_ADD", { id: "l2", name: "Alice's" })]);
    assert.deepStrictEqual(
      lww.conflicts.map((c) => [c.objectId, c.reason, c.resolution]),
      [["l2", "OBJECT_EXISTS", "SKIPPED"]],
    );
    const cw = apply(layered, ALICE, [op("LAYER_ADD", { id: "l2", name: "Alice's", index: 0 })], "CLIENT_WINS");
    assert.deepStrictEqual(cw.state.layers, [
      { id: "default", name: "Layer 1" },
      { id: "l2", name: "Alice's" },
    ]);
  });

  it("changes by the same user are never conflicts", () => {
    let board = after(emptyBoard(), ALICE, rect("r"), op("OBJECT_MODIFY", { id: "r", props: { x: 1 } }), op("LAYER_ADD", { id: "l", name: "L" }));
    const result = apply(
      board,
      ALICE,
      [op("OBJECT_MODIFY", { id: "r", props: { x: 2 } }, 0), rect("r", { baseVersion: 0 }), op("LAYER_REORDER", { order: ["l", "default"] }, 0)],
      "SERVER_WINS",
    );
    assert.deepStrictEqual(result.conflicts, []);
    assert.equal(result.applied.length, 3);
    board = after(board, ALICE, op("OBJECT_DELETE", { id: "r" }));
    rejects(board, [op("OBJECT_MODIFY", { id: "r", props: {} }, 0)], /unknown object r/);
  });

  it("an op based on a version that already saw the change does not conflict", () => {
    const result = apply(changed, ALICE, [op("OBJECT_MODIFY", { id: "r", props: { y: 1 } }, 2)], "SERVER_WINS");
    assert.deepStrictEqual(result.conflicts, []);
    assert.equal(result.applied.length, 1);
    rejects(deleted, [op("OBJECT_MODIFY", { id: "r", props: {} }, 2)], /unknown object r/);
  });

  it("currentVersion is the version of the last conflicting change", () => {
    let board = after(changed, BOB, op("OBJECT_MODIFY", { id: "r", props: { x: 8 } }));
    board = after(board, BOB, stroke("other"));
    const result = apply(board, ALICE, [op("OBJECT_MODIFY", { id: "r", props: {} }, 1)]);
    assert.equal(result.conflicts[0].currentVersion, 3);
    assert.equal(result.state.version, 5);
  });
});

describe("board engine: permissions", () => {
  const expected: Array<[BoardOpType, BoardPermission]> = [
    ["STROKE", "canDraw"],
    ["OBJECT_CREATE", "canDraw"],
    ["OBJECT_MODIFY", "canDraw"],
    ["TEXT_EDIT", "canDraw"],
    ["OBJECT_DELETE", "canErase"],
    ["IMAGE_UPLOAD", "canUploadImages"],
    ["LAYER_ADD", "canAddLayers"],
    ["LAYER_DELETE", "canDeleteLayers"],
    ["LAYER_REORDER", "canReorderLayers"],
    ["CLEAR", "canClearBoard"],
    ["RESTORE", "canClearBoard"],
  ];
  for (const [type, permission] of expected) {
    it(`${type} needs ${permission}`, () => {
      assert.equal(requiredPermission(emptyBoard(), op(type), ALICE), permission);
    });
  }

  it("UNDO and REDO need the permission of the op undone/redone, null when there is none", () => {
    let board = after(emptyBoard(), ALICE, stroke("s"), op("CLEAR"));
    assert.equal(requiredPermission(board, op("UNDO"), ALICE), "canClearBoard");
    assert.equal(requiredPermission(board, op("REDO"), ALICE), null);
    assert.equal(requiredPermission(board, op("UNDO"), BOB), null);
    board = after(board, ALICE, op("UNDO"));
    assert.equal(requiredPermission(board, op("UNDO"), ALICE), "canDraw");
    assert.equal(requiredPermission(board, op("REDO"), ALICE), "canClearBoard");
    board = after(board, ALICE, op("OBJECT_DELETE", { id: "s" }));
    assert.equal(requiredPermission(board, op("UNDO"), ALICE), "canErase");
    assert.throws(() => requiredPermission(board, { ...op("UNDO"), type: "NOPE" as BoardOpType }, ALICE), BoardValidationError);
  });

  it("applyOps checks each op's permission on the board it meets; one missing refuses the batch", () => {
    const can = (granted: BoardPermission[]) => (p: BoardPermission) => granted.includes(p);
    const board = after(emptyBoard(), ALICE, op("CLEAR"));
    const ok = apply(board, ALICE, [stroke("s"), op("UNDO")], "LAST_WRITE_WINS", { can: can(["canDraw"]) });
    assert.equal(ok.applied.length, 2); // the UNDO undoes the stroke: canDraw, not canClearBoard
    assert.throws(
      () => applyOps(board, [{ ...op("UNDO"), baseVersion: 1 }], ALICE, "LAST_WRITE_WINS", { can: can(["canDraw"]) }),
      (err: unknown) => err instanceof BoardPermissionError && err.permission === "canClearBoard" && err.index === 0,
    );
    assert.throws(
      () =>
        applyOps(
          board,
          [
            { ...stroke("s"), baseVersion: 1 },
            { ...op("IMAGE_UPLOAD", { id: "i", url: "https://cdn.example/a.png", x: 0, y: 0, width: 1, height: 1 }), baseVersion: 1 },
          ],
          ALICE,
          "LAST_WRITE_WINS",
          { can: can(["canDraw"]) },
        ),
      (err: unknown) => err instanceof BoardPermissionError && err.permission === "canUploadImages" && err.index === 1,
    );
  });
});

describe("board engine: image URLs", () => {
  // Each is what a browser would load as javascript:, an HTML/SVG document, or relative to the page.
  const UNSAFE = [
    " javascript:alert(1)",
    "\tjavascript:alert(1)",
    "java\nscript:alert(1)",
    "\u0001javascript:alert(1)",
    "JavaScript:alert(1)",
    " data:text/html,<script>alert(1)</script>",
    "data:image/svg+xml,<svg xmlns='http://www.w3.org/2000/svg' onload='alert(1)'/>",
    "data:image/png ;base64,AAAA",
    "ht\ttps://cdn.example/a.png",
    "vbscript:msgbox(1)",
    "/a.png",
    "//cdn.example/a.png",
    "",
  ];
  const SAFE = [
    "https://cdn.example/a.png?x=1&y=2",
    " https://cdn.example/a.png ",
    "HTTP://cdn.example/a.png",
    "data:image/png;base64,iVBORw0KGgo=",
    "data:image/webp,AAAA",
  ];
  const upload = (id: string, url: unknown, extra: Record<string, unknown> = {}) =>
    op("IMAGE_UPLOAD", { id, url, x: 0, y: 0, width: 10, height: 10, ...extra });
  const image = (id: string, props: Record<string, unknown>) => op("OBJECT_CREATE", { id, kind: "image", props: { x: 0, y: 0, w: 10, h: 10, ...props } });
  const can = (granted: BoardPermission[]) => (p: BoardPermission) => granted.includes(p);

  it("IMAGE_UPLOAD and OBJECT_CREATE of an image accept only http(s) and raster data:image URLs, as a browser parses them", () => {
    const board = after(emptyBoard(), ALICE, stroke("s"));
    for (const url of UNSAFE) {
      rejects(board, [stroke("t"), upload("i", url)], /url must be an http\(s\) URL or a data:image URL|url must not/);
      for (const key of ["url", "href", "src"]) rejects(board, [stroke("t"), image("i", { [key]: url })], new RegExp(`${key} must be an http`));
      rejects(board, [upload("i", SAFE[0], { href: url })], /href must be an http/, undefined, 0);
    }
    rejects(board, [image("i", { url: 5 })], /url must be a string/);
    for (const url of SAFE) {
      const created = after(board, ALICE, upload("i", url), image("j", { url, src: url }));
      assert.equal(created.objects.i.props.url, url);
      assert.equal(created.objects.j.props.src, url);
    }
    // Not an image: a url prop is only data to clients.
    assert.equal(after(board, ALICE, rect("r", { props: { url: "javascript:alert(1)" } })).objects.r.kind, "rect");
  });

  it("OBJECT_MODIFY of an image's URL props is checked, also when it re-creates a deleted image or conflicts", () => {
    let board = after(emptyBoard(), ALICE, upload("i", SAFE[0]), rect("r"));
    for (const url of UNSAFE)
      rejects(board, [op("OBJECT_MODIFY", { id: "i", props: { x: 5 } }), op("OBJECT_MODIFY", { id: "i", props: { href: url } })], /href must be an http/);
    rejects(board, [op("OBJECT_MODIFY", { id: "i", props: { url: null } })], /url must be a string/);
    board = after(
      board,
      ALICE,
      op("OBJECT_MODIFY", { id: "i", props: { url: SAFE[3], x: 5 } }),
      op("OBJECT_MODIFY", { id: "r", props: { url: "javascript:x" } }),
    );
    assert.equal(board.objects.i.props.url, SAFE[3]);
    // Changed by BOB since ALICE's baseVersion: SERVER_WINS would skip it, but malformed is malformed.
    const stale = board.version;
    board = after(board, BOB, op("OBJECT_MODIFY", { id: "i", props: { x: 7 } }));
    for (const strategy of ["SERVER_WINS", "CLIENT_WINS"] as const) {
      assert.throws(() => applyOps(board, [op("OBJECT_MODIFY", { id: "i", props: { url: UNSAFE[0] } }, stale)], ALICE, strategy), /url must be an http/);
    }
    // Deleted by BOB since: CLIENT_WINS re-creates it with the op's props.
    board = after(board, BOB, op("OBJECT_DELETE", { id: "i" }));
    for (const strategy of ["SERVER_WINS", "CLIENT_WINS"] as const) {
      assert.throws(
        () => applyOps(board, [op("OBJECT_MODIFY", { id: "i", props: { url: UNSAFE[0], x: 0, y: 0, w: 1, h: 1 } }, stale)], ALICE, strategy),
        /url must be an http/,
      );
    }
    const recreated = apply(board, ALICE, [op("OBJECT_MODIFY", { id: "i", props: { url: SAFE[0], x: 0, y: 0, w: 1, h: 1 } }, stale)], "CLIENT_WINS");
    assert.equal(recreated.state.objects.i.props.url, SAFE[0]);
  });

  it("RESTORE and validateBoardContent check the URL props of every image", () => {
    const content = (url: string) => ({
      layers: [{ id: "default", name: "L" }],
      objects: { i: { id: "i", kind: "image", layerId: "default", props: { url, x: 0, y: 0, w: 1, h: 1 }, createdBy: ALICE } },
    });
    for (const url of UNSAFE) {
      assert.throws(
        () => validateBoardContent(content(url)),
        (err: unknown) => err instanceof BoardValidationError && /object i: url must be an http/.test(err.message),
      );
      rejects(emptyBoard(), [op("RESTORE", content(url))], /object i: url must be an http/, { allowRestore: true });
    }
    assert.equal(validateBoardContent(content(SAFE[0])).objects.i.props.url, SAFE[0]);
    assert.equal(apply(emptyBoard(), ALICE, [op("RESTORE", content(SAFE[1]))], "LAST_WRITE_WINS", { allowRestore: true }).state.objects.i.props.url, SAFE[1]);
  });

  it("putting an image on the board or re-pointing one needs canUploadImages, whatever the op", () => {
    let board = after(emptyBoard(), ALICE, image("i", { url: SAFE[0] }), rect("r"));
    assert.equal(requiredPermission(board, image("j", { url: SAFE[0] }), ALICE), "canUploadImages");
    assert.equal(requiredPermission(board, op("OBJECT_MODIFY", { id: "i", props: { src: SAFE[0] } }), ALICE), "canUploadImages");
    assert.equal(requiredPermission(board, op("OBJECT_MODIFY", { id: "i", props: { x: 9 } }), ALICE), "canDraw");
    assert.equal(requiredPermission(board, op("OBJECT_MODIFY", { id: "r", props: { url: SAFE[0] } }), ALICE), "canDraw");
    assert.equal(requiredPermission(board, op("UNDO"), ALICE), "canDraw"); // the rect
    const drawOnly = { can: can(["canDraw"]) };
    const refused = (b: BoardState, ops: BoardOpInput[], index = ops.length - 1) =>
      assert.throws(
        () =>
          applyOps(
            b,
            ops.map((o) => ({ ...o, baseVersion: b.version })),
            ALICE,
            "LAST_WRITE_WINS",
            drawOnly,
          ),
        (err: unknown) => err instanceof BoardPermissionError && err.permission === "canUploadImages" && err.index === index,
      );
    refused(board, [stroke("s"), image("j", { url: SAFE[0] })]);
    refused(board, [op("OBJECT_MODIFY", { id: "i", props: { x: 1 } }), op("OBJECT_MODIFY", { id: "i", props: { url: SAFE[3] } })]);
    assert.equal(apply(board, ALICE, [op("OBJECT_MODIFY", { id: "i", props: { x: 1 } })], "LAST_WRITE_WINS", drawOnly).applied.length, 1);
    // Undo/redo of a change that adds, removes or re-points an image: the same.
    board = after(board, ALICE, op("OBJECT_DELETE", { id: "r" }), op("UNDO"), op("UNDO"));
    assert.equal(requiredPermission(board, op("REDO"), ALICE), "canDraw"); // brings the rect back
    board = after(board, ALICE, op("REDO"), op("OBJECT_MODIFY", { id: "i", props: { url: SAFE[3] } }));
    assert.equal(requiredPermission(board, op("UNDO"), ALICE), "canUploadImages");
    refused(board, [op("UNDO")], 0);
    board = after(board, ALICE, op("UNDO"), op("OBJECT_MODIFY", { id: "i", props: { x: 3 } }));
    assert.equal(requiredPermission(board, op("UNDO"), ALICE), "canDraw");
    board = after(emptyBoard(), ALICE, image("i", { url: SAFE[0] }), op("UNDO"));
    assert.equal(requiredPermission(board, op("REDO"), ALICE), "canUploadImages");
    refused(board, [op("REDO")], 0);
    // A deleted image that CLIENT_WINS may re-create.
    board = after(after(emptyBoard(), BOB, upload("i", SAFE[0])), BOB, op("OBJECT_DELETE", { id: "i" }));
    assert.equal(requiredPermission(board, op("OBJECT_MODIFY", { id: "i", props: { x: 1 } }), ALICE), "canUploadImages");
  });

  it("renderSvg draws a placeholder for any stored image URL that fails the check", () => {
    const objects: BoardState["objects"] = {};
    [...UNSAFE, ...SAFE].forEach((url, i) => {
      objects[`o${i}`] = { id: `o${i}`, kind: "image", layerId: "default", props: { url, x: i, y: 0, w: 1, h: 1 }, createdBy: ALICE, version: 1, z: i };
    });
    const svg = renderSvg({ ...emptyBoard(), version: 1, objects });
    assertWellFormed(svg);
    assert.doesNotMatch(svg, /javascript|script|text\/html|svg\+xml/i);
    const hrefs = [...svg.matchAll(/ href="([^"]*)"/g)].map((m) => m[1]);
    assert.deepStrictEqual(hrefs, [
      "https://cdn.example/a.png?x=1&amp;y=2",
      "https://cdn.example/a.png",
      "http://cdn.example/a.png",
      "data:image/png;base64,iVBORw0KGgo=",
      "data:image/webp,AAAA",
    ]);
    assert.equal([...svg.matchAll(/<rect data-id="o\d+" data-kind="image"/g)].length, UNSAFE.length);
  });
});

describe("board engine: limits and malformed input", () => {
  it("bounds ids, strings, points, props and the batch", () => {
    const board = emptyBoard();
    rejects(board, [stroke("x".repeat(65))], /id is longer than 64/);
    rejects(board, [op("TEXT_EDIT", { id: "t", text: "x".repeat(10_001) })], /longer than 10000/);
    rejects(board, [op("STROKE", { id: "s", points: Array.from({ length: 10_001 }, () => [0, 0]) })], /1 to 10000/);
    rejects(
      board,
      [op("OBJECT_CREATE", { id: "o", kind: "k", props: { a: "x".repeat(9000), b: Array(8).fill("y".repeat(9000)) } })],
      /props are over 65536 bytes/,
    );
    rejects(board, [op("OBJECT_CREATE", { id: "o", kind: "k", props: { deep: JSON.parse("[".repeat(40) + "]".repeat(40)) } })], /nested too deep/);
    rejects(board, [op("STROKE", { id: "s\n", points: [[0, 0]] })], /control character/);
    assert.ok(apply(board, ALICE, [op("STROKE", { id: "s", points: Array.from({ length: 10_000 }, (_, i) => [i, i / 3]) })]).applied.length === 1);
    assert.throws(
      () =>
        applyOps(
          board,
          Array.from({ length: 501 }, () => ({ ...op("CLEAR"), baseVersion: 0 })),
          ALICE,
        ),
      /at most 500/,
    );
    assert.throws(() => applyOps(board, [], ALICE, "NEWEST" as ConflictStrategy), BoardValidationError);
  });

  it("modifications cannot grow props past the bound", () => {
    let board = after(
      emptyBoard(),
      ALICE,
      op("OBJECT_CREATE", { id: "o", kind: "k", props: { a: "x".repeat(10_000), b: "x".repeat(10_000), c: "x".repeat(10_000) } }),
    );
    board = after(board, ALICE, op("OBJECT_MODIFY", { id: "o", props: { d: "x".repeat(10_000), e: "x".repeat(10_000), f: "x".repeat(10_000) } }));
    rejects(board, [op("OBJECT_MODIFY", { id: "o", props: { g: "x".repeat(10_000) } })], /props are over/);
    rejects(board, [op("OBJECT_MODIFY", { id: "o", props: { points: [[1]] } })], /pairs/);
  });

  it("a baseVersion ahead of the board is invalid", () => {
    rejects(emptyBoard(), [op("CLEAR", {}, 1)], /ahead of the board/);
  });

  it("copies data: later changes to the caller's objects do not reach the board", () => {
    const props = { x: 1, nested: { y: 2 } };
    const result = apply(emptyBoard(), ALICE, [op("OBJECT_CREATE", { id: "o", kind: "k", props })]);
    props.nested.y = 99;
    assert.deepStrictEqual(result.state.objects.o.props, { x: 1, nested: { y: 2 } });
  });

  it("normalizes -0 so that the state survives JSON unchanged", () => {
    const result = apply(emptyBoard(), ALICE, [
      op("STROKE", { id: "s", points: [[-0, 0]], width: -0 }),
      op("OBJECT_CREATE", { id: "o", kind: "k", props: { v: -0 } }),
    ]);
    assert.deepStrictEqual(JSON.parse(JSON.stringify(result.state)), result.state);
  });
});

describe("board engine: replay", () => {
  it("replayOp refuses an op that is not the next version", () => {
    const result = apply(emptyBoard(), ALICE, [stroke("a"), stroke("b")]);
    assert.throws(() => replayOp(emptyBoard(), result.applied[1]), BoardReplayError);
    assert.deepStrictEqual(replayOp(replayOp(emptyBoard(), result.applied[0]), result.applied[1]), result.state);
  });

  it("replayOp refuses an UNDO whose target is not the user's next undo", () => {
    const board = after(emptyBoard(), ALICE, stroke("a"));
    const undo = apply(board, ALICE, [op("UNDO")]).applied[0];
    assert.throws(() => replayOp(board, { ...undo, userId: BOB }), BoardReplayError);
  });
});

describe("board engine: in place", () => {
  it("writes into the caller's board and answers it; a failing batch leaves it exactly as it was", () => {
    const owned = after(emptyBoard(), ALICE, stroke("a"), op("LAYER_ADD", { id: "l", name: "L" }));
    const before = structuredClone(owned);
    const bad = [stroke("b"), op("LAYER_DELETE", { id: "l" }), op("CLEAR"), op("UNDO"), op("OBJECT_MODIFY", { id: "nope", props: {} })].map((o) => ({
      ...o,
      baseVersion: 2,
    }));
    assert.throws(() => applyOps(owned, bad, ALICE, "LAST_WRITE_WINS", { inPlace: true }), /unknown object nope/);
    assert.deepStrictEqual(owned, before);
    const restore = { ...op("RESTORE", { layers: [{ id: "x", name: "X" }], objects: {} }), baseVersion: 2 };
    assert.throws(() =>
      applyOps(owned, [restore, { ...stroke("c"), baseVersion: 2, data: 5 }], ALICE, "LAST_WRITE_WINS", { allowRestore: true, inPlace: true }),
    );
    assert.deepStrictEqual(owned, before);
    const result = applyOps(owned, bad.slice(0, 4), ALICE, "LAST_WRITE_WINS", { inPlace: true });
    assert.equal(result.state, owned);
    assert.deepStrictEqual(owned, applyOps(before, bad.slice(0, 4), ALICE).state);
  });

  it("undoes a batch it kept, a RESTORE's wholesale replacements included", () => {
    const owned = after(emptyBoard(), ALICE, stroke("a"), op("LAYER_ADD", { id: "l", name: "L" }), op("UNDO"));
    const before = structuredClone(owned);
    const batch = [stroke("b"), op("OBJECT_DELETE", { id: "a" }), op("REDO"), op("CLEAR")].map((o) => ({ ...o, baseVersion: 3 }));
    const kept = applyOps(owned, batch, ALICE, "LAST_WRITE_WINS", { inPlace: true });
    assert.notDeepStrictEqual(owned, before);
    kept.undo?.();
    assert.deepStrictEqual(owned, before);
    const restore = { ...op("RESTORE", { layers: [{ id: "x", name: "X" }], objects: {} }), baseVersion: 3 };
    const restored = applyOps(
      owned,
      [stroke("c"), restore, stroke("d")].map((o) => ({ ...o, baseVersion: 3 })),
      ALICE,
      "LAST_WRITE_WINS",
      { allowRestore: true, inPlace: true },
    );
    assert.equal(restored.state.version, 6);
    restored.undo?.();
    assert.deepStrictEqual(owned, before);
    assert.equal(applyOps(owned, batch, ALICE).undo, undefined);
  });
});

describe("board engine: publicBoard", () => {
  it("is the board without meta, objects keyed in sorted order", () => {
    const board = after(emptyBoard(), ALICE, stroke("b"), stroke("a"), stroke("10"), stroke("9"));
    const view = publicBoard(board);
    assert.deepStrictEqual(Object.keys(view).sort(), ["layers", "objectCount", "objects", "version"]);
    assert.equal(view.objectCount, 4);
    assert.deepStrictEqual(JSON.stringify(Object.keys(view.objects)), JSON.stringify(Object.keys(publicBoard(JSON.parse(JSON.stringify(board))).objects)));
    view.layers.push({ id: "x", name: "x" });
    assert.equal(board.layers.length, 1);
  });
});

/** A tiny XML well-formedness check: balanced tags, quoted attributes, known entities only. */
function assertWellFormed(xml: string) {
  const stack: string[] = [];
  const token = /<(\/?)([A-Za-z][\w:.-]*)((?:\s+[\w:.-]+="[^"<]*")*)\s*(\/?)>|([^<]+)|(<)/g;
  let match: RegExpExecArray | null;
  let roots = 0;
  while ((match = token.exec(xml))) {
    const [, close, name, attrs, selfClose, text, stray] = match;
    assert.equal(stray, undefined, `stray < at ${match.index}`);
    if (text !== undefined) {
      if (stack.length === 0) assert.match(text, /^\s*$/, "text outside the root");
      for (const entity of text.matchAll(/&([^;]*);?/g)) assert.match(entity[0], /^&(amp|lt|gt|quot|apos);$/);
      continue;
    }
    for (const entity of (attrs ?? "").matchAll(/&([^;]*);?/g)) assert.match(entity[0], /^&(amp|lt|gt|quot|apos);$/);
    if (close) assert.equal(stack.pop(), name, `</${name}> closes the wrong element`);
    else if (!selfClose) {
      if (stack.length === 0) roots++;
      stack.push(name);
    } else if (stack.length === 0) roots++;
  }
  assert.deepStrictEqual(stack, [], "unclosed elements");
  assert.equal(roots, 1);
}

describe("board engine: renderSvg", () => {
  it("renders an empty board with the default viewBox", () => {
    const svg = renderSvg(emptyBoard());
    assertWellFormed(svg);
    assert.match(svg, /viewBox="0 0 1280 720"/);
    assert.match(svg, /<g data-layer="default" data-name="Layer 1"\/>/);
  });

  it("renders one element per object, layers in order, text escaped, bounds from content", () => {
    let board = after(
      emptyBoard(),
      ALICE,
      op("LAYER_ADD", { id: "top", name: 'Top "&" <layer>' }),
      op("STROKE", {
        id: "s",
        points: [
          [10, 10],
          [110, 60],
        ],
        color: "#f00",
        width: 4,
      }),
      op("STROKE", { id: "dot", points: [[20, 20]] }),
      op("OBJECT_CREATE", { id: "r", kind: "rect", layerId: "top", props: { x: 0, y: 0, w: 50, h: 20, fill: "#0f0" } }),
      op("OBJECT_CREATE", { id: "e", kind: "ellipse", props: { x: 0, y: 0, w: 40, h: 20 } }),
      op("OBJECT_CREATE", { id: "l", kind: "line", props: { x1: 0, y1: 0, x2: 5, y2: 5 } }),
      op("OBJECT_CREATE", { id: "w", kind: "widget", props: { anything: 1 } }),
      op("TEXT_EDIT", { id: "t", text: "a < b && c > d\nsecond \u0007line", x: 30, y: 30 }),
      op("IMAGE_UPLOAD", { id: "i", url: "https://cdn.example/a.png?x=1&y=2", x: 200, y: 100, width: 40, height: 30 }),
    );
    board = after(board, ALICE, op("OBJECT_MODIFY", { id: "s", props: { width: 2 } }));
    // Stored before image URLs were checked (the engine refuses it now): drawn as a placeholder.
    const bad = { url: " javascript:alert(1)", x: 0, y: 0, w: 1, h: 1, color: "url(http://evil)" };
    board = {
      ...board,
      objects: { ...board.objects, bad: { id: "bad", kind: "image", layerId: "default", props: bad, createdBy: ALICE, version: 10, z: 10 } },
    };
    const svg = renderSvg(board);
    assertWellFormed(svg);
    const ids = [...svg.matchAll(/data-id="([^"]+)"/g)].map((m) => m[1]);
    assert.deepStrictEqual(ids, ["s", "dot", "e", "l", "w", "t", "i", "bad", "r"]); // by layer, then z
    assert.match(svg, /<path data-id="s"[^>]* d="M10 10 L110 60"/);
    assert.match(svg, /<path data-id="dot"[^>]* d="M20 20 l0 0"/);
    assert.match(svg, /<tspan x="30" dy="1em">a &lt; b &amp;&amp; c &gt; d<\/tspan><tspan x="30" dy="1.2em">second line<\/tspan>/);
    assert.match(svg, /data-name="Top &quot;&amp;&quot; &lt;layer&gt;"/);
    assert.match(svg, /href="https:\/\/cdn.example\/a.png\?x=1&amp;y=2"/);
    assert.doesNotMatch(svg, /javascript|evil/);
    assert.match(svg, /<rect data-id="bad"/);
    assert.match(svg, /viewBox="-16 -16 272 162"/); // content (0, 0)–(240, 130) plus 16 on each side
    assert.equal(renderSvg(JSON.parse(JSON.stringify(board))), svg);
  });
});
