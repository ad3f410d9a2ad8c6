/**
 * Runs `fire` at most once per `tickMs`, as soon as that allows after `request()`: the first
 * request after a quiet tick fires on the next turn, a steady stream of requests once per
 * tick (RULES.md "Delivery": one cursor frame per CURSOR_TICK_MS per session; issue 10: one
 * cursor publish per tick per instance per session).
 */
export class TickThrottle {
  private lastFiredAt = -Infinity;
  private timer?: NodeJS.Timeout;
  private stopped = false;

  constructor(
    private readonly tickMs: number,
    private readonly fire: () => void,
  ) {}

  /** Asks for one `fire` no sooner than a tick after the previous one (requests in between merge). */
  request(): void {
    if (this.timer || this.stopped) return;
    // performance.now, not Date.now: whole milliseconds would let a tick end ~1 ms early.
    const wait = Math.max(0, this.lastFiredAt + this.tickMs - performance.now());
    this.timer = setTimeout(() => this.run(), Math.ceil(wait));
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
    // Timers may fire a fraction of a millisecond early: never before the tick is over.
    if (performance.now() < this.lastFiredAt + this.tickMs) return this.request();
    this.lastFiredAt = performance.now();
    this.fire();
  }
}
