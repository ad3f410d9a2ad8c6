import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { ByteLru } from "../../src/infra/byte-lru";

describe("ByteLru", () => {
  it("keeps values within the byte budget, the least recently used out first", () => {
    const lru = new ByteLru<string>(100);
    lru.set("a", "A", 40);
    lru.set("b", "B", 40);
    assert.equal(lru.get("a"), "A"); // a is now the most recent
    lru.set("c", "C", 40); // 120 > 100: b goes
    assert.equal(lru.get("b"), undefined);
    assert.deepEqual([lru.get("a"), lru.get("c")], ["A", "C"]);
    assert.equal(lru.bytes, 80);
  });

  it("never keeps a value heavier than the whole budget, and replaces a key's value and weight", () => {
    const lru = new ByteLru<string>(100);
    lru.set("a", "A", 60);
    lru.set("huge", "H", 101);
    assert.equal(lru.get("huge"), undefined);
    assert.equal(lru.get("a"), "A");
    lru.set("a", "A2", 10);
    assert.deepEqual([lru.get("a"), lru.bytes, lru.size], ["A2", 10, 1]);
    lru.delete("a");
    assert.deepEqual([lru.bytes, lru.size], [0, 0]);
  });
});
