import assert from "node:assert/strict";
import { afterEach, beforeEach, describe, it, mock } from "node:test";
import { ExpiryBuckets } from "../../src/realtime/expiry-buckets";

describe("ExpiryBuckets", () => {
  beforeEach(() => mock.timers.enable({ apis: ["setTimeout", "Date"], now: 1_000_000 }));
  afterEach(() => mock.timers.reset());

  it("expires each item at its whole second, with one timer per second", () => {
    const expired: string[] = [];
    const buckets = new ExpiryBuckets<string>((item) => expired.push(item));
    buckets.add("a", 1_001_500); // second 1002
    buckets.add("b", 1_002_000); // second 1002 too
    buckets.add("c", 1_004_000);
    mock.timers.tick(1_999);
    assert.deepEqual(expired, []);
    mock.timers.tick(1);
    assert.deepEqual(expired, ["a", "b"]);
    mock.timers.tick(2_000);
    assert.deepEqual(expired, ["a", "b", "c"]);
    assert.equal(buckets.size, 0);
  });

  it("forgets a deleted item, and an emptied second's timer", () => {
    const expired: string[] = [];
    const buckets = new ExpiryBuckets<string>((item) => expired.push(item));
    buckets.add("a", 1_002_000);
    buckets.add("b", 1_002_000);
    buckets.delete("a", 1_002_000);
    buckets.add("c", 1_003_000);
    buckets.delete("c", 1_003_000);
    assert.equal(buckets.size, 1);
    mock.timers.tick(5_000);
    assert.deepEqual(expired, ["b"]);
  });

  it("waits past setTimeout's longest delay in steps, never expiring early", () => {
    const expired: string[] = [];
    const buckets = new ExpiryBuckets<string>((item) => expired.push(item));
    const far = 1_000_000 + 40 * 24 * 3600 * 1000; // 40 days
    buckets.add("a", far);
    mock.timers.tick(2 ** 31 - 1);
    assert.deepEqual(expired, []);
    mock.timers.tick(far - 1_000_000 - (2 ** 31 - 1));
    assert.deepEqual(expired, ["a"]);
    buckets.close();
  });
});
