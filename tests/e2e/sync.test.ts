import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { emptyBoard, publicBoard, replayOps, type AppliedBoardOp, type BoardOpType, type BoardState } from "../../src/board";
import { codeOf, ok } from "../support/assertions";
import { backends } from "../support/backends";
import { activeLesson, type User } from "../support/lesson";
import { registerUser, startTestServer, type TestServer } from "../support/test-server";

const PULL = `query($d: String!, $s: ID!, $since: Int, $limit: Int) {
  syncPull(deviceId: $d, sessionId: $s, since: $since, limit: $limit) { changes { entity seq data } checkpoint hasMore }
}`;
const PUSH = `mutation($input: SyncPushInput!) {
  syncPush(input: $input) {
    version accepted { id seq version type clientOpId user { id } data }
    conflicts { clientOpId objectId reason resolution currentVersion }
  }
}`;
const APPLY = `mutation($s: ID!, $events: [BoardEventInput!]!) { applyBoardEvents(sessionId: $s, events: $events) { version conflicts { clientOpId } } }`;
const BOARD = `query($s: ID!) { session(id: $s) { board { version objectCount objects layers } } }`;

const points = [
  [0, 0],
  [10, 10],
];
const strokeOp = (id: string, baseVersion: number) => ({ clientOpId: `op-${id}`, type: "STROKE", baseVersion, data: { id, points, color: "#000" } });
const modifyOp = (id: string, baseVersion: number, color: string) => ({
  clientOpId: `op-${id}-${color}`,
  type: "OBJECT_MODIFY",
  baseVersion,
  data: { id, props: { color } },
});
const createOp = (id: string, baseVersion: number, by: string) => ({
  clientOpId: `op-${id}-${by}`,
  type: "OBJECT_CREATE",
  baseVersion,
  data: { id, kind: "rect", props: { x: 1, y: 2, width: 3, height: 4, by } },
});
const deleteOp = (id: string, baseVersion: number) => ({ clientOpId: `op-del-${id}`, type: "OBJECT_DELETE", baseVersion, data: { id } });

interface Op {
  clientOpId: string;
  type: string;
  baseVersion: number;
  data: Record<string, unknown>;
}

/**
 * A device's cache of the session: the board as the pulled board changes make it (the pure
 * engine, as a client runs it), and the checkpoint it pulled to.
 */
class Device {
  board: BoardState = emptyBoard();
  checkpoint = 0;
  entities = new Set<string>();

  constructor(
    private readonly server: TestServer,
    private readonly user: User,
    readonly deviceId: string,
    private readonly sessionId: string,
  ) {}

  /** Pulls every page from the stored checkpoint (since omitted) and applies the board changes. */
  async catchUp(limit = 37): Promise<number> {
    let pages = 0;
    for (;;) {
      const page = ok(await this.server.gql(PULL, { d: this.deviceId, s: this.sessionId, limit }, this.user.token)).syncPull;
      pages++;
      let seq = this.checkpoint;
      const ops: AppliedBoardOp[] = [];
      for (const change of page.changes) {
        assert.ok(change.seq > seq, "changes in seq order, after the checkpoint");
        seq = change.seq;
        this.entities.add(change.entity);
        if (change.entity === "board" && typeof change.data.version === "number") {
          const { clientOpId, type, userId, version, data } = change.data;
          ops.push({ clientOpId, type: type as BoardOpType, userId, version, data });
        }
      }
      this.board = replayOps(this.board, ops);
      assert.equal(page.checkpoint, page.changes.at(-1)?.seq ?? this.checkpoint);
      this.checkpoint = page.checkpoint;
      if (!page.hasMore) return pages;
    }
  }
}

const sessionEventCount = async (server: TestServer, sessionId: string): Promise<number> =>
  Number((await server.app.db.query(`SELECT count(*)::int AS n FROM session_events WHERE session_id = $1`, [sessionId]))[0].n);

const strategies = [
  { strategy: "LAST_WRITE_WINS", changed: "APPLIED", deleted: "SKIPPED", exists: "SKIPPED" },
  { strategy: "SERVER_WINS", changed: "SKIPPED", deleted: "SKIPPED", exists: "SKIPPED" },
  { strategy: "CLIENT_WINS", changed: "APPLIED", deleted: "RECREATED", exists: "APPLIED" },
] as const;

