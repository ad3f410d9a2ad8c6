import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { DataSource } from "typeorm";
import { Metrics } from "../../src/infra/metrics";
import { TelemetryWriter, type TelemetryRow, type TelemetryWriterLimits } from "../../src/services/telemetry-writer";

/** A database that records each statement's rows (the one jsonb parameter), or fails every write while `down`. */
function fakeDb() {
  const batches: unknown[][] = [];
  const db = {
    down: false,
    batches,
    async query(_sql: string, [rows]: [string]) {
      if (db.down) throw new Error("connect ECONNREFUSED");
      batches.push(JSON.parse(rows));
      return [];
    },
  };
  return db;
}

const LIMITS: TelemetryWriterLimits = { maxEvents: 1000, maxChars: 1_000_000, batchEvents: 100, batchChars: 100_000, flushAfterMs: 60_000 };

const rows = (n: number, pad = 0): TelemetryRow[] =>
  Array.from({ length: n }, (_, i) => ({ json: JSON.stringify({ type: "t", event: { i, pad: "x".repeat(pad) } }) }));

async function dropped(metrics: Metrics): Promise<number> {
  const { values } = await metrics.telemetryEvents.get();
  return values.find((v) => v.labels.outcome === "dropped")?.value ?? 0;
}

function writer(limits: Partial<TelemetryWriterLimits> = {}) {
  const db = fakeDb();
  const metrics = new Metrics({ defaultMetrics: false });
  const warnings: Array<Record<string, unknown>> = [];
  const w = new TelemetryWriter(db as unknown as DataSource, metrics, { ...LIMITS, ...limits }, (details) => void warnings.push(details));
  return { db, metrics, warnings, w };
}

describe("TelemetryWriter", () => {
  it("writes in multi-row batches of at most batchEvents events and batchChars characters, in order", async () => {
    const { db, w } = writer();
    w.enqueue(rows(250));
    await w.flush();
    assert.deepEqual(
      db.batches.map((b) => b.length),
      [100, 100, 50],
    );
    assert.deepEqual(
      db.batches.flat().map((r: any) => r.event.i),
      Array.from({ length: 250 }, (_, i) => i),
    );

    db.batches.length = 0;
    w.enqueue(rows(10, 30_000)); // about 30 000 characters each: three to a batch
    await w.flush();
    assert.deepEqual(
      db.batches.map((b) => b.length),
      [3, 3, 3, 1],
    );
    assert.equal(w.pending, 0);
  });

  it("starts writing by itself once a batch is full", async () => {
    const { db, w } = writer();
    w.enqueue(rows(99));
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(db.batches.length, 0, "a partial batch waits for flushAfterMs (a minute here)");
    w.enqueue(rows(1));
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(db.batches.length, 1, "no flush() asked for");
    assert.equal(w.pending, 0);
  });

  it("holds at most maxEvents events and maxChars characters; drops and counts the rest", async () => {
    const byCount = writer({ maxEvents: 5 });
    byCount.w.enqueue(rows(3));
    byCount.w.enqueue(rows(4));
    assert.equal(byCount.w.pending, 5);
    assert.equal(await dropped(byCount.metrics), 2);
    assert.equal(byCount.warnings[0].reason, "queue full");

    const byChars = writer({ maxChars: 2500 });
    byChars.w.enqueue(rows(5, 1000));
    assert.equal(byChars.w.pending, 2);
    assert.equal(await dropped(byChars.metrics), 3);
  });

  it("drops a batch whose write fails, counts every event, logs once per 10 s, and never throws", async () => {
    const { db, metrics, warnings, w } = writer();
    db.down = true;
    for (let i = 0; i < 3; i++) {
      w.enqueue(rows(150));
      await w.flush();
    }
    assert.equal(await dropped(metrics), 450);
    assert.equal(warnings.length, 1, "one line for an outage, not one per batch");
    assert.deepEqual([warnings[0].reason, warnings[0].dropped], ["write failed", 100]);
    db.down = false;
    w.enqueue(rows(1));
    await w.flush();
    assert.equal(db.batches.length, 1, "writes again once the database is back");
  });

  it("writes what is queued on close, and drops what comes after", async () => {
    const { db, metrics, w } = writer();
    w.enqueue(rows(7));
    await w.close();
    assert.equal(db.batches.flat().length, 7);
    w.enqueue(rows(2));
    assert.equal(w.pending, 0);
    assert.equal(await dropped(metrics), 2);
  });
});
