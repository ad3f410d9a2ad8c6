/**
 * Runs `fire` at most once per tick, at the start of the next tick after `request()`. Ticks are
 * the same for every throttle of the same length in the process (multiples of `tickMs` on the
 * process clock), so an instance's sessions flush their cursor frames in the same turn and
 * its sockets' writes leave in one burst per tick, not one per session spread over it (RULES.md
 * "Delivery": one cursor frame per CURSOR_TICK_MS per session; issue 10: one cursor publish
 * per tick per instance per session).
 */
export class TickThrottle {
  /** The index of the tick `fire` last ran in. */
  private lastTick = -Infinity;
  private timer?: NodeJS.Timeout;
  private stopped = false;

  constructor(
    private readonly tickMs: number,
    private readonly fire: () => void,
  ) {}

  /** Asks for one `fire` at the start of the next tick (requests in between merge). */
  request(): void {
    if (this.timer || this.stopped) return;
    // performance.now, not Date.now: whole milliseconds would blur the tick boundaries.
    const now = performance.now();
    const tick = Math.max(this.lastTick + 1, Math.floor(now / this.tickMs) + 1);
    this.timer = setTimeout(() => this.run(), Math.max(0, Math.ceil(tick * this.tickMs - now)));
    this.timer.unref();
  }

  /** No more fires. */
  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
    this.timer = undefined;
  }

  private run(): void {
    this.timer = undefined;
    if (this.stopped) return;
    // A timer may fire a fraction of a millisecond early: that still counts as its tick.
    const tick = Math.floor((performance.now() + TIMER_SLACK_MS) / this.tickMs);
    if (tick <= this.lastTick) return this.request();
    this.lastTick = tick;
    this.fire();
  }
}

/** How early a timer may fire and still count as firing at its tick's start. */
const TIMER_SLACK_MS = 1;
