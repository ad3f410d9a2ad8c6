import { queuedStream, type LiveStream, type OpenLiveStream } from "./live-stream";

/**
 * A subscription stream: `initial()` first (if given), then every value of `source` passed
 * through `map` (undefined drops it), in order. Unlike an async generator, closing the
 * stream closes `source` at once, even while it waits for its next value, so a client
 * leaving never keeps a pub/sub subscription alive until the next message. `open` and
 * `scope` choose the stream (LiveStream).
 */
export function liveStream<S, T>(
  source: AsyncIterableIterator<S>,
  map: (value: S) => Promise<T | undefined>,
  initial?: () => Promise<T>,
  open: OpenLiveStream = queuedStream,
  scope = "",
): LiveStream<T> {
  const out = open<T>({
    scope,
    onClose: () => void source.return?.(),
    overflow: () => new Error("The subscriber fell too far behind."),
  });
  void (async () => {
    try {
      if (initial) out.push(await initial());
      for await (const value of source) {
        if (out.closed) return;
        const mapped = await map(value);
        if (mapped !== undefined) out.push(mapped);
      }
      out.end();
    } catch (err) {
      out.fail(err);
    }
  })();
  return out;
}
