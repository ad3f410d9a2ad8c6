/**
 * Runs `fire` at most once per tick, at the start of the next tick after `request()`. Ticks are
 * the same for every throttle of the same length in the process (multiples of `tickMs` on the
 * process clock) and one timer serves them all: an instance's sessions flush their cursor
 * frames in the same turn, so its sockets' writes leave in one burst per tick, not one per
 * session spread over it (RULES.md "Delivery": one cursor frame per CURSOR_TICK_MS per
 * session; issue 10: one cursor publish per tick per instance per session).
 */
export class TickThrottle {
  /** The index of the tick `fire` last ran in. */
  private lastTick = -Infinity;
  private requested = false;
  private stopped = false;
  private readonly clock: TickClock;

  constructor(
    tickMs: number,
    private readonly fire: () => void,
  ) {
    this.clock = TickClock.of(tickMs);
  }

  /** Asks for one `fire` at the start of the next tick (requests in between merge). */
  request(): void {
    if (this.requested || this.stopped) return;
    this.requested = true;
    this.clock.add(this);
  }

  /** No more fires. */
  stop(): void {
    this.stopped = true;
    if (this.requested) this.clock.delete(this);
    this.requested = false;
  }

  /** The clock's tick `tick` began: fires unless it already did in this tick (then asks for the next). */
  run(tick: number): void {
    this.requested = false;
    if (this.stopped) return;
    if (tick <= this.lastTick) return this.request();
    this.lastTick = tick;
    this.fire();
  }
}

/** How early a timer may fire and still count as firing at its tick's start. */
const TIMER_SLACK_MS = 1;

/** One timer per tick length: the throttles waiting for the next tick. */
class TickClock {
  private static readonly clocks = new Map<number, TickClock>();
  private waiting = new Set<TickThrottle>();
  private timer?: NodeJS.Timeout;

  private constructor(private readonly tickMs: number) {}

  static of(tickMs: number): TickClock {
    let clock = TickClock.clocks.get(tickMs);
    if (!clock) TickClock.clocks.set(tickMs, (clock = new TickClock(tickMs)));
    return clock;
  }

  add(throttle: TickThrottle): void {
    this.waiting.add(throttle);
    if (this.timer) return;
    // performance.now, not Date.now: whole milliseconds would blur the tick boundaries.
    const now = performance.now();
    const next = Math.floor(now / this.tickMs) + 1;
    this.timer = setTimeout(() => this.tick(), Math.max(0, Math.ceil(next * this.tickMs - now)));
    this.timer.unref();
  }

  delete(throttle: TickThrottle): void {
    this.waiting.delete(throttle);
    if (this.waiting.size > 0 || !this.timer) return;
    clearTimeout(this.timer);
    this.timer = undefined;
  }

  private tick(): void {
    this.timer = undefined;
    // A timer may fire a fraction of a millisecond early: that still counts as its tick.
    const tick = Math.floor((performance.now() + TIMER_SLACK_MS) / this.tickMs);
    const due = this.waiting;
    this.waiting = new Set();
    for (const throttle of due) {
      try {
        throttle.run(tick);
      } catch (err) {
        // As a timer of its own would have: thrown, without keeping the others from their tick.
        queueMicrotask(() => {
          throw err;
        });
      }
    }
  }
}
