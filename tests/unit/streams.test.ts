import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { deserialize, MemoryEventBus, serialize } from "../../src/realtime/event-bus";
import { AsyncQueue } from "../../src/realtime/async-queue";
import { liveStream } from "../../src/realtime/streams";

describe("pub/sub payloads", () => {
  it("keep Dates through the JSON round trip, and strings that look like dates stay strings", () => {
    const at = new Date("2026-11-22T01:02:03.456Z");
    const back = deserialize(serialize({ at, nested: [{ at }], text: "2026-11-22T01:02:03.456Z" })) as any;
    assert.ok(back.at instanceof Date);
    assert.equal(back.at.getTime(), at.getTime());
    assert.ok(back.nested[0].at instanceof Date);
    assert.equal(back.text, "2026-11-22T01:02:03.456Z");
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

describe("liveStream", () => {
  it("yields the initial value, then mapped values in order, dropping undefined", async () => {
    const source = new AsyncQueue<number>();
    const stream = liveStream(source, async (n) => (n % 2 ? n * 10 : undefined), async () => 0);
    source.push(1);
    source.push(2);
    source.push(3);
    assert.deepEqual((await stream.next()).value, 0);
    assert.deepEqual((await stream.next()).value, 10);
    assert.deepEqual((await stream.next()).value, 30);
  });

  it("closes its source at once when the consumer leaves while waiting", async () => {
    let sourceClosed = false;
    const source = new AsyncQueue<number>(() => (sourceClosed = true));
    const stream = liveStream(source, async (n) => n);
    const pending = stream.next();
    await stream.return!();
    assert.equal(sourceClosed, true);
    assert.deepEqual(await pending, { value: undefined, done: true });
  });

  it("ends with the error of a failing source after the values before it", async () => {
    const source = new AsyncQueue<number>();
    const stream = liveStream(source, async (n) => n);
    source.push(1);
    source.fail(new Error("lost"));
    assert.equal((await stream.next()).value, 1);
    await assert.rejects(stream.next(), /lost/);
  });
});

describe("AsyncQueue with a limit", () => {
  it("ends with the overflow error after the values it holds when a push finds it full, and drops later pushes", async () => {
    let closed = 0;
    const queue = new AsyncQueue<number>(() => void closed++, 3, () => new Error("too far behind"));
    for (let n = 1; n <= 5; n++) queue.push(n);
    assert.equal(queue.size, 3);
    assert.equal(closed, 1);
    const seen: number[] = [];
    await assert.rejects(
      (async () => {
        for await (const n of queue) seen.push(n);
      })(),
      /too far behind/,
    );
    assert.deepEqual(seen, [1, 2, 3]);
  });

  it("never counts values handed straight to a waiting consumer", async () => {
    const queue = new AsyncQueue<number>(() => undefined, 1);
    for (let n = 0; n < 10; n++) {
      const next = queue.next();
      queue.push(n);
      assert.deepEqual(await next, { value: n, done: false });
    }
    assert.equal(queue.closed, false);
  });
});
