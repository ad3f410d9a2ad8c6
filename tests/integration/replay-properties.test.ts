import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import fc from "fast-check";
import { emptyBoard, publicBoard, replayOps } from "../../src/board";
import { SessionEventEntity } from "../../src/entities/session-event.entity";
import { toAppliedOp } from "../../src/services/board-events";
import { ok, watchSeeks } from "../support/assertions";
import { embedded } from "../support/backends";
import { activeLesson, type User } from "../support/lesson";
import { startTestServer, type TestServer } from "../support/test-server";

/**
 * H3's promise, as a property: for a random lesson (a couple of thousand ops by two users,
 * conflicts, undo/redo, clears, layers) with snapshots at random points (keyframes every
 * EVERY versions, manual saves, autosaves), replayBoardAt(t) for random t equals the board
 * rebuilt from scratch from the timeline up to t, and the board the clients read live at that
 * seq; every uncached seek reads fewer than EVERY events. Through the real server on the
 * embedded backend (the engine and the SQL are the same on both). Seeded: a failure reproduces.
 */
const EVERY = 50;
const RUNS = { seed: 0x4e91a7, numRuns: 2 };

const APPLY = `mutation($s: ID!, $events: [BoardEventInput!]!) { applyBoardEvents(sessionId: $s, events: $events) { version } }`;
const BOARD = `query($s: ID!) { session(id: $s) { board { version lastSeq objectCount objects layers } } }`;
const AT = `query($s: ID!, $t: SafeInt!) { session(id: $s) { replayBoardAt(timestampMs: $t) { version lastSeq objectCount objects layers } } }`;

const KINDS = ["STROKE", "STROKE", "STROKE", "MODIFY", "MODIFY", "MODIFY", "DELETE", "TEXT", "LAYER"] as const;
/** Ops whose effect the generator cannot foresee: at most one, at the end of a batch. */
const TAILS = [null, null, null, "UNDO", "UNDO", "REDO", "CLEAR"] as const;
const intentArb = fc.record({ kind: fc.constantFrom(...KINDS), a: fc.nat(10_000), lag: fc.nat(4) });
const batchArb = fc.record({
  user: fc.nat(1),
  intents: fc.array(intentArb, { minLength: 1, maxLength: 40, size: "max" }),
  tail: fc.constantFrom(...TAILS),
  save: fc.nat(9).map((n) => n === 0),
  autosave: fc.nat(19).map((n) => n === 0),
});
const lessonArb = fc.record({
  batches: fc.array(batchArb, { minLength: 140, maxLength: 160 }),
  instants: fc.array(
    fc.nat(1_000_000).map((n) => n / 1_000_000),
    { minLength: 40, maxLength: 40 },
  ),
});

type Lesson = { batches: Array<{ user: number; intents: Intent[]; tail: Intent["kind"] | null; save: boolean; autosave: boolean }>; instants: number[] };
type Intent = { kind: (typeof KINDS)[number] | NonNullable<(typeof TAILS)[number]>; a: number; lag: number };

/**
 * Ops valid on `board` (the live board the user just read): an object is touched only while it
 * exists within the batch, and ops whose effect cannot be foreseen (UNDO, REDO, CLEAR) end it.
 */
function opsFor(board: any, intents: Intent[], tag: string, host: boolean): unknown[] {
  const objects = new Set(Object.keys(board.objects));
  const layers = board.layers.map((l: any) => l.id) as string[];
  const ops: unknown[] = [];
  for (const [i, { kind, a, lag }] of intents.entries()) {
    const base = Math.max(0, board.version - lag);
    const op = (type: string, data: Record<string, unknown>) => ops.push({ clientOpId: `${tag}-${i}`, type, baseVersion: base, data });
    const existing = [...objects].sort();
    const target = existing.length > 0 ? existing[a % existing.length] : undefined;
    if (kind === "STROKE" || (!target && (kind === "MODIFY" || kind === "DELETE"))) {
      const id = `o${a % 400}`;
      if (objects.has(id)) continue;
      objects.add(id);
      op("STROKE", {
        id,
        layerId: layers[a % layers.length],
        points: [
          [a % 97, a % 89],
          [a % 13, 7],
        ],
        width: 1 + (a % 5),
      });
    } else if (kind === "MODIFY") op("OBJECT_MODIFY", { id: target!, props: { color: `#${(a % 4096).toString(16).padStart(3, "0")}`, x: a } });
    else if (kind === "DELETE") {
      objects.delete(target!);
      op("OBJECT_DELETE", { id: target! });
    } else if (kind === "TEXT") {
      // An existing text, or a fresh id: a TEXT_EDIT of a deleted id is invalid input.
      const texts = existing.filter((id) => id.startsWith("t"));
      const id = texts.length > 0 && a % 2 === 0 ? texts[a % texts.length] : `t${tag}-${i}`;
      objects.add(id);
      op("TEXT_EDIT", { id, text: `text ${a}` });
    } else if (kind === "LAYER") {
      if (!host || layers.length >= 6) continue;
      const id = `layer${a % 1000}`;
      if (layers.includes(id)) continue;
      layers.push(id);
      op("LAYER_ADD", { id, name: `Layer ${id}` });
    } else {
      if (kind === "CLEAR" && !host) continue;
      op(kind, {});
      break;
    }
  }
  return ops;
}

