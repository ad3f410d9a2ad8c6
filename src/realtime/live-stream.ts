import { AsyncQueue } from "./async-queue";

/**
 * How much one subscriber may have waiting before it is ended with RESYNC_REQUIRED (RULES.md
 * "Delivery"): `frames` items, or `bytes` its socket holds unsent (with large frames, a
 * 10 000-point stroke is ~150 KB, 1000 of them would be far too much memory). Configured by
 * SUBSCRIBER_BUFFER_FRAMES and SUBSCRIBER_BUFFER_BYTES; the services pass it with each stream.
 */
export interface SubscriberBuffer {
  frames: number;
  bytes: number;
}

/**
 * The producer side of one subscription: a service pushes items in order and ends the
 * stream; the transport decides how the items reach the client. As an async iterator it is
 * what the subscription's `subscribe` returns.
 *
 * Sharing contract: items pushed as the same object into streams of the same `scope` may be
 * executed and serialized once for every subscriber with the same operation, so a producer
 * pushes one object for what everybody sees, a new object for what only one viewer sees,
 * and never mutates an item once pushed.
 */
export interface LiveStream<T> extends AsyncIterableIterator<unknown> {
  /** Delivers `item` after the items pushed before it (ignored once closed). */
  push(item: T): void;
  /** Ends the stream normally after the items already pushed. */
  end(): void;
  /** Ends the stream with `error` after the items already pushed. */
  fail(error: unknown): void;
  readonly closed: boolean;
  /** Calls `listener` once the stream is closed (consumer left, end or failure). */
  onClosed(listener: () => void): void;
  /**
   * Resolves once at most half of the subscriber's buffer is in use (or the stream closed):
   * a producer with much to send (a resume's backlog) waits on it between pages instead of
   * overflowing the buffer that protects the server from a consumer that cannot keep up.
   */
  drained(): Promise<void>;
}

export interface LiveStreamOptions {
  /** What the stream is about (a session id): the unit within which equal items are shared. */
  scope: string;
  /** Runs once when the stream closes, however it closes. */
  onClose: () => void;
  /** The error that ends a subscriber that cannot keep up (RESYNC_REQUIRED). */
  overflow: () => unknown;
  /** How much may wait before `overflow()` ends the subscriber. */
  buffer: SubscriberBuffer;
}

/** Opens the stream of one subscription. */
export type OpenLiveStream = <T>(options: LiveStreamOptions) => LiveStream<T>;

/**
 * The default: a bounded queue per subscriber whose items graphql executes one by one for
 * that subscriber (in-process consumers, and any transport without shared delivery).
 */
export const queuedStream: OpenLiveStream = <T>(o: LiveStreamOptions) => new AsyncQueue<T>(o.onClose, o.buffer.frames, o.overflow);
