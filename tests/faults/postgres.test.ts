import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { faultsSkip, runningStack, until, waitForLockWaiter } from "../support/faults";

// HARDENING.md "Faults to survive", Postgres rows: two API instances, writers and subscribers
// on both, while the database they share kills their connections, restarts, goes away for
// 10 s, and has its board events table locked for 10 s.

const API_CONNECTIONS = `SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name LIKE 'api-%'`;

describe("faults: Postgres", { skip: faultsSkip(), timeout: 240_000 }, () => {
  const f = runningStack();

  it("pg_terminate_backend of the API's connections, mid-write: retryable error, no partial write, the pools recover", async () => {
    const began = f.run.beginFault();
    const holder = await f.stack.connect();
    try {
      // Hold the lesson's row so each instance has a write in flight, then end every API connection.
      await holder.query("BEGIN");
      await holder.query("SELECT 1 FROM classroom_sessions WHERE id = $1 FOR UPDATE", [f.stack.lesson.sessionId]);
      await until(
        "each writer has a batch in flight on its own instance",
        () => f.run.writers.every((w, i) => w.inFlight === f.stack.instances[i]),
        10_000,
        10,
      );
      await Promise.all(["A", "B"].map((name) => waitForLockWaiter(holder, name)));
      const { rowCount } = await holder.query(API_CONNECTIONS);
      assert.ok(rowCount! >= 2, `the API's connections were ended (${rowCount})`);
    } finally {
      await holder.query("ROLLBACK").catch(() => undefined);
      await holder.end();
    }
    const lifted = Date.now();
    const recovery = await f.run.recovery(lifted);
    assert.ok(
      f.run.attemptsSince(began).some((a) => a.outcome === "UNAVAILABLE"),
      "a write in flight answered UNAVAILABLE",
    );
    await f.run.verify("pg_terminate_backend", recovery);
  });

  it("a Postgres restart: the instances recover without a restart of their own", async () => {
    f.run.beginFault();
    await f.stack.postgres.restart();
    const recovery = await f.run.recovery(Date.now());
    await f.run.verify("Postgres restart", recovery);
  });

  it("Postgres down 10 s: /readyz 503 meanwhile, then 200 again without restarting the API", async () => {
    const began = f.run.beginFault();
    await f.stack.postgres.shutdown();
    await until("both instances answer /readyz 503", async () => (await Promise.all(f.stack.instances.map((i) => i.readyz()))).every((s) => s === 503), 10_000);
    // A client that connects again meanwhile resumes once the database is back.
    const [, , , reconnecting] = f.run.subscribers;
    const connects = reconnecting.connects;
    await reconnecting.reconnect();
    while (Date.now() < began + 10_000) {
      for (const instance of f.stack.instances) assert.equal(await instance.readyz(), 503, `${instance.name} /readyz during the outage`);
      await new Promise((r) => setTimeout(r, 500));
    }
    await f.stack.postgres.start();
    const recovery = await f.run.recovery(Date.now());
    assert.ok(reconnecting.connects > connects, `${reconnecting.name} connected again`);
    await f.run.verify("Postgres down 10 s", recovery);
  });

  it("the board events table locked 10 s: writes time out with a retryable error, no request hangs", async () => {
    const began = f.run.beginFault();
    const holder = await f.stack.connect();
    try {
      await holder.query("BEGIN");
      await holder.query("LOCK TABLE session_events IN ACCESS EXCLUSIVE MODE");
      await Promise.all(["A", "B"].map((name) => waitForLockWaiter(holder, name)));
      while (Date.now() < began + 10_000) {
        for (const instance of f.stack.instances) assert.equal(await instance.readyz(), 200, `${instance.name} /readyz while the table is locked`);
        await new Promise((r) => setTimeout(r, 500));
      }
    } finally {
      await holder.query("ROLLBACK").catch(() => undefined);
      await holder.end();
    }
    const lifted = Date.now();
    const recovery = await f.run.recovery(lifted);
    const during = f.run.attemptsSince(began).filter((a) => a.startedAt < lifted);
    assert.ok(
      during.some((a) => a.outcome === "UNAVAILABLE"),
      "a write behind the lock answered UNAVAILABLE",
    );
    const slowest = Math.max(...during.map((a) => a.ms));
    // STATEMENT_TIMEOUT_MS (5 s, the default) bounds the wait for a lock, plus the answer.
    assert.ok(slowest < 8000, `no request hangs behind the lock (slowest ${slowest} ms)`);
    await f.run.verify("table lock 10 s", recovery);
  });
});
