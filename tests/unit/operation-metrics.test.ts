import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { describe, it } from "node:test";
import { Histogram, Registry } from "prom-client";
import { MAX_OPERATION_NAMES, OperationDurations, OperationNames, looksLikeId } from "../../src/infra/operation-metrics";
import { RecentRate } from "../../src/infra/recent-rate";

describe("OperationNames (the bounded `operation` label)", () => {
  it("labels a missing name anonymous and a valid one by itself", () => {
    const names = new OperationNames();
    assert.equal(names.label(undefined), "anonymous");
    assert.equal(names.label(null), "anonymous");
    assert.equal(names.label(""), "anonymous");
    assert.equal(names.label("ApplyBoardEvents"), "ApplyBoardEvents");
    assert.equal(names.label("boardEvents_v2"), "boardEvents_v2");
  });

  it("labels names that could hold an id, or are no GraphQL name, other", () => {
    const names = new OperationNames();
    const uuid = randomUUID();
    for (const name of [
      `Me_${uuid.replace(/-/g, "_")}`,
      `Q_${uuid.replace(/-/g, "")}`,
      "User1234567",
      "Session_0042424242",
      "H_deadbeef0123cafe",
      "someone@example.com",
      uuid,
      "two words",
      `Long${"x".repeat(61)}`,
    ]) {
      assert.equal(names.label(name), "other", name);
    }
    // Short numbers and hex-looking words stay.
    for (const name of ["GetSession2", "Draw123456", "facade", "Feed_v10"]) assert.equal(names.label(name), name);
  });

  it("labels at most MAX_OPERATION_NAMES distinct names; later ones are other, earlier ones keep their label", () => {
    const names = new OperationNames();
    for (let i = 0; i < MAX_OPERATION_NAMES; i++) assert.equal(names.label(`Op${i}`), `Op${i}`);
    assert.equal(names.label("OneTooMany"), "other");
    assert.equal(names.label("Op0"), "Op0");
    assert.equal(names.label(`Op${MAX_OPERATION_NAMES - 1}`), `Op${MAX_OPERATION_NAMES - 1}`);
    assert.equal(names.label(undefined), "anonymous");
  });

  it("looksLikeId tells ids from names", () => {
    assert.equal(looksLikeId("a1b2c3d4e5f6"), true);
    assert.equal(looksLikeId("abcdefabcdefab"), false); // hex letters only: a word, not a hash
    assert.equal(looksLikeId("Op123456"), false);
    assert.equal(looksLikeId("Op1234567"), true);
  });
});

describe("OperationDurations", () => {
  it("observes each (operation, type, outcome, transport) as its own series, names bounded", async () => {
    const registry = new Registry();
    const histogram = new Histogram({
      name: "ops_seconds",
      help: "test",
      labelNames: ["operation", "type", "outcome", "transport"] as const,
      buckets: [1],
      registers: [registry],
    });
    const durations = new OperationDurations(histogram);
    durations.observe("http", "query", "Me", "ok", 0.5);
    durations.observe("http", "query", "Me", "ok", 2);
    durations.observe("ws", "query", "Me", "ok", 0.1);
    durations.observe("ws", "mutation", "Draw", "server_error", 0.1);
    durations.observe("ws", "mutation", "User12345678", "error", 0.1);
    const counts = (await histogram.get()).values
      .filter((v) => v.metricName === "ops_seconds_count")
      .map((v) => `${v.labels.operation} ${v.labels.type} ${v.labels.outcome} ${v.labels.transport} ${v.value}`)
      .sort();
    assert.deepEqual(counts, ["Draw mutation server_error ws 1", "Me query ok http 2", "Me query ok ws 1", "other mutation error ws 1"]);
  });
});

describe("RecentRate", () => {
  it("averages the last `seconds` seconds and forgets older ones", () => {
    let now = 1_000_000;
    const rate = new RecentRate(10, () => now);
    assert.equal(rate.perSecond(), 0);
    rate.add(5);
    now += 3000;
    rate.add(15);
    assert.equal(rate.perSecond(), 2); // 20 in the window of 10 s
    now += 7500; // the first second has left the window
    assert.equal(rate.perSecond(), 1.5);
    now += 20_000;
    assert.equal(rate.perSecond(), 0);
    rate.add(10); // a slot used long ago starts again from zero
    assert.equal(rate.perSecond(), 1);
  });
});
