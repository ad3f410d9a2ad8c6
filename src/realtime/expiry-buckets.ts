/** setTimeout's longest delay; a later second is reached in steps of it. */
const MAX_DELAY_MS = 2 ** 31 - 1;

/**
 * Calls `onExpire` for each item at the time it was added with, rounded up to the whole
 * second (a JWT's expiry is whole seconds anyway). One timer per second in which something
 * expires, not one per item: thousands of sockets opened with tokens signed in the same
 * second share one timer, and an open socket holds an entry in a set instead of a timer
 * with its closure.
 */
export class ExpiryBuckets<T> {
  private readonly buckets = new Map<number, { items: Set<T>; timer: NodeJS.Timeout }>();

  constructor(
    private readonly onExpire: (item: T) => void,
    private readonly now: () => number = Date.now,
  ) {}

  add(item: T, atMs: number): void {
    const second = Math.ceil(atMs / 1000);
    let bucket = this.buckets.get(second);
    if (!bucket) this.buckets.set(second, (bucket = { items: new Set(), timer: this.arm(second) }));
    bucket.items.add(item);
  }

  /** Forgets `item`, added with `atMs` (a socket closed before its token expired). */
  delete(item: T, atMs: number): void {
    const second = Math.ceil(atMs / 1000);
    const bucket = this.buckets.get(second);
    if (!bucket?.items.delete(item) || bucket.items.size > 0) return;
    clearTimeout(bucket.timer);
    this.buckets.delete(second);
  }

  /** Items waiting (tests). */
  get size(): number {
    let size = 0;
    for (const bucket of this.buckets.values()) size += bucket.items.size;
    return size;
  }

  close(): void {
    for (const bucket of this.buckets.values()) clearTimeout(bucket.timer);
    this.buckets.clear();
  }

  private arm(second: number): NodeJS.Timeout {
    const timer = setTimeout(() => this.fire(second), Math.min(Math.max(second * 1000 - this.now(), 0), MAX_DELAY_MS));
    timer.unref();
    return timer;
  }

  private fire(second: number): void {
    const bucket = this.buckets.get(second);
    if (!bucket) return;
    if (this.now() < second * 1000) {
      bucket.timer = this.arm(second); // woken early: a delay beyond setTimeout's longest
      return;
    }
    this.buckets.delete(second);
    for (const item of bucket.items) this.onExpire(item);
  }
}
