import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { applyOnce, faultsSkip, runningStack, sendUntilAcknowledged, strokes, until, waitForLockWaiter, type Attempt } from "../support/faults";

// HARDENING.md "Faults to survive", process rows: one of two API instances is stopped under
// load (SIGTERM) or killed in the middle of a write (SIGKILL), then started again, while
// writers and subscribers on both go on.

describe("faults: API processes", { skip: faultsSkip(), timeout: 180_000 }, () => {
  const f = runningStack();

  it("SIGTERM of one instance under load: its sockets closed with 1001, HTTP drained, every acknowledged write durable; started again", async () => {
    f.run.beginFault();
    const [, b] = f.stack.instances;
    const { sessionId, tutor } = f.stack.lesson;
    const onB = f.run.subscribers.filter((s) => s.instance === b);
    const holder = await f.stack.connect();
    const w2 = f.run.writers[1]; // B's writer
    let answer: ReturnType<typeof applyOnce>;
    let signalledAt: number;
    let exited: ReturnType<typeof b.signal>;
    try {
      // A write held in flight on B by a lock on the lesson's row while B is told to stop
      // (B's writer waits meanwhile, so the lock waiter on B is this write; it then queues
      // behind it).
      await w2.pause();
      await holder.query("BEGIN");
      await holder.query("SELECT 1 FROM classroom_sessions WHERE id = $1 FOR UPDATE", [sessionId]);
      answer = applyOnce(b, tutor.token, sessionId, strokes("drained", 2));
      answer.catch(() => undefined); // awaited below; not unhandled if this block fails first
      await waitForLockWaiter(holder, "B");
      w2.resume();
      signalledAt = Date.now();
      exited = b.signal("SIGTERM");
      await until("B's subscribers' sockets closed", () => onB.every((s) => s.closes.some((c) => c.at >= signalledAt)), 10_000, 10);
      for (const s of onB) assert.equal(s.closes.find((c) => c.at >= signalledAt)!.code, 1001, `${s.name}: closed with 1001 (going away)`);
      assert.equal(b.running, true, "B waits for the request in flight");
    } finally {
      w2.resume();
      await holder.query("ROLLBACK").catch(() => undefined);
      await holder.end();
    }
    const drained = (await answer).body;
    assert.deepEqual(
      drained.data?.applyBoardEvents?.accepted?.map((a: { clientOpId: string }) => a.clientOpId),
      ["drained-op-0", "drained-op-1"],
      `the request in flight is answered before B exits: ${JSON.stringify(drained)}`,
    );
    f.run.ownAcks.push(...drained.data.applyBoardEvents.accepted.map((a: { clientOpId: string; seq: number; version: number }) => ({ ...a, at: Date.now() })));
    assert.deepEqual(await exited, { code: 0, signal: null }, "B exits by itself, 0");
    await b.start();
    const recovery = await f.run.recovery(Date.now());
    assert.ok(
      onB.every((s) => s.connects >= 2),
      "B's subscribers reconnected to the new B",
    );
    await f.run.verify("SIGTERM under load", recovery, { networkErrors: true });
  });

  it("SIGKILL mid-write, then the client retries with the same clientOpIds: applied exactly once", async () => {
    f.run.beginFault();
    const [a, b] = f.stack.instances;
    const { sessionId, tutor } = f.stack.lesson;
    const ops = strokes("killed", 3);
    const attempts: Attempt[] = [];
    const holder = await f.stack.connect();
    const w2 = f.run.writers[1]; // B's writer
    let sending: ReturnType<typeof sendUntilAcknowledged>;
    try {
      // The batch reaches B's database connection, then B dies: its statement is still
      // queued behind the lock when the client retries (on A, B being gone). B's writer
      // waits until the batch is B's lock waiter, then writes on (into B's death).
      await w2.pause();
      await holder.query("BEGIN");
      await holder.query("SELECT 1 FROM classroom_sessions WHERE id = $1 FOR UPDATE", [sessionId]);
      sending = sendUntilAcknowledged([b, a], 0, tutor.token, sessionId, ops, attempts);
      sending.catch(() => undefined); // awaited below; not unhandled if this block fails first
      await waitForLockWaiter(holder, "B");
      w2.resume();
      assert.deepEqual(await b.signal("SIGKILL"), { code: null, signal: "SIGKILL" });
      await until("the client retried on A", () => attempts.some((t) => t.instance === "B" && t.outcome.startsWith("network: ")), 10_000, 10);
      await waitForLockWaiter(holder, "A");
    } finally {
      w2.resume();
      await holder.query("ROLLBACK").catch(() => undefined);
      await holder.end();
    }
    const { acks, instance } = await sending;
    assert.equal(instance, 1, "acknowledged by A");
    f.run.ownAcks.push(...acks);
    // Its answer lost as well: one more retry answers the same events, applies nothing.
    const again = await sendUntilAcknowledged([a], 0, tutor.token, sessionId, ops, attempts);
    assert.deepEqual(
      again.acks.map(({ clientOpId, seq, version }) => ({ clientOpId, seq, version })),
      acks.map(({ clientOpId, seq, version }) => ({ clientOpId, seq, version })),
    );
    const { rows } = await f.stack.db.query(
      `SELECT client_op_id, count(*)::int AS n FROM session_events WHERE session_id = $1 AND client_op_id LIKE 'killed-%' GROUP BY 1 ORDER BY 1`,
      [sessionId],
    );
    assert.deepEqual(
      rows,
      ops.map((o) => ({ client_op_id: o.clientOpId, n: 1 })),
      "each op stored once",
    );
    await b.start();
    const recovery = await f.run.recovery(Date.now());
    await f.run.verify("SIGKILL mid-write", recovery, { networkErrors: true });
  });
});
