import assert from "node:assert/strict";
import { after, afterEach, before, describe, it } from "node:test";
import pino from "pino";
import { RedisRateLimiter } from "../../src/infra/rate-limiter";
import { closeRedis, createRedis } from "../../src/infra/redis";
import { RedisEventBus } from "../../src/realtime/event-bus";
import type { Topic } from "../../src/realtime/topics";
import { real } from "../support/backends";
import { startRedis, type RedisServer } from "../support/servers";

const silent = pino({ level: "silent" });

/** Instances a test opened, closed after it even when it fails: an open connection would keep the test process alive. */
const opened: { close(): Promise<void> }[] = [];

/** One API instance's Redis side: a command/publish connection and a subscriber. */
function instance(url: string, prefix: string) {
  const commands = createRedis(url, "test-commands", silent);
  const subscriber = createRedis(url, "test-subscriber", silent, { subscriber: true });
  let closing: Promise<void> | undefined;
  const opening = {
    bus: new RedisEventBus(commands, subscriber, prefix),
    limiter: new RedisRateLimiter(commands, prefix),
    close(): Promise<void> {
      closing ??= this.bus.close().then(() => closeRedis(commands));
      return closing;
    },
  };
  opened.push(opening);
  return opening;
}

/** Resolves once every instance's connections are open: commands are never queued offline, so a publish before that fails. */
async function ready(...instances: { bus: RedisEventBus }[]): Promise<void> {
  await until(() => instances.every((i) => i.bus.health() === "up"));
}

/** Resolves once `check` holds, polling on a short interval; fails after `ms`. */
async function until(check: () => boolean, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error("condition not reached in time");
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe("Redis pub/sub and rate limits [real]", { skip: real.skip }, () => {
  let redis: RedisServer;
  before(async () => {
    redis = await startRedis(); // its own server: this suite kills and restarts it
  });
  after(() => redis?.stop());
  afterEach(async () => {
    await Promise.all(opened.splice(0).map((i) => i.close()));
  });

  it("delivers a payload published by one instance to another's subscriber, Dates intact, in order", async () => {
    const a = instance(redis.url, "bus-test:");
    const b = instance(redis.url, "bus-test:");
    await ready(a, b);
    const topic: Topic<{ n: number; at: Date }> = { channel: "order" };
    const stream = await b.bus.subscribe(topic);
    const at = new Date("2026-01-02T03:04:05.678Z");
    for (let n = 1; n <= 5; n++) await a.bus.publish(topic, { n, at });
    for (let n = 1; n <= 5; n++) {
      const { value } = await stream.next();
      assert.equal(value.n, n);
      assert.ok(value.at instanceof Date && value.at.getTime() === at.getTime());
    }
    await stream.return!();
    await Promise.all([a.close(), b.close()]);
  });

  it("announces to the other instances only: the announcer's own subscribers never see it", async () => {
    const a = instance(redis.url, "announce-test:");
    const b = instance(redis.url, "announce-test:");
    await ready(a, b);
    const topic: Topic<{ n: number }> = { channel: "announced" };
    const [streamA, streamB] = await Promise.all([a.bus.subscribe(topic), b.bus.subscribe(topic)]);
    await a.bus.announce(topic, { n: 1 });
    await a.bus.publish(topic, { n: 2 });
    // B gets both, in order (the origin is one more member it ignores); A only its publish.
    assert.equal((await streamB.next()).value.n, 1);
    assert.equal((await streamB.next()).value.n, 2);
    assert.deepEqual((await streamA.next()).value, { n: 2 });
    await Promise.all([streamA.return!(), streamB.return!(), a.close(), b.close()]);
  });

  it("keeps prefixes apart, so deployments can share one Redis", async () => {
    const a = instance(redis.url, "one:");
    const b = instance(redis.url, "two:");
    await ready(a, b);
    const topic: Topic<{ from: string }> = { channel: "shared-name" };
    const streamA = await a.bus.subscribe(topic);
    const streamB = await b.bus.subscribe(topic);
    await b.bus.publish(topic, { from: "two" });
    await a.bus.publish(topic, { from: "one" });
    assert.deepEqual((await streamA.next()).value, { from: "one" });
    assert.deepEqual((await streamB.next()).value, { from: "two" });
    await Promise.all([streamA.return!(), streamB.return!(), a.close(), b.close()]);
  });

  it("shares rate-limit counters between instances", async () => {
    const a = instance(redis.url, "rate-test:");
    const b = instance(redis.url, "rate-test:");
    await ready(a, b);
    assert.equal((await a.limiter.hit("k", 2, 60_000)).allowed, true);
    assert.equal((await b.limiter.hit("k", 2, 60_000)).allowed, true);
    const third = await a.limiter.hit("k", 2, 60_000);
    assert.equal(third.allowed, false);
    assert.ok(third.retryAfterMs > 0 && third.retryAfterMs <= 60_000);
    await Promise.all([a.close(), b.close()]);
  });

  it("reports Redis down while it is, then re-subscribes by itself when it is back", async () => {
    const a = instance(redis.url, "blip:");
    const b = instance(redis.url, "blip:");
    const topic: Topic<{ n: number }> = { channel: "after-restart" };
    const stream = await b.bus.subscribe(topic);
    await ready(a, b);
    const resubscribed = new Promise<void>((resolve) => b.bus.onResubscribed(resolve));
    await redis.kill();
    await until(() => a.bus.health() === "down" && b.bus.health() === "down");
    await redis.start();
    await ready(a, b);
    // Once b says its subscriptions are back, the first message published gets through.
    await resubscribed;
    await a.bus.publish(topic, { n: 1 });
    assert.deepEqual((await stream.next()).value, { n: 1 });
    await stream.return!();
  });
});