describe(`replayBoardAt equals the board rebuilt from scratch and the board seen live [${embedded.name}]`, () => {
  let server: TestServer;

  before(async () => {
    server = await startTestServer(embedded, { env: { SNAPSHOT_EVERY_EVENTS: String(EVERY) } });
  });
  after(() => server?.stop());

  it("for random lessons of a couple of thousand ops and random instants", { timeout: 120_000 }, async () => {
    let lessons = 0;
    await fc.assert(
      fc.asyncProperty(lessonArb, (lesson) => checkLesson(lesson)),
      RUNS,
    );

    /** Plays the lesson through the server and checks replayBoardAt at its instants. */
    async function checkLesson({ batches, instants }: Lesson) {
      lessons++;
      const { tutor, students, sessionId } = await activeLesson(server, 1);
      const users: User[] = [tutor, students[0]];
      const read = async () => ok(await server.gql(BOARD, { s: sessionId }, tutor.token)).session.board;
      /** The boards clients read live, by the seq they reflect. */
      const live = new Map<number, any>();
      let board = await read();
      live.set(board.lastSeq, board);
      let opCount = 0;
      for (const [b, batch] of batches.entries()) {
        const user = users[batch.user];
        const intents: Intent[] = batch.tail ? [...batch.intents, { kind: batch.tail, a: 0, lag: 0 }] : batch.intents;
        const ops = opsFor(board, intents, `l${lessons}b${b}`, user === tutor);
        if (ops.length > 0) {
          ok(await server.gql(APPLY, { s: sessionId, events: ops }, user.token));
          opCount += ops.length;
        }
        board = await read();
        live.set(board.lastSeq, board);
        if (batch.save) {
          ok(await server.gql(`mutation($s: ID!) { saveBoard(sessionId: $s) { id } }`, { s: sessionId }, user.token));
          board = await read();
          live.set(board.lastSeq, board);
        }
        if (batch.autosave) await server.app.services.captures.autosave(new Date(Date.now() + 60_000), 1);
      }
      assert.ok(opCount >= 2000, `${opCount} ops`);
      const firstLiveSeq = Math.min(...live.keys());

      const events = await server.app.db.getRepository(SessionEventEntity).find({ where: { sessionId }, order: { seq: "ASC" } });
      const duration = events[events.length - 1].timestampMs;
      const snapshotTimes: Array<{ ms: string }> = await server.app.db.query(`SELECT DISTINCT timestamp_ms AS ms FROM board_snapshots WHERE session_id = $1`, [
        sessionId,
      ]);
      const times = [
        ...instants.map((x) => Math.floor(x * (duration + 2)) - 1),
        ...snapshotTimes.flatMap(({ ms }) => [Number(ms) - 1, Number(ms), Number(ms) + 1]),
      ];
      let seeks = 0;
      const seeksSince = await watchSeeks(server.app.services.metrics);
      for (const t of times) {
        const upTo = events.filter((e) => e.timestampMs <= t);
        const seq = upTo.length > 0 ? upTo[upTo.length - 1].seq : 0;
        const scratch = publicBoard(replayOps(emptyBoard(), upTo.filter((e) => e.boardVersion !== null).map(toAppliedOp)));
        const at = ok(await server.gql(AT, { s: sessionId, t }, students[0].token)).session.replayBoardAt;
        assert.deepEqual(at, { ...scratch, lastSeq: seq }, `t=${t}: replay and the board rebuilt from scratch differ`);
        // Every board write and save was followed by a live read: each seq a seek lands on
        // (from the lesson's start on) is one the clients saw.
        if (seq >= firstLiveSeq) assert.deepEqual(at, live.get(seq), `t=${t}: replay and the live board at seq ${seq} differ`);
        const seek = await seeksSince();
        if (seek.seeks > 0) {
          seeks++;
          assert.ok(seek.events < EVERY, `t=${t}: the seek read ${seek.events} events`);
        }
      }
      assert.ok(seeks > 0);
    }
  });
});