for (const backend of backends) {
  describe(`offline sync [${backend.name}]`, { skip: backend.skip }, () => {
    let server: TestServer;

    before(async () => {
      server = await startTestServer(backend);
    });
    after(() => server?.stop());

    for (const { strategy, changed, deleted, exists } of strategies) {
      it(`converges after 200 offline ops pushed with ${strategy}, listing every conflict; a retried push changes nothing`, async () => {
        const { tutor, students, sessionId } = await activeLesson(server, 2);
        const [ann, bob] = students;
        // What everyone shares before Ann goes offline.
        let shared = ok(await server.gql(APPLY, { s: sessionId, events: Array.from({ length: 20 }, (_, i) => strokeOp(`sh-${i}`, 0)) }, tutor.token))
          .applyBoardEvents.version;
        const device = new Device(server, ann, "ann-tablet", sessionId);
        assert.ok((await device.catchUp(7)) > 1, "paged");
        assert.equal(device.board.version, shared);
        const offlineAt = device.board.version;

        // Offline: Ann's ops all made on the board she last saw.
        const annOps: Op[] = [
          ...Array.from({ length: 90 }, (_, i) => strokeOp(`a-${i}`, offlineAt)),
          ...Array.from({ length: 10 }, (_, i) => modifyOp(`sh-${i}`, offlineAt, "#a00")),
          ...Array.from({ length: 5 }, (_, i) => modifyOp(`sh-${10 + i}`, offlineAt, "#a00")),
          ...Array.from({ length: 5 }, (_, i) => createOp(`dup-${i}`, offlineAt, "ann")),
          ...Array.from({ length: 90 }, (_, i) => strokeOp(`a-${90 + i}`, offlineAt)),
        ];
        assert.equal(annOps.length, 200);
        // Online meanwhile: Bob changes sh-0..4, deletes sh-10..14, creates dup-0..4 and draws.
        const bobBatches: Op[][] = [
          Array.from({ length: 5 }, (_, i) => modifyOp(`sh-${i}`, 0, "#0b0")),
          Array.from({ length: 40 }, (_, i) => strokeOp(`b-${i}`, 0)),
          [...Array.from({ length: 5 }, (_, i) => deleteOp(`sh-${10 + i}`, 0)), ...Array.from({ length: 5 }, (_, i) => createOp(`dup-${i}`, 0, "bob"))],
          Array.from({ length: 45 }, (_, i) => strokeOp(`b-${40 + i}`, 0)),
        ];
        for (const batch of bobBatches) {
          const events = batch.map((op) => ({ ...op, baseVersion: shared }));
          const answer = ok(await server.gql(APPLY, { s: sessionId, events }, bob.token)).applyBoardEvents;
          assert.deepEqual(answer.conflicts, []);
          shared = answer.version;
        }

        const input = { deviceId: device.deviceId, sessionId, strategy, events: annOps };
        const pushed = ok(await server.gql(PUSH, { input }, ann.token)).syncPush;
        const expected = new Map<string, { reason: string; resolution: string }>([
          ...Array.from({ length: 5 }, (_, i) => [`op-sh-${i}-#a00`, { reason: "OBJECT_CHANGED", resolution: changed }] as const),
          ...Array.from({ length: 5 }, (_, i) => [`op-sh-${10 + i}-#a00`, { reason: "OBJECT_DELETED", resolution: deleted }] as const),
          ...Array.from({ length: 5 }, (_, i) => [`op-dup-${i}-ann`, { reason: "OBJECT_EXISTS", resolution: exists }] as const),
        ]);
        assert.deepEqual(
          new Map(
            pushed.conflicts.map((c: { clientOpId: string; reason: string; resolution: string }) => [
              c.clientOpId,
              { reason: c.reason, resolution: c.resolution },
            ]),
          ),
          expected,
          "every conflict listed, resolved by the strategy",
        );
        const skipped = new Set([...expected].filter(([, c]) => c.resolution === "SKIPPED").map(([id]) => id));
        assert.deepEqual(
          pushed.accepted.map((e: { clientOpId: string }) => e.clientOpId),
          annOps.map((op) => op.clientOpId).filter((id) => !skipped.has(id)),
        );
        assert.ok(pushed.accepted.every((e: { user: { id: string } }) => e.user.id === ann.id));
        assert.equal(pushed.version, shared + pushed.accepted.length);

        // The same push again (a lost answer): the same payload, nothing stored.
        const stored = await sessionEventCount(server, sessionId);
        assert.deepEqual(ok(await server.gql(PUSH, { input }, ann.token)).syncPush, pushed);
        assert.deepEqual(ok(await server.gql(PUSH, { input: { ...input, strategy: "CLIENT_WINS" } }, ann.token)).syncPush, pushed);
        assert.equal(await sessionEventCount(server, sessionId), stored);
        // Retries racing each other answer the same too.
        const raced = await Promise.all(Array.from({ length: 3 }, () => server.gql(PUSH, { input }, ann.token)));
        for (const res of raced) assert.deepEqual(ok(res).syncPush, pushed);
        assert.equal(await sessionEventCount(server, sessionId), stored);

        // A new push sent three times at once: stored once, the same answer for each.
        const fresh = { ...input, events: [strokeOp(`race-${strategy}`, shared)] };
        const racers = await Promise.all(Array.from({ length: 3 }, () => server.gql(PUSH, { input: fresh }, ann.token)));
        const first = ok(racers[0]).syncPush;
        for (const res of racers) assert.deepEqual(ok(res).syncPush, first);
        assert.equal(await sessionEventCount(server, sessionId), stored + 1);

        // Back online: the pulled changes make Ann's board the server's.
        await device.catchUp();
        const server_board = ok(await server.gql(BOARD, { s: sessionId }, ann.token)).session.board;
        const mine = publicBoard(device.board);
        assert.equal(mine.version, server_board.version);
        assert.deepEqual(mine.objects, server_board.objects);
        assert.deepEqual(mine.layers, server_board.layers);
        assert.equal(mine.objectCount, server_board.objectCount);
        assert.deepEqual([...device.entities].sort(), ["board", "participant", "session"]);
        // Per strategy, whose change stands.
        const color = (id: string) => (server_board.objects[id] as { props?: { color?: string } } | undefined)?.props?.color;
        assert.equal(color("sh-0"), strategy === "SERVER_WINS" ? "#0b0" : "#a00");
        assert.equal(server_board.objects["sh-10"] !== undefined, strategy === "CLIENT_WINS");
        assert.equal(color("sh-7"), "#a00", "a change without a conflict stands under every strategy");
      });
    }

    describe("access and input", () => {
      let lesson: Awaited<ReturnType<typeof activeLesson>>;
      const pull = (user: User | undefined, variables: Record<string, unknown>) =>
        server.gql(PULL, { d: "dev", s: lesson.sessionId, ...variables }, user?.token);
      const push = (user: User | undefined, input: Record<string, unknown> = {}) =>
        server.gql(PUSH, { input: { deviceId: "dev", sessionId: lesson.sessionId, events: [strokeOp(`x-${Math.random()}`, 0)], ...input } }, user?.token);

      before(async () => {
        lesson = await activeLesson(server, 3);
      });

      it("refuses a checkpoint ahead of the session, a limit over MAX_PAGE_SIZE and a bad deviceId", async () => {
        const { checkpoint } = ok(await pull(lesson.tutor, { since: 0, limit: 100 })).syncPull;
        assert.ok(checkpoint > 0);
        assert.equal(ok(await pull(lesson.tutor, { since: checkpoint })).syncPull.changes.length, 0);
        assert.equal(codeOf(await pull(lesson.tutor, { since: checkpoint + 1 })), "BAD_USER_INPUT");
        assert.equal(codeOf(await pull(lesson.tutor, { since: -1 })), "BAD_USER_INPUT");
        assert.equal(codeOf(await pull(lesson.tutor, { limit: 101 })), "BAD_USER_INPUT");
        assert.equal(codeOf(await pull(lesson.tutor, { limit: 0 })), "BAD_USER_INPUT");
        assert.equal(codeOf(await pull(lesson.tutor, { d: "x".repeat(129) })), "BAD_USER_INPUT");
        assert.equal(codeOf(await pull(lesson.tutor, { d: "bad\u0000id" })), "BAD_USER_INPUT");
        assert.equal(codeOf(await push(lesson.tutor, { deviceId: "" })), "BAD_USER_INPUT");
        assert.equal(codeOf(await push(lesson.tutor, { events: [] })), "BAD_USER_INPUT");
      });

      it("keeps a checkpoint per device: a device without one pulls from the start", async () => {
        const first = ok(await pull(lesson.tutor, { d: "laptop", limit: 2 })).syncPull;
        assert.deepEqual(
          first.changes.map((c: { seq: number }) => c.seq),
          [1, 2],
        );
        assert.equal(first.changes[0].entity, "session");
        const next = ok(await pull(lesson.tutor, { d: "laptop", limit: 1 })).syncPull;
        assert.equal(next.changes[0].seq, 3, "resumed at the stored checkpoint");
        assert.equal(ok(await pull(lesson.tutor, { d: "phone", limit: 1 })).syncPull.changes[0].seq, 1);
        const rows = await server.app.db.query(
          `SELECT device_id, seq FROM sync_checkpoints WHERE session_id = $1 AND device_id IN ('laptop', 'phone') ORDER BY device_id`,
          [lesson.sessionId],
        );
        assert.deepEqual(rows, [
          { device_id: "laptop", seq: 3 },
          { device_id: "phone", seq: 1 },
        ]);
      });

      it("lets only those with access pull, and only seated participants push", async () => {
        const [, leaver, kicked] = lesson.students;
        assert.equal(codeOf(await pull(undefined, {})), "UNAUTHENTICATED");
        assert.equal(codeOf(await push(undefined)), "UNAUTHENTICATED");
        assert.equal(codeOf(await pull(lesson.stranger, {})), "NOT_FOUND");
        assert.equal(codeOf(await push(lesson.stranger)), "NOT_FOUND");
        ok(await server.gql(`mutation($s: ID!) { leaveSession(id: $s) { status } }`, { s: lesson.sessionId }, leaver.token));
        assert.equal(codeOf(await push(leaver)), "INVALID_STATE", "not seated: join again first");
        ok(await pull(leaver, {}));
        ok(
          await server.gql(
            `mutation($s: ID!, $u: ID!) { kickParticipant(sessionId: $s, userId: $u) { status } }`,
            { s: lesson.sessionId, u: kicked.id },
            lesson.tutor.token,
          ),
        );
        assert.equal(codeOf(await push(kicked)), "FORBIDDEN");
        assert.ok(["NOT_FOUND", "FORBIDDEN"].includes(codeOf(await pull(kicked, {})) as string));
        const viewer = await registerUser(server, "STUDENT");
        assert.equal(codeOf(await push(viewer)), "NOT_FOUND");
        // A seated participant without the op's permission: the push applies nothing.
        const before = await sessionEventCount(server, lesson.sessionId);
        const clear = { clientOpId: "clear-1", type: "CLEAR", baseVersion: 0, data: {} };
        assert.equal(codeOf(await push(lesson.students[0], { events: [strokeOp("ok-1", 0), clear] })), "FORBIDDEN");
        assert.equal(await sessionEventCount(server, lesson.sessionId), before, "all or nothing");
      });
    });

    it("stores and announces a chat message sent twice with one clientMessageId once", async () => {
      const { tutor, students, sessionId } = await activeLesson(server, 1);
      const [ann] = students;
      const frames = server.wsClient(tutor.token).iterate<any>({
        query: `subscription($s: ID!) { systemEvents(sessionId: $s, afterSeq: 0) { seq kind message } }`,
        variables: { s: sessionId },
      });
      const CHAT = `mutation($s: ID!, $t: String!, $c: String) { sendChatMessage(sessionId: $s, text: $t, clientMessageId: $c) { id seq type data } }`;
      const send = (text: string, c?: string, user = ann) => server.gql(CHAT, { s: sessionId, t: text, c }, user.token);
      const first = ok(await send("Hello", "m-1")).sendChatMessage;
      const again = ok(await send("Hello", "m-1")).sendChatMessage;
      assert.deepEqual(again, first);
      // Another user's message with the same id is theirs; a new id is a new message.
      const tutors = ok(await send("Hi", "m-1", tutor)).sendChatMessage;
      assert.notEqual(tutors.id, first.id);
      // Retries racing each other: one message still.
      const raced = await Promise.all(Array.from({ length: 5 }, () => send("Again", "m-3")));
      assert.equal(new Set(raced.map((res) => ok(res).sendChatMessage.id)).size, 1);
      const last = ok(await send("Bye", "m-2")).sendChatMessage;
      assert.equal(codeOf(await send("x", "m".repeat(65))), "BAD_USER_INPUT");
      const rows = await server.app.db.query(`SELECT data FROM session_events WHERE session_id = $1 AND type = 'CHAT_MESSAGE' ORDER BY seq`, [sessionId]);
      assert.deepEqual(
        rows.map((r: { data: { text: string; clientMessageId: string } }) => [r.data.text, r.data.clientMessageId]),
        [
          ["Hello", "m-1"],
          ["Hi", "m-1"],
          ["Again", "m-3"],
          ["Bye", "m-2"],
        ],
      );
      const chats: string[] = [];
      for (;;) {
        const event = (await frames.next()).value.data.systemEvents;
        if (event.kind === "CHAT_MESSAGE") chats.push(event.message);
        if (event.seq >= last.seq) break;
      }
      await frames.return?.();
      assert.deepEqual(chats, ["Hello", "Hi", "Again", "Bye"]);
    });
  });
}
