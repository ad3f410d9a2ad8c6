import { SerialByKey } from "./serial-by-key";

/**
 * Group commit per key: items handed in for a key are gathered and given to `flush` together,
 * one flush at a time per key; items that arrive while a flush runs form the next group.
 * `add` settles as the flush of its item's group does.
 */
export class GroupByKey<T> {
  private readonly gathering = new Map<string, { items: T[]; done: Promise<void> }>();
  private readonly flushes = new SerialByKey();

  constructor(private readonly flush: (key: string, items: T[]) => Promise<void>) {}

  add(key: string, item: T): Promise<void> {
    const open = this.gathering.get(key);
    if (open) {
      open.items.push(item);
      return open.done;
    }
    const items = [item];
    // The group closes when its flush starts: after the flush before it, never synchronously here.
    const done = this.flushes.run(key, async () => {
      await Promise.resolve();
      this.gathering.delete(key);
      await this.flush(key, items);
    });
    this.gathering.set(key, { items, done });
    return done;
  }
}
