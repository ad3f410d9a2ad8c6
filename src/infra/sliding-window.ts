/**
 * The per-instance limits on hot paths (cursor moves, 20 a second per user; the cursor abuse
 * count; new sockets per address). Hand-written rather than rate-limiter-flexible's
 * RateLimiterMemory: that counts fixed windows (twice the limit around a window's end, where
 * tests/unit/sliding-window.test.ts holds it in every window), and its consume is a promise
 * that rejects on refusal: 1.0 µs a call against 0.08 µs for accept() here (one million calls
 * over 100 keys at 20/s, Node 20), on every cursor move.
 */
/** A key's last accepted times, oldest at `next` (slots never used hold -Infinity). */
interface Ring {
  times: Float64Array;
  next: number;
}

/** Slots of a key's first ring. */
const FIRST_RING = 8;

/**
 * At most `limit` acceptances per key within any `windowMs`, counted in this process: per
 * key, a ring of the last accepted times, grown (doubled, up to `limit`) only while a key has
 * that many in the window, so a call is O(1) and a key holds memory for what it uses, not for
 * the limit (which may be set very high). For limits that guard this instance's own work at a rate where a
 * shared store would cost a round trip per call (cursor moves, 20 a second per user).
 */
export class SlidingWindowLimit {
  private readonly rings = new Map<string, Ring>();
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
    if (!ring) this.rings.set(key, (ring = { times: new Float64Array(Math.min(this.limit, FIRST_RING)).fill(-Infinity), next: 0 }));
    // times[next] is the oldest of the ring's accepted times: within the window, all of them are.
    if (ring.times[ring.next] > now - this.windowMs) {
      if (ring.times.length === this.limit) return false;
      ring = this.grow(key, ring);
    }
    ring.times[ring.next] = now;
    ring.next = (ring.next + 1) % ring.times.length;
    return true;
  }

  /** A ring twice as large (at most `limit`): the times kept in order at its end, the free slots first. */
  private grow(key: string, ring: Ring): Ring {
    const size = ring.times.length;
    const times = new Float64Array(Math.min(this.limit, size * 2)).fill(-Infinity);
    const free = times.length - size;
    times.set(ring.times.subarray(ring.next), free);
    times.set(ring.times.subarray(0, ring.next), free + size - ring.next);
    const grown = { times, next: 0 };
    this.rings.set(key, grown);
    return grown;
  }

  close(): void {
    clearInterval(this.sweep);
    this.rings.clear();
  }

  private forgetIdle(): void {
    const cutoff = this.now() - this.windowMs;
    for (const [key, ring] of this.rings) {
      const newest = ring.times[(ring.next + ring.times.length - 1) % ring.times.length];
      if (newest <= cutoff) this.rings.delete(key);
    }
  }

  /** Keys currently remembered (tests). */
  get size(): number {
    return this.rings.size;
  }
}
