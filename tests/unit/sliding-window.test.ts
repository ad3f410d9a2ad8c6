import assert from "node:assert/strict";
import { describe, it, mock } from "node:test";
import { SlidingWindowLimit } from "../../src/infra/sliding-window";

describe("SlidingWindowLimit", () => {
  it("accepts `limit` per key in any window, never one more, and each key on its own", () => {
    let now = 0;
    const limit = new SlidingWindowLimit(3, 1000, () => now);
    const accepted: number[] = [];
    // One attempt every 100 ms for 3 s: the 4th within 1000 ms of the first is refused.
    for (now = 0; now < 3000; now += 100) if (limit.accept("a")) accepted.push(now);
    assert.deepEqual(accepted, [0, 100, 200, 1000, 1100, 1200, 2000, 2100, 2200]);
    for (let i = 0; i < accepted.length; i++) {
      const inWindow = accepted.filter((t) => t > accepted[i] - 1000 && t <= accepted[i]);
      assert.ok(inWindow.length <= 3, `${inWindow.length} accepted in the window ending at ${accepted[i]}`);
    }
    assert.equal(limit.accept("b"), true); // another key has its own window
    limit.close();
  });

  it("decides as a list of every accepted time would, with a limit far above a ring's first size (rings grow)", () => {
    let now = 0;
    const limit = new SlidingWindowLimit(100, 1000, () => now);
    const accepted: number[] = [];
    let seed = 7;
    const random = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
    // Bursts and pauses around the limit: the ring grows from 8 to 100 while times wrap around.
    for (let i = 0; i < 5000; i++) {
      now += random() < 0.99 ? random() * 4 : random() * 1500;
      const expected = accepted.filter((t) => t > now - 1000).length < 100;
      assert.equal(limit.accept("a"), expected, `call ${i} at ${now}`);
      if (expected) accepted.push(now);
    }
    assert.ok(accepted.length < 5000 && accepted.length > 200, `${accepted.length} accepted`);
    limit.close();
  });

  it("refuses until the oldest acceptance leaves the window (exactly windowMs later)", () => {
    let now = 0;
    const limit = new SlidingWindowLimit(2, 1000, () => now);
    assert.equal(limit.accept("a"), true);
    now = 500;
    assert.equal(limit.accept("a"), true);
    now = 999;
    assert.equal(limit.accept("a"), false);
    now = 1000;
    assert.equal(limit.accept("a"), true);
    now = 1499;
    assert.equal(limit.accept("a"), false);
    limit.close();
  });

  it("counts a call at the time it is given, not when it is decided (calls queued behind a slow check)", () => {
    const limit = new SlidingWindowLimit(2, 1000, () => 5000);
    // Three calls that came 600 ms apart, decided together at 5000.
    assert.deepEqual([limit.accept("a", 3800), limit.accept("a", 4400), limit.accept("a", 5000)], [true, true, true]);
    assert.equal(limit.accept("a"), false); // 5000 again: 4400 and 5000 are within the window
    limit.close();
  });

  it("forgets keys idle for a whole window", () => {
    mock.timers.enable({ apis: ["setInterval"] });
    try {
      let now = 0;
      const limit = new SlidingWindowLimit(2, 100, () => now);
      limit.accept("a");
      now = 950;
      limit.accept("b");
      now = 1000;
      mock.timers.tick(1000);
      assert.equal(limit.size, 1); // a is idle; b, accepted 50 ms ago, is kept
      now = 2000;
      mock.timers.tick(1000);
      assert.equal(limit.size, 0);
      limit.close();
    } finally {
      mock.timers.reset();
    }
  });
});
