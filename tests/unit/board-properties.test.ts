import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import {
  BoardValidationError,
  applyOps,
  boardBytes,
  emptyBoard,
  publicBoard,
  replayOp,
  replayOps,
  type AppliedBoardOp,
  type ApplyResult,
  type BoardOpInput,
  type BoardState,
  type ConflictStrategy,
} from "../../src/board";

// Seeded, so a failure reproduces; fast-check prints the counterexample and its path.
const RUNS = { seed: 0x5eed_b0a2, numRuns: 200 };

const USERS = ["u0", "u1", "u2"];
// Few ids, so ops collide (conflicts, re-creates); some are Object.prototype names on purpose.
const OBJECT_IDS = ["o1", "o2", "o3", "__proto__", "constructor", "7"];
const LAYER_IDS = ["default", "l1", "l2", "toString"];
const STRATEGIES: ConflictStrategy[] = ["LAST_WRITE_WINS", "SERVER_WINS", "CLIENT_WINS"];
const KINDS = [
  ...["STROKE", "STROKE", "STROKE", "OBJECT_CREATE", "OBJECT_CREATE", "IMAGE_UPLOAD"],
  ...["OBJECT_MODIFY", "OBJECT_MODIFY", "OBJECT_MODIFY", "OBJECT_DELETE", "OBJECT_DELETE", "TEXT_EDIT", "TEXT_EDIT"],
  ...["LAYER_ADD", "LAYER_DELETE", "LAYER_REORDER", "CLEAR", "UNDO", "UNDO", "UNDO", "REDO", "REDO"],
] as const;

/** What to do, made concrete (valid) against the board it meets by `materialize`. */
interface Intent {
  user: number;
  kind: (typeof KINDS)[number];
  a: number;
  b: number;
  /** How many versions behind the board the client is: stale ops make conflicts. */
  lag: number;
  n: number;
}
const intentArb: fc.Arbitrary<Intent> = fc.record({
  user: fc.nat(USERS.length - 1),
  kind: fc.constantFrom(...KINDS),
  a: fc.nat(1000),
  b: fc.nat(1000),
  lag: fc.nat(6),
  n: fc.integer({ min: -50, max: 50 }),
});

const has = (record: object, key: string) => Object.hasOwn(record, key);
const pick = <T>(items: readonly T[], k: number): T => items[k % items.length];

