import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { BoardValidationError, applyOps, emptyBoard, publicBoard, type BoardOpInput, type BoardState, type ConflictStrategy } from "../../src/board";
import { applyEvent, boardContent, emptyBoard as emptyClientBoard } from "../../web/src/board/model";

/**
 * The web app's board (web/src/board/model.ts) applies the events the server records, without
 * the engine's history or conflict bookkeeping: UNDO and REDO by the patch they carry. Whatever
 * the ops, a client that applied every accepted event holds the server's board.
 */

// Seeded, so a failure reproduces.
const RUNS = { seed: 0x17_b0a2d, numRuns: 150 };
const USERS = ["u0", "u1"];
// Few ids, so ops collide (conflicts, re-creates).
const OBJECT_IDS = ["o1", "o2", "o3", "o4"];
const LAYER_IDS = ["default", "l1", "l2"];
const KINDS = [
  ...["STROKE", "STROKE", "OBJECT_CREATE", "OBJECT_MODIFY", "OBJECT_MODIFY", "OBJECT_DELETE", "TEXT_EDIT"],
  ...["LAYER_ADD", "LAYER_DELETE", "LAYER_REORDER", "CLEAR", "UNDO", "UNDO", "UNDO", "REDO", "REDO"],
] as const;

interface Intent {
  user: number;
  kind: (typeof KINDS)[number];
  a: number;
  b: number;
  lag: number;
}
const intentArb: fc.Arbitrary<Intent> = fc.record({
  user: fc.nat(USERS.length - 1),
  kind: fc.constantFrom(...KINDS),
  a: fc.nat(1000),
  b: fc.nat(1000),
  lag: fc.nat(4),
});
const pick = <T>(items: readonly T[], k: number): T => items[k % items.length];

/** An op for `intent` against `state`, `lag` versions behind it (so some conflict). */
function opFor(state: BoardState, { kind, a, b, lag }: Intent, clientOpId: string): BoardOpInput {
  const baseVersion = Math.max(0, state.version - lag);
  const op = (type: BoardOpInput["type"], data: Record<string, unknown>): BoardOpInput => ({ clientOpId, type, baseVersion, data });
  const layers = state.layers.map((layer) => layer.id);
  const objects = Object.keys(state.objects).sort();
  const layer = b % 3 === 0 ? {} : { layerId: pick(layers, b) };
  switch (kind) {
    case "STROKE":
      return op("STROKE", {
        id: pick(OBJECT_IDS, a),
        points: [
          [a % 50, b % 50],
          [b % 70, a % 70],
        ],
        color: "#123456",
        width: 1 + (b % 5),
        ...layer,
      });
    case "OBJECT_CREATE":
      return op("OBJECT_CREATE", {
        id: pick(OBJECT_IDS, a),
        kind: pick(["rect", "text"], b),
        ...layer,
        props: { x: a % 90, y: b % 90, w: 5, h: 6, text: `t${b}` },
      });
    case "OBJECT_MODIFY":
      return objects.length ? op("OBJECT_MODIFY", { id: pick(objects, a), props: { x: b % 100, note: { at: a } } }) : op("CLEAR", {});
    case "OBJECT_DELETE":
      return objects.length ? op("OBJECT_DELETE", { id: pick(objects, a) }) : op("UNDO", {});
    case "TEXT_EDIT": {
      const texts = OBJECT_IDS.filter((id) => !Object.hasOwn(state.objects, id) || state.objects[id].kind === "text");
      return texts.length ? op("TEXT_EDIT", { id: pick(texts, a), text: `edited ${b}` }) : op("REDO", {});
    }
    case "LAYER_ADD":
      return op("LAYER_ADD", { id: pick(LAYER_IDS, a), name: `Layer ${b}`, ...(b % 2 ? { index: b % 4 } : {}) });
    case "LAYER_DELETE":
      return layers.length > 1 ? op("LAYER_DELETE", { id: pick(layers, a) }) : op("LAYER_ADD", { id: pick(LAYER_IDS, a), name: "x" });
    case "LAYER_REORDER": {
      const rotated = [...layers.slice(a % layers.length), ...layers.slice(0, a % layers.length)];
      return op("LAYER_REORDER", { order: b % 2 ? rotated.reverse() : rotated });
    }
    default:
      return op(kind, {});
  }
}

describe("web app board model", () => {
  it("a client applying every accepted event holds the server's board (undo/redo, layers, conflicts)", () => {
    fc.assert(
      fc.property(
        fc.array(intentArb, { minLength: 1, maxLength: 40 }),
        fc.constantFrom<ConflictStrategy>("LAST_WRITE_WINS", "SERVER_WINS", "CLIENT_WINS"),
        (intents, strategy) => {
          let state = emptyBoard();
          const client = emptyClientBoard();
          let seq = 0;
          intents.forEach((intent, i) => {
            let applied;
            try {
              ({ state, applied } = applyOps(state, [opFor(state, intent, `op${i}`)], USERS[intent.user], strategy));
            } catch (err) {
              if (err instanceof BoardValidationError) return; // refused: no event
              throw err;
            }
            // Through JSON, as events reach the browser.
            for (const event of JSON.parse(JSON.stringify(applied)) as typeof applied) applyEvent(client, { ...event, seq: ++seq });
            assert.deepEqual(boardContent(client), boardContent(publicBoard(state)), `after op${i} (${intent.kind})`);
            assert.equal(client.version, state.version);
          });
        },
      ),
      RUNS,
    );
  });
});
