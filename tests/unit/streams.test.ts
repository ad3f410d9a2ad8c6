import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { deserialize, MemoryEventBus, serialize } from "../../src/realtime/event-bus";

describe("pub/sub payloads", () => {
  it("keep Dates through the JSON round trip, and strings that look like dates stay strings", () => {
    const at = new Date("2026-11-22T01:02:03.456Z");
    const back = deserialize(serialize({ at, nested: [{ at }], text: "2026-11-22T01:02:03.456Z" })) as any;
    assert.ok(back.at instanceof Date);
    assert.equal(back.at.getTime(), at.getTime());
    assert.ok(back.nested[0].at instanceof Date);
    assert.equal(back.text, "2026-11-22T01:02:03.456Z");
  });

  it("keep Dates anywhere (an array's items, the payload itself) and leave the payload as it was", () => {
    const at = new Date("2026-11-22T01:02:03.456Z");
    const payload = {
      events: [
        { seq: 1, createdAt: at, data: { points: [[1, 2]] } },
        { seq: 2, data: null },
      ],
      list: [at, 3],
      skipped: undefined,
    };
    const back = deserialize(serialize(payload)) as any;
    assert.deepEqual(back, {
      events: [
        { seq: 1, createdAt: at, data: { points: [[1, 2]] } },
        { seq: 2, data: null },
      ],
      list: [at, 3],
    });
    assert.ok(back.list[0] instanceof Date && back.events[0].createdAt instanceof Date);
    assert.ok(payload.events[0].createdAt === at && payload.list[0] === at, "the payload's own Dates stay in place");
    assert.equal((deserialize(serialize(at)) as Date).valueOf(), at.valueOf());
  });

  it("are delivered in order to every subscriber of the in-process bus, and copied", async () => {
    const bus = new MemoryEventBus();
    const topic = { channel: "t" };
    const a = await bus.subscribe<{ n: number }>(topic);
    const b = await bus.subscribe<{ n: number }>(topic);
    const sent = { n: 1 };
    await bus.publish(topic, sent);
    await bus.publish(topic, { n: 2 });
    sent.n = 99;
    for (const stream of [a, b]) {
      assert.deepEqual((await stream.next()).value, { n: 1 });
      assert.deepEqual((await stream.next()).value, { n: 2 });
    }
    await a.return!();
    await bus.publish(topic, { n: 3 });
    assert.deepEqual((await b.next()).value, { n: 3 });
    assert.deepEqual(await a.next(), { value: undefined, done: true });
  });
});