/** A valid op for `intent` on `state` (stale by `lag`, so it may conflict). */
function materialize(state: BoardState, intent: Intent, clientOpId: string): BoardOpInput {
  const user = USERS[intent.user];
  const baseVersion = Math.max(0, state.version - intent.lag);
  const { a, b, n } = intent;
  const objects = Object.keys(state.objects).sort();
  const layers = state.layers.map((layer) => layer.id);
  const deletedSince = (record: Record<string, { by: string; version: number }>) =>
    Object.keys(record)
      .filter((id) => record[id].by !== user && record[id].version > baseVersion)
      .sort();
  const op = (type: BoardOpInput["type"], data: Record<string, unknown>): BoardOpInput => ({ clientOpId, type, baseVersion, data });
  const goneLayers = deletedSince(state.meta.deletedLayers);
  // Sometimes a layer another user deleted since baseVersion: a LAYER_DELETED conflict.
  const maybeLayer = () => (b % 3 === 0 ? {} : b % 7 === 1 && goneLayers.length > 0 ? { layerId: pick(goneLayers, a) } : { layerId: pick(layers, b) });
  const stroke = () =>
    op("STROKE", {
      id: pick(OBJECT_IDS, a),
      points: Array.from({ length: 1 + (b % 4) }, (_, i) => [n + i, i * 2.5]),
      ...maybeLayer(),
      ...(b % 2 ? { color: "#0a0", width: 3 } : {}),
    });
  switch (intent.kind) {
    case "STROKE":
      return stroke();
    case "OBJECT_CREATE":
      return op("OBJECT_CREATE", {
        id: pick(OBJECT_IDS, a),
        kind: pick(["rect", "ellipse", "note"], b),
        ...maybeLayer(),
        props: { x: n, y: b % 100, w: 10, h: -5 },
      });
    case "IMAGE_UPLOAD":
      return op("IMAGE_UPLOAD", { id: pick(OBJECT_IDS, a), url: "https://cdn.example/i.png", x: n, y: 0, width: 4, height: 3, ...maybeLayer() });
    case "OBJECT_MODIFY":
    case "OBJECT_DELETE": {
      const targets = [...objects, ...deletedSince(state.meta.deletedObjects)];
      if (targets.length === 0) return stroke();
      const id = pick(targets, a);
      return intent.kind === "OBJECT_DELETE" ? op("OBJECT_DELETE", { id }) : op("OBJECT_MODIFY", { id, props: { x: n, tag: `m${b}` } });
    }
    case "TEXT_EDIT": {
      const targets = OBJECT_IDS.filter((id) => !has(state.objects, id) || state.objects[id].kind === "text");
      if (targets.length === 0) return stroke();
      return op("TEXT_EDIT", { id: pick(targets, a), text: `t${b} <&>`, x: n, y: 1 });
    }
    case "LAYER_ADD":
      return op("LAYER_ADD", { id: pick(LAYER_IDS, a), name: `L${b}`, ...(b % 2 ? { index: b % 5 } : {}) });
    case "LAYER_DELETE": {
      const targets = [...(layers.length > 1 ? layers : []), ...deletedSince(state.meta.deletedLayers)];
      if (targets.length === 0) return op("LAYER_ADD", { id: pick(LAYER_IDS, a), name: "x" });
      return op("LAYER_DELETE", { id: pick(targets, a) });
    }
    case "LAYER_REORDER": {
      const rotated = [...layers.slice(a % layers.length), ...layers.slice(0, a % layers.length)];
      const order = b % 2 ? rotated.reverse() : rotated;
      // A stale order (missing a layer, naming a deleted one) is valid only when someone else
      // changed the layers since baseVersion.
      const mark = state.meta.layerOrderChange;
      const stale = [...order.slice(1), ...goneLayers.slice(0, 1)];
      if (b % 3 === 0 && mark && mark.by !== user && mark.version > baseVersion && stale.length > 0) {
        return op("LAYER_REORDER", { order: stale });
      }
      return op("LAYER_REORDER", { order });
    }
    default:
      return op(intent.kind, {});
  }
}

interface Step {
  user: string;
  op: BoardOpInput;
}

/** Makes `intents` concrete one op at a time from `start`; answers the steps and the final board. */
function scenario(intents: Intent[], strategy: ConflictStrategy, start = emptyBoard(), prefix = "op"): { steps: Step[]; state: BoardState } {
  let state = start;
  const steps: Step[] = [];
  intents.forEach((intent, i) => {
    const op = materialize(state, intent, `${prefix}${i}`);
    const user = USERS[intent.user];
    state = applyOps(state, [op], user, strategy).state;
    steps.push({ user, op });
  });
  return { steps, state };
}

/** Batches of consecutive steps by one user, cut further where `cuts[i]` (after step i). */
function batches(steps: Step[], cuts: boolean[] = []): Array<{ user: string; ops: BoardOpInput[] }> {
  const out: Array<{ user: string; ops: BoardOpInput[] }> = [];
  steps.forEach((step, i) => {
    const last = out[out.length - 1];
    if (last && last.user === step.user && !cuts[i - 1]) last.ops.push(step.op);
    else out.push({ user: step.user, ops: [step.op] });
  });
  return out;
}

interface Run {
  state: BoardState;
  applied: AppliedBoardOp[];
  conflicts: ApplyResult["conflicts"];
  skipped: ApplyResult["skipped"];
}

/** Applies the batches in order; each input state is deep-frozen first, so any mutation throws. */
function run(
  start: BoardState,
  groups: Array<{ user: string; ops: BoardOpInput[] }>,
  strategy: ConflictStrategy,
  each?: (before: BoardState, result: ApplyResult) => void,
): Run {
  const out: Run = { state: start, applied: [], conflicts: [], skipped: [] };
  for (const group of groups) {
    const before = deepFreeze(out.state);
    const result = applyOps(before, group.ops, group.user, strategy);
    each?.(before, result);
    out.state = result.state;
    out.applied.push(...result.applied);
    out.conflicts.push(...result.conflicts);
    out.skipped.push(...result.skipped);
  }
  return out;
}

