import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { TickThrottle } from "../../src/realtime/tick-throttle";

const TICK_MS = 50;
/** The tick a time falls in, with the slack TickThrottle allows a timer that fires a little early. */
const tickOf = (ms: number) => Math.floor((ms + 1) / TICK_MS);

/** A throttle that records when it fired; `fired(n)` resolves once it has fired n times. */
function recorded() {
  const at: number[] = [];
  const waiting: Array<() => void> = [];
  const throttle = new TickThrottle(TICK_MS, () => {
    at.push(performance.now());
    waiting.splice(0).forEach((w) => w());
  });
  const fired = (n: number) =>
    new Promise<void>((resolve) => {
      const check = () => (at.length >= n ? resolve() : waiting.push(check));
      check();
    });
  return { throttle, at, fired };
}

describe("TickThrottle", () => {
  // Its timers do not hold the process open (unref): this one does, while the tests wait.
  let alive: NodeJS.Timeout;
  before(() => (alive = setInterval(() => undefined, 1000)));
  after(() => clearInterval(alive));

  it("fires at the start of the next tick, once for the requests made meanwhile", async () => {
    const { throttle, at, fired } = recorded();
    const requestedAt = performance.now();
    throttle.request();
    throttle.request();
    await fired(1);
    assert.equal(tickOf(at[0]), Math.floor(requestedAt / TICK_MS) + 1);
    throttle.request(); // in the tick it just fired in: waits for the next one
    await fired(2);
    assert.equal(tickOf(at[1]), tickOf(at[0]) + 1);
    throttle.stop();
  });

  it("lines up every throttle of the process on the same ticks", async () => {
    const a = recorded();
    const b = recorded();
    a.throttle.request();
    await a.fired(1);
    b.throttle.request();
    a.throttle.request();
    await Promise.all([a.fired(2), b.fired(1)]);
    assert.equal(tickOf(b.at[0]), tickOf(a.at[1]));
    a.throttle.stop();
    b.throttle.stop();
  });

  it("never fires once stopped", async () => {
    const { throttle, at } = recorded();
    const other = recorded();
    throttle.request();
    throttle.stop();
    other.throttle.request();
    await other.fired(1); // the same tick: the stopped one would have fired by now
    assert.deepEqual(at, []);
    other.throttle.stop();
  });
});
