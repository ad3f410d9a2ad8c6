/**
 * A least-recently-used map bounded by the bytes its values are said to weigh, not by their
 * count: one 40 000-object board weighs as much as thousands of small ones. A value heavier
 * than the whole budget is not kept. Values are shared with every reader: keep them immutable.
 */
export class ByteLru<V> {
  private readonly entries = new Map<string, { value: V; bytes: number }>();
  private total = 0;

  constructor(readonly budgetBytes: number) {}

  /** What the values held weigh together. */
  get bytes(): number {
    return this.total;
  }

  get size(): number {
    return this.entries.size;
  }

  get(key: string): V | undefined {
    const entry = this.entries.get(key);
    if (!entry) return undefined;
    this.entries.delete(key);
    this.entries.set(key, entry);
    return entry.value;
  }

  /** The value and its weight, without making it the most recently used. */
  peek(key: string): { value: V; bytes: number } | undefined {
    return this.entries.get(key);
  }

  /** Keeps `value` as the most recently used, unless it alone outweighs the budget (then the key holds nothing). */
  set(key: string, value: V, bytes: number): void {
    this.delete(key);
    if (bytes > this.budgetBytes) return;
    this.entries.set(key, { value, bytes });
    this.total += bytes;
    for (const [oldest, entry] of this.entries) {
      if (this.total <= this.budgetBytes) break;
      this.entries.delete(oldest);
      this.total -= entry.bytes;
    }
  }

  delete(key: string): void {
    const entry = this.entries.get(key);
    if (!entry) return;
    this.entries.delete(key);
    this.total -= entry.bytes;
  }
}
