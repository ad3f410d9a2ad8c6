import { LRUCache } from "lru-cache";

/**
 * A least-recently-used map bounded by the bytes its values are said to weigh, not by their
 * count: one 40 000-object board weighs as much as thousands of small ones. A value heavier
 * than the whole budget is not kept. Values are shared with every reader: keep them immutable.
 *
 * lru-cache bounded by `maxSize`. The weight is the caller's, given with each set (an
 * estimate it has at hand, or keeps up to date as a cached board grows in place: BoardCache),
 * so no `sizeCalculation`; peek answers it back.
 */
export class ByteLru<V extends NonNullable<unknown>> {
  private readonly entries: LRUCache<string, V>;

  constructor(readonly budgetBytes: number) {
    this.entries = new LRUCache({ maxSize: budgetBytes });
  }

  /** What the values held weigh together. */
  get bytes(): number {
    return this.entries.calculatedSize;
  }

  get size(): number {
    return this.entries.size;
  }

  get(key: string): V | undefined {
    return this.entries.get(key);
  }

  /** The value and its weight, without making it the most recently used. */
  peek(key: string): { value: V; bytes: number } | undefined {
    const entry = this.entries.info(key);
    return entry && { value: entry.value, bytes: entry.size ?? 0 };
  }

  /** Keeps `value` as the most recently used, unless it alone outweighs the budget (then the key holds nothing). */
  set(key: string, value: V, bytes: number): void {
    // lru-cache weighs in positive integers: an empty board replayed from nothing still weighs 1.
    this.entries.set(key, value, { size: Math.max(1, Math.ceil(bytes)) });
  }

  delete(key: string): void {
    this.entries.delete(key);
  }
}
