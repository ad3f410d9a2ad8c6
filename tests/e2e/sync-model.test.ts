import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import fc from "fast-check";
import { emptyBoard, publicBoard, replayOps, type AppliedBoardOp, type BoardOpType, type BoardState } from "../../src/board";
import { ok } from "../support/assertions";
import { backends } from "../support/backends";
import { activeLesson, type User } from "../support/lesson";
import { startTestServer, type TestServer } from "../support/test-server";

/**
 * Model-based test of offline sync (issue 15): online writes, offline writes, pushes with
 * any strategy, retried pushes and pulls in random interleavings. Whatever the order, no
 * pushed op is lost silently (accepted, or reported SKIPPED), a retry answers the same and
 * stores nothing, and a device that pulled has the server's board.
 */

const PULL = `query($d: String!, $s: ID!, $limit: Int) { syncPull(deviceId: $d, sessionId: $s, limit: $limit) { changes { entity seq data } checkpoint hasMore } }`;
const PUSH = `mutation($input: SyncPushInput!) {
  syncPush(input: $input) { version accepted { seq version clientOpId } conflicts { clientOpId objectId reason resolution currentVersion } }
}`;
const APPLY = `mutation($s: ID!, $events: [BoardEventInput!]!) { applyBoardEvents(sessionId: $s, events: $events) { version } }`;
const BOARD = `query($s: ID!) { session(id: $s) { board { version objects layers } } }`;
const RUNS = { seed: 0x5_1c_0ff, numRuns: Number(process.env.SYNC_MODEL_RUNS ?? 8) };

interface Op {
  clientOpId: string;
  type: string;
  baseVersion: number;
  data: Record<string, unknown>;
}

/** What the commands share in one run: the server, the lesson, the offline device. */
interface World {
  server: TestServer;
  sessionId: string;
  ann: User;
  bob: User;
  /** Ann's cache: the board as her pulls made it. */
  board: BoardState;
  /** Ann's ops made offline, not pushed yet. */
  outbox: Op[];
  lastPush?: { input: Record<string, unknown>; answer: unknown };
  counter: number;
}
type Model = Record<string, never>;

const ids = (board: BoardState): string[] => Object.keys(publicBoard(board).objects).sort();
const stroke = (w: World, by: string, baseVersion: number): Op => {
  const id = `${by}-${++w.counter}`;
  return {
    clientOpId: `op-${id}`,
    type: "STROKE",
    baseVersion,
    data: {
      id,
      points: [
        [0, 0],
        [5, 5],
      ],
      color: "#000",
    },
  };
};
const modify = (w: World, id: string, baseVersion: number, color: string): Op => ({
  clientOpId: `op-m-${++w.counter}`,
  type: "OBJECT_MODIFY",
  baseVersion,
  data: { id, props: { color } },
});
const create = (w: World, id: string, baseVersion: number): Op => ({
  clientOpId: `op-c-${++w.counter}`,
  type: "OBJECT_CREATE",
  baseVersion,
  data: { id, kind: "rect", props: { x: 0, y: 0, width: 1, height: 1 } },
});

async function serverBoard(w: World) {
  return ok(await w.server.gql(BOARD, { s: w.sessionId }, w.bob.token)).session.board;
}

async function eventCount(w: World): Promise<number> {
  return Number((await w.server.app.db.query(`SELECT count(*)::int AS n FROM session_events WHERE session_id = $1`, [w.sessionId]))[0].n);
}

/** Bob, online, draws, changes or erases what the server's board holds now. */
class OnlineWrite implements fc.AsyncCommand<Model, World> {
  constructor(readonly picks: ReadonlyArray<{ kind: "stroke" | "modify" | "delete" | "create"; at: number }>) {}
  check = () => true;
  async run(_m: Model, w: World) {
    const board = await serverBoard(w);
    const existing = Object.keys(board.objects).sort();
    const gone = new Set<string>();
    const events = this.picks.flatMap(({ kind, at }) => {
      const live = existing.filter((id) => !gone.has(id));
      if (kind === "stroke" || live.length === 0) return [stroke(w, "bob", board.version)];
      const id = live[at % live.length];
      if (kind === "delete") {
        gone.add(id);
        return [{ clientOpId: `op-d-${++w.counter}`, type: "OBJECT_DELETE", baseVersion: board.version, data: { id } }];
      }
      if (kind === "create") return [create(w, `dup-${at % 4}`, board.version)];
      return [modify(w, id, board.version, "#0b0")];
    });
    ok(await w.server.gql(APPLY, { s: w.sessionId, events }, w.bob.token));
  }
  toString = () => `online(${this.picks.map((p) => `${p.kind}:${p.at}`).join(",")})`;
}

/** Ann, offline, draws and changes what her cache shows, on the version she last saw. */
class OfflineWrite implements fc.AsyncCommand<Model, World> {
  constructor(readonly picks: ReadonlyArray<{ kind: "stroke" | "modify" | "create"; at: number }>) {}
  check = () => true;
  async run(_m: Model, w: World) {
    const known = ids(w.board);
    for (const { kind, at } of this.picks) {
      if (kind === "stroke" || known.length === 0) w.outbox.push(stroke(w, "ann", w.board.version));
      else if (kind === "create") w.outbox.push(create(w, `dup-${at % 4}`, w.board.version));
      else w.outbox.push(modify(w, known[at % known.length], w.board.version, "#a00"));
    }
  }
  toString = () => `offline(${this.picks.map((p) => `${p.kind}:${p.at}`).join(",")})`;
}

