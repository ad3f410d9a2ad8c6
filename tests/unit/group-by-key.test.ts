import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { GroupByKey } from "../../src/infra/group-by-key";

/** A flush the test finishes by hand, recording what each one was given. */
function manualFlushes() {
  const calls: Array<{ key: string; items: number[]; finish: (err?: Error) => void }> = [];
  let called: () => void = () => undefined;
  const groups = new GroupByKey<number>(
    (key, items) =>
      new Promise<void>((resolve, reject) => {
        calls.push({ key, items: [...items], finish: (err) => (err ? reject(err) : resolve()) });
        called();
      }),
  );
  const nextCall = () => new Promise<void>((resolve) => (called = resolve));
  return { groups, calls, nextCall };
}

describe("GroupByKey (group commit per key)", () => {
  it("gathers what arrives together into one flush, and what arrives during a flush into the next", async () => {
    const { groups, calls, nextCall } = manualFlushes();
    let started = nextCall();
    const first = [groups.add("s", 1), groups.add("s", 2), groups.add("s", 3)];
    await started;
    assert.deepEqual(
      calls.map((c) => c.items),
      [[1, 2, 3]],
    );

    // While the first flush runs, later items wait together for the second.
    const second = [groups.add("s", 4), groups.add("s", 5)];
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(calls.length, 1, "a second flush of the same key started before the first ended");
    started = nextCall();
    calls[0].finish();
    await Promise.all(first);
    await started;
    assert.deepEqual(
      calls.map((c) => c.items),
      [
        [1, 2, 3],
        [4, 5],
      ],
    );
    calls[1].finish();
    await Promise.all(second);
  });

  it("flushes different keys independently, and settles each item as its group's flush did", async () => {
    const { groups, calls, nextCall } = manualFlushes();
    let started = nextCall();
    const a = groups.add("a", 1);
    await started;
    started = nextCall();
    const b = groups.add("b", 2);
    await started;
    assert.deepEqual(
      calls.map((c) => [c.key, c.items]),
      [
        ["a", [1]],
        ["b", [2]],
      ],
    );
    calls[0].finish(new Error("a failed"));
    calls[1].finish();
    await assert.rejects(a, /a failed/);
    await b;
    // A failed flush does not hold the key: the next item is flushed.
    started = nextCall();
    const again = groups.add("a", 3);
    await started;
    calls[2].finish();
    await again;
    assert.deepEqual(calls[2].items, [3]);
  });
});
