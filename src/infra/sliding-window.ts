/**
 * At most `limit` acceptances per key within any `windowMs`, counted in this process: per
 * key, a ring of the last `limit` accepted times, so a call is O(1) and allocates nothing
 * after the key's first. For limits that guard this instance's own work at a rate where a
 * shared store would cost a round trip per call (cursor moves, 20 a second per user).
 */
export class SlidingWindowLimit {
  private readonly rings = new Map<string, { times: Float64Array; next: number }>();
  private readonly sweep: NodeJS.Timeout;

  constructor(
    private readonly limit: number,
    private readonly windowMs: number,
    private readonly now: () => number = Date.now,
  ) {
    // Keys idle for a whole window hold nothing worth keeping.
    this.sweep = setInterval(() => this.forgetIdle(), windowMs * 10);
    this.sweep.unref();
  }

  /**
   * True, and counted, when fewer than `limit` were accepted for `key` in the `windowMs` up to
   * `at` (default now; a key's calls come in time order).
   */
  accept(key: string, at = this.now()): boolean {
    const now = at;
    let ring = this.rings.get(key);
    if (!ring) this.rings.set(key, (ring = { times: new Float64Array(this.limit).fill(-Infinity), next: 0 }));
    // times[next] is the oldest of the last `limit` accepted: within the window, all of them are.
    if (ring.times[ring.next] > now - this.windowMs) return false;
    ring.times[ring.next] = now;
    ring.next = (ring.next + 1) % this.limit;
    return true;
  }

  close(): void {
    clearInterval(this.sweep);
    this.rings.clear();
  }

  private forgetIdle(): void {
    const cutoff = this.now() - this.windowMs;
    for (const [key, ring] of this.rings) {
      const newest = ring.times[(ring.next + this.limit - 1) % this.limit];
      if (newest <= cutoff) this.rings.delete(key);
    }
  }

  /** Keys currently remembered (tests). */
  get size(): number {
    return this.rings.size;
  }
}