/** Ann is back: pushes her outbox with a strategy; every op is accepted or reported skipped. */
class Push implements fc.AsyncCommand<Model, World> {
  constructor(readonly strategy: "LAST_WRITE_WINS" | "SERVER_WINS" | "CLIENT_WINS") {}
  check = () => true;
  async run(_m: Model, w: World) {
    if (w.outbox.length === 0) return;
    const input = { deviceId: "ann-phone", sessionId: w.sessionId, strategy: this.strategy, events: w.outbox };
    const answer = ok(await w.server.gql(PUSH, { input }, w.ann.token)).syncPush;
    const accepted = new Set(answer.accepted.map((e: { clientOpId: string }) => e.clientOpId));
    const skipped = new Set(
      answer.conflicts.filter((c: { resolution: string }) => c.resolution === "SKIPPED").map((c: { clientOpId: string }) => c.clientOpId),
    );
    for (const op of w.outbox)
      assert.ok(accepted.has(op.clientOpId) !== skipped.has(op.clientOpId), `${op.clientOpId}: accepted or reported skipped, never lost`);
    for (const c of answer.conflicts) assert.ok(w.outbox.some((op) => op.clientOpId === c.clientOpId));
    w.lastPush = { input, answer };
    w.outbox = [];
  }
  toString = () => `push(${this.strategy})`;
}

/** The last push again (its answer was lost): the same answer, nothing stored. */
class RetryPush implements fc.AsyncCommand<Model, World> {
  check = () => true;
  async run(_m: Model, w: World) {
    if (!w.lastPush) return;
    const before = await eventCount(w);
    assert.deepEqual(ok(await w.server.gql(PUSH, { input: w.lastPush.input }, w.ann.token)).syncPush, w.lastPush.answer);
    assert.equal(await eventCount(w), before);
  }
  toString = () => "retry";
}

/** Ann pulls from her stored checkpoint: her cache is the server's board. */
class Pull implements fc.AsyncCommand<Model, World> {
  constructor(readonly limit: number) {}
  check = () => true;
  async run(_m: Model, w: World) {
    for (;;) {
      const page = ok(await w.server.gql(PULL, { d: "ann-phone", s: w.sessionId, limit: this.limit }, w.ann.token)).syncPull;
      const ops: AppliedBoardOp[] = page.changes
        .filter((c: { entity: string; data: { version?: number } }) => c.entity === "board" && typeof c.data.version === "number")
        .map((c: { data: { clientOpId: string; type: string; userId: string; version: number; data: unknown } }) => ({
          clientOpId: c.data.clientOpId,
          type: c.data.type as BoardOpType,
          userId: c.data.userId,
          version: c.data.version,
          data: c.data.data,
        }));
      w.board = replayOps(w.board, ops);
      if (!page.hasMore) break;
    }
    const board = await serverBoard(w);
    const mine = publicBoard(w.board);
    assert.equal(mine.version, board.version);
    assert.deepEqual(mine.objects, board.objects);
    assert.deepEqual(mine.layers, board.layers);
  }
  toString = () => `pull(${this.limit})`;
}

// Small picks: both users keep touching the same few objects, so conflicts are common.
const at = fc.nat({ max: 4 });
const commands = fc.commands(
  [
    fc
      .array(fc.record({ kind: fc.constantFrom("stroke" as const, "modify" as const, "delete" as const, "create" as const), at }), {
        minLength: 1,
        maxLength: 6,
      })
      .map((picks) => new OnlineWrite(picks)),
    fc
      .array(fc.record({ kind: fc.constantFrom("stroke" as const, "modify" as const, "create" as const), at }), { minLength: 1, maxLength: 8 })
      .map((picks) => new OfflineWrite(picks)),
    fc.constantFrom("LAST_WRITE_WINS" as const, "SERVER_WINS" as const, "CLIENT_WINS" as const).map((strategy) => new Push(strategy)),
    fc.constant(new RetryPush()),
    fc.constant(new RetryPush()),
    fc.integer({ min: 1, max: 30 }).map((limit) => new Pull(limit)),
  ],
  { maxCommands: 24, size: "max" },
);

for (const backend of backends) {
  describe(`offline sync, random interleavings [${backend.name}]`, { skip: backend.skip }, () => {
    let server: TestServer;
    before(async () => {
      server = await startTestServer(backend);
    });
    after(() => server?.stop());

    it("always converges: nothing lost, retries change nothing, a pull brings the server's board", { timeout: 300_000 }, async () => {
      await fc.assert(
        fc.asyncProperty(commands, async (cmds) => {
          const { students, sessionId } = await activeLesson(server, 2);
          const [ann, bob] = students;
          const world: World = { server, sessionId, ann, bob, board: emptyBoard(), outbox: [], counter: 0 };
          // A shared board to start from, in Ann's cache before she goes offline.
          await new OnlineWrite(Array.from({ length: 4 }, () => ({ kind: "stroke" as const, at: 0 }))).run({}, world);
          await new Pull(100).run({}, world);
          const setup = () => ({ model: {} as Model, real: world });
          // Then everything pushed and pulled: the device and the server agree.
          await fc.asyncModelRun(setup, [...cmds, new Push("LAST_WRITE_WINS"), new RetryPush(), new Pull(100)]);
        }),
        RUNS,
      );
    });
  });
}
