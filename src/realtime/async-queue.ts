/**
 * A push-fed async iterator: producers `push`, one consumer iterates. `return()` (the
 * consumer leaving, e.g. graphql-ws completing the subscription) runs `onClose` once, so
 * the producer can unsubscribe. `fail` ends the iteration with an error after the values
 * already pushed.
 */
export class AsyncQueue<T> implements AsyncIterableIterator<T> {
  private readonly buffered: T[] = [];
  private readonly waiting: Array<{ resolve: (r: IteratorResult<T>) => void; reject: (e: unknown) => void }> = [];
  private finished = false;
  private failure: unknown;

  private readonly closeListeners: Array<() => void> = [];
  private readonly drainWaiters: Array<() => void> = [];

  /**
   * With a `limit`, pushing while `limit` values wait fails the stream with `overflow()`:
   * a consumer that cannot keep up is ended, never allowed to grow memory without bound.
   */
  constructor(
    private readonly onClose: () => void = () => undefined,
    private readonly limit = Infinity,
    private readonly overflow: () => unknown = () => new Error("The consumer fell too far behind."),
  ) {}

  /** Also calls `listener` when the stream closes (consumer left, end or failure). */
  onClosed(listener: () => void): void {
    if (this.finished) listener();
    else this.closeListeners.push(listener);
  }

  get closed(): boolean {
    return this.finished;
  }

  /** Values pushed and not yet consumed. */
  get size(): number {
    return this.buffered.length;
  }

  push(value: T): void {
    if (this.finished) return;
    const waiter = this.waiting.shift();
    if (waiter) waiter.resolve({ value, done: false });
    else if (this.buffered.length >= this.limit) this.fail(this.overflow());
    else this.buffered.push(value);
  }

  /** Ends the stream with `error` once the buffered values are consumed. */
  fail(error: unknown): void {
    if (this.finished) return;
    this.failure = error;
    this.close();
  }

  /** Ends the stream once the buffered values are consumed. */
  end(): void {
    this.close();
  }

  /** Resolves once at most half of `limit` values wait (or the queue closed). */
  drained(): Promise<void> {
    if (this.finished || this.buffered.length <= this.limit / 2) return Promise.resolve();
    return new Promise((resolve) => this.drainWaiters.push(resolve));
  }

  next(): Promise<IteratorResult<T>> {
    if (this.buffered.length > 0) {
      const value = this.buffered.shift() as T;
      if (this.drainWaiters.length > 0 && this.buffered.length <= this.limit / 2) for (const resolve of this.drainWaiters.splice(0)) resolve();
      return Promise.resolve({ value, done: false });
    }
    if (this.finished) {
      if (this.failure !== undefined) {
        const failure = this.failure;
        this.failure = undefined;
        return Promise.reject(failure);
      }
      return Promise.resolve({ value: undefined, done: true });
    }
    return new Promise((resolve, reject) => this.waiting.push({ resolve, reject }));
  }

  return(): Promise<IteratorResult<T>> {
    this.buffered.length = 0;
    this.failure = undefined;
    this.close();
    return Promise.resolve({ value: undefined, done: true });
  }

  throw(error: unknown): Promise<IteratorResult<T>> {
    void this.return();
    return Promise.reject(error);
  }

  [Symbol.asyncIterator](): this {
    return this;
  }

  private close(): void {
    if (this.finished) return;
    this.finished = true;
    for (const waiter of this.waiting.splice(0)) {
      if (this.failure !== undefined) {
        waiter.reject(this.failure);
        this.failure = undefined;
      } else waiter.resolve({ value: undefined, done: true });
    }
    this.onClose();
    for (const listener of this.closeListeners.splice(0)) listener();
    for (const resolve of this.drainWaiters.splice(0)) resolve();
  }
}