function deepFreeze<T>(value: T): T {
  if (typeof value === "object" && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const key of Object.keys(value)) deepFreeze((value as Record<string, unknown>)[key]);
  }
  return value;
}

/** The board's content: publicBoard without any version (undo and redo make new versions). */
function content(state: BoardState) {
  const board = publicBoard(state);
  const objects: Record<string, unknown> = {};
  for (const id of Object.keys(board.objects)) {
    const { version: _version, ...rest } = board.objects[id];
    Object.defineProperty(objects, id, { value: rest, enumerable: true, writable: true, configurable: true });
  }
  return { layers: board.layers, objects, objectCount: board.objectCount };
}

const scenarioArb = fc.record({
  // size "max": fast-check's default size would keep sequences at 10 ops or fewer.
  intents: fc.array(intentArb, { maxLength: 60, size: "max" }),
  strategy: fc.constantFrom(...STRATEGIES),
});

describe("board engine properties", () => {
  it("applying a sequence in one go equals applying it in chunks of any sizes", () => {
    fc.assert(
      fc.property(scenarioArb, fc.array(fc.boolean(), { minLength: 60, maxLength: 60 }), ({ intents, strategy }, cuts) => {
        const { steps, state } = scenario(intents, strategy);
        const whole = run(emptyBoard(), batches(steps), strategy);
        const chunked = run(emptyBoard(), batches(steps, cuts), strategy);
        assert.deepStrictEqual(chunked, whole);
        // In place (the service's write path) gives the same results, on the caller's own board.
        const owned = emptyBoard();
        const inPlace: Run = { state: owned, applied: [], conflicts: [], skipped: [] };
        for (const group of batches(steps, cuts)) {
          // A batch the store refused is undone: the board is exactly as it was before it.
          const untouched = structuredClone(owned);
          applyOps(owned, group.ops, group.user, strategy, { inPlace: true }).undo?.();
          assert.deepStrictEqual(owned, untouched);
          assert.equal(boardBytes(owned).toString(), JSON.stringify(owned)); // what was serialized before the undo is still right
          const result = applyOps(owned, group.ops, group.user, strategy, { inPlace: true });
          assert.equal(result.state, owned);
          // A keyframe's text from the texts of values serialized at earlier keyframes: no value changed since.
          assert.equal(boardBytes(owned).toString(), JSON.stringify(owned));
          inPlace.applied.push(...result.applied);
          inPlace.conflicts.push(...result.conflicts);
          inPlace.skipped.push(...result.skipped);
        }
        assert.deepStrictEqual(inPlace, whole);
        assert.deepStrictEqual(whole.state, state); // = one op at a time, as the scenario was made
        assert.equal(whole.state.version, whole.applied.length);
        whole.applied.forEach((op, i) => assert.equal(op.version, i + 1));
      }),
      RUNS,
    );
  });

  it("replaying the recorded ops from an empty board reproduces the live board, meta included", () => {
    fc.assert(
      fc.property(scenarioArb, ({ intents, strategy }) => {
        const { steps } = scenario(intents, strategy);
        let replayed = emptyBoard();
        const live = run(emptyBoard(), batches(steps), strategy, (_before, result) => {
          replayed = replayOps(replayed, result.applied);
          assert.deepStrictEqual(replayed, result.state);
        });
        const oneByOne = live.applied.reduce(replayOp, emptyBoard());
        assert.deepStrictEqual(oneByOne, live.state);
        assert.deepStrictEqual(replayOps(emptyBoard(), live.applied, { inPlace: true }), live.state);
      }),
      RUNS,
    );
  });

  it("undo then redo, and k undos then k redos, give back the same board", () => {
    fc.assert(
      fc.property(scenarioArb, fc.nat(USERS.length - 1), fc.integer({ min: 1, max: 8 }), ({ intents, strategy }, u, k) => {
        const { state } = scenario(intents, strategy);
        const user = USERS[u];
        const depth = state.meta.history[user]?.undo.length ?? 0;
        fc.pre(depth > 0);
        const op = (type: "UNDO" | "REDO", i: number): BoardOpInput => ({ clientOpId: `${type}${i}`, type, baseVersion: state.version, data: {} });

        const undone = applyOps(state, [op("UNDO", 0)], user, strategy);
        assert.equal(undone.applied.length, 1);
        const redone = applyOps(undone.state, [op("REDO", 0)], user, strategy);
        assert.equal(redone.applied.length, 1);
        assert.deepStrictEqual(content(redone.state), content(state));

        const n = Math.min(k, depth);
        const undos = applyOps(
          state,
          Array.from({ length: n }, (_, i) => op("UNDO", i)),
          user,
          strategy,
        );
        assert.equal(undos.applied.length, n);
        const redos = applyOps(
          undos.state,
          Array.from({ length: n }, (_, i) => op("REDO", i)),
          user,
          strategy,
        );
        assert.equal(redos.applied.length, n);
        assert.deepStrictEqual(content(redos.state), content(state));
        assert.deepStrictEqual(replayOps(state, [...undos.applied, ...redos.applied]), redos.state);
      }),
      RUNS,
    );
  });

  it("undoing an op right after it gives back the board from before it", () => {
    fc.assert(
      fc.property(scenarioArb, intentArb, ({ intents, strategy }, last) => {
        const { state } = scenario(intents, strategy);
        fc.pre(last.kind !== "UNDO" && last.kind !== "REDO");
        const user = USERS[last.user];
        const done = applyOps(state, [materialize(state, last, "last")], user, strategy);
        fc.pre(done.applied.length === 1);
        const undone = applyOps(done.state, [{ clientOpId: "undo", type: "UNDO", baseVersion: done.state.version, data: {} }], user, strategy);
        assert.equal(undone.applied.length, 1);
        assert.deepStrictEqual(content(undone.state), content(state));
      }),
      RUNS,
    );
  });

  it("a malformed op anywhere in a batch throws BoardValidationError and applies nothing", () => {
    const malformed: Array<(state: BoardState) => unknown> = [
      () => ({ clientOpId: 42, type: "STROKE", baseVersion: 0, data: { id: "x", points: [[0, 0]] } }),
      () => ({ type: "CLEAR", baseVersion: 0, data: {} }),
      () => ({ clientOpId: "bad", type: "ERASE", baseVersion: 0, data: {} }),
      () => ({ clientOpId: "bad", type: "CLEAR", baseVersion: -1, data: {} }),
      () => ({ clientOpId: "bad", type: "CLEAR", baseVersion: 1.5, data: {} }),
      (state) => ({ clientOpId: "bad", type: "CLEAR", baseVersion: state.version + 1000, data: {} }),
      () => ({ clientOpId: "bad", type: "CLEAR", baseVersion: 0, data: null }),
      () => "not an op",
      () => ({ clientOpId: "bad", type: "STROKE", baseVersion: 0, data: { id: "x", points: [[1]] } }),
      () => ({ clientOpId: "bad", type: "STROKE", baseVersion: 0, data: { id: "x", points: [] } }),
      () => ({ clientOpId: "bad", type: "STROKE", baseVersion: 0, data: { id: "x", points: [[1, Number.NaN]] } }),
      () => ({ clientOpId: "bad", type: "STROKE", baseVersion: 0, data: { id: "x", points: [["1", 2]] } }),
      () => ({ clientOpId: "bad", type: "STROKE", baseVersion: 0, data: { id: "x", points: "0,0" } }),
      () => ({ clientOpId: "bad", type: "STROKE", baseVersion: 0, data: { id: 7, points: [[0, 0]] } }),
      () => ({ clientOpId: "bad", type: "STROKE", baseVersion: 0, data: { id: "x".repeat(65), points: [[0, 0]] } }),
      () => ({ clientOpId: "bad", type: "STROKE", baseVersion: 0, data: { points: [[0, 0]] } }),
      () => ({ clientOpId: "bad", type: "STROKE", baseVersion: 0, data: { id: "x", layerId: "nope", points: [[0, 0]] } }),
      () => ({ clientOpId: "bad", type: "STROKE", baseVersion: 0, data: { id: "x", points: [[0, 0]], color: 5 } }),
      () => ({ clientOpId: "bad", type: "OBJECT_MODIFY", baseVersion: 0, data: { id: "never-existed", props: {} } }),
      () => ({ clientOpId: "bad", type: "OBJECT_DELETE", baseVersion: 0, data: { id: "never-existed" } }),
      () => ({ clientOpId: "bad", type: "OBJECT_CREATE", baseVersion: 0, data: { id: "x", kind: "rect", props: { a: undefined } } }),
      () => ({ clientOpId: "bad", type: "OBJECT_CREATE", baseVersion: 0, data: { id: "x", kind: "rect", props: [] } }),
      () => ({ clientOpId: "bad", type: "OBJECT_CREATE", baseVersion: 0, data: { id: "x", kind: "rect", props: { s: "x".repeat(10_001) } } }),
      () => ({ clientOpId: "bad", type: "OBJECT_CREATE", baseVersion: 0, data: { id: "x", kind: "rect", props: { d: new Date(0) } } }),
      () => ({ clientOpId: "bad", type: "TEXT_EDIT", baseVersion: 0, data: { id: "x", text: "a\u0000b" } }),
      () => ({ clientOpId: "bad", type: "TEXT_EDIT", baseVersion: 0, data: { id: "x", text: "\ud800" } }),
      () => ({ clientOpId: "bad", type: "IMAGE_UPLOAD", baseVersion: 0, data: { id: "x", url: "javascript:alert(1)", x: 0, y: 0, width: 1, height: 1 } }),
      () => ({ clientOpId: "bad", type: "LAYER_ADD", baseVersion: 0, data: { id: "x", name: "n", index: -1 } }),
      () => ({ clientOpId: "bad", type: "LAYER_DELETE", baseVersion: 0, data: { id: "nope" } }),
      () => ({ clientOpId: "bad", type: "LAYER_REORDER", baseVersion: 0, data: { order: ["default", "default"] } }),
      () => ({ clientOpId: "bad", type: "RESTORE", baseVersion: 0, data: { layers: [{ id: "default", name: "L" }], objects: {} } }),
    ];
    fc.assert(
      fc.property(
        scenarioArb,
        fc.array(intentArb, { minLength: 1, maxLength: 10, size: "max" }),
        fc.nat(),
        fc.nat(malformed.length - 1),
        ({ intents, strategy }, more, position, which) => {
          const { state } = scenario(intents, strategy);
          const user = USERS[more[0].user];
          const batch = scenario(
            more.map((intent) => ({ ...intent, user: more[0].user })),
            strategy,
            state,
            "more",
          ).steps.map((step) => step.op as unknown);
          const at = position % (batch.length + 1);
          batch.splice(at, 0, malformed[which](state));
          const before = structuredClone(state);
          deepFreeze(state);
          assert.throws(
            () => applyOps(state, batch as BoardOpInput[], user, strategy),
            (err: unknown) => err instanceof BoardValidationError && err.index === at,
          );
          assert.deepStrictEqual(state, before);
          // In place, every write of the ops before the bad one is rolled back.
          const owned = structuredClone(before);
          assert.throws(() => applyOps(owned, batch as BoardOpInput[], user, strategy, { inPlace: true }), BoardValidationError);
          assert.deepStrictEqual(owned, before);
        },
      ),
      RUNS,
    );
  });

  it("a board that went through JSON behaves exactly like the original", () => {
    fc.assert(
      fc.property(scenarioArb, fc.array(intentArb, { maxLength: 30, size: "max" }), ({ intents, strategy }, more) => {
        const { state } = scenario(intents, strategy);
        const parsed = JSON.parse(JSON.stringify(state)) as BoardState;
        assert.deepStrictEqual(parsed, state); // plain JSON: no undefined, -0, NaN or class instances
        const { steps } = scenario(more, strategy, state, "more");
        assert.deepStrictEqual(run(parsed, batches(steps), strategy), run(state, batches(steps), strategy));
      }),
      RUNS,
    );
  });
});
