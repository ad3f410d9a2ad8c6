/**
 * Events per second over a recent window (board_operations_per_second): counts in one slot
 * per second of the last `seconds`, so adding is O(1) and reading sums `seconds` numbers, with
 * nothing kept per event. The window is the current second and the `seconds - 1` before it;
 * a slot from an older second counts as empty.
 */
export class RecentRate {
  private readonly counts: Float64Array;
  /** The second (ms / 1000, floored) each slot counts; -1 for a slot never used. */
  private readonly stamps: Float64Array;

  constructor(
    private readonly seconds = 10,
    private readonly now: () => number = Date.now,
  ) {
    this.counts = new Float64Array(seconds);
    this.stamps = new Float64Array(seconds).fill(-1);
  }

  /** Counts `n` events now. */
  add(n: number): void {
    const second = Math.floor(this.now() / 1000);
    const slot = second % this.seconds;
    if (this.stamps[slot] !== second) {
      this.stamps[slot] = second;
      this.counts[slot] = 0;
    }
    this.counts[slot] += n;
  }

  /** The events of the window divided by its length in seconds. */
  perSecond(): number {
    const oldest = Math.floor(this.now() / 1000) - this.seconds;
    let sum = 0;
    for (let slot = 0; slot < this.seconds; slot++) if (this.stamps[slot] > oldest) sum += this.counts[slot];
    return sum / this.seconds;
  }
}
