import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { Redis } from "ioredis";
import { faultsSkip, runningStack, until } from "../support/faults";

// HARDENING.md "Faults to survive", Redis rows: two API instances, writers and subscribers on
// both, while the Redis they share goes away.

describe("faults: Redis", { skip: faultsSkip(), timeout: 180_000 }, () => {
  const f = runningStack();

  it("Redis down 15 s, then restarted: /readyz stays 200, writes commit, subscribers backfill the gap", async () => {
    const began = f.run.beginFault();
    await f.stack.redis.kill();
    await until(
      "both instances report Redis down",
      async () => (await Promise.all(f.stack.instances.map((i) => i.healthz()))).every((h) => h.redis === "down"),
      20_000,
    );
    const down = Date.now();
    // A client that connects again meanwhile gets what it missed, then live events.
    const [, , , reconnecting] = f.run.subscribers;
    const connects = reconnecting.connects;
    await reconnecting.reconnect();
    // The outage lasts 15 s; meanwhile readiness depends on the database alone.
    while (Date.now() < began + 15_000) {
      for (const instance of f.stack.instances) assert.equal(await instance.readyz(), 200, `${instance.name} /readyz during the outage`);
      await new Promise((r) => setTimeout(r, 500));
    }
    for (const w of f.run.writers) assert.ok(w.acksSince(down).length > 0, `${w.name}: writes commit while Redis is down`);
    assert.ok(reconnecting.connects > connects, `${reconnecting.name} connected again during the outage`);
    await f.stack.redis.start();
    const lifted = Date.now();
    const recovery = await f.run.recovery(lifted);
    await until(
      "both instances report Redis up",
      async () => (await Promise.all(f.stack.instances.map((i) => i.healthz()))).every((h) => h.redis === "up"),
      30_000,
    );
    await f.run.verify("Redis down 15 s", recovery);
  });

  it("CLIENT KILL TYPE pubsub: the instances resubscribe and subscribers recover the missed events by seq", async () => {
    f.run.beginFault();
    const admin = new Redis(f.stack.redis.url, { lazyConnect: true, maxRetriesPerRequest: 1 });
    await admin.connect();
    let killed: number;
    try {
      killed = Number(await admin.call("CLIENT", "KILL", "TYPE", "pubsub"));
    } finally {
      admin.disconnect();
    }
    const lifted = Date.now();
    assert.ok(killed >= 2, `each instance's pub/sub connection was cut (${killed})`);
    const recovery = await f.run.recovery(lifted);
    await f.run.verify("CLIENT KILL TYPE pubsub", recovery);
  });
});
