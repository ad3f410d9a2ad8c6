import { endWithError, startPublishSpan, traceparentOf, tracingOn, withSpan } from "../infra/tracing";

/**
 * The member of a published payload that carries the W3C traceparent of its publish span,
 * beside the bus's own `$origin` (tracing on only): whoever delivers the message links its
 * delivery span to it (src/infra/tracing.ts startDeliverySpan).
 */
export const TRACE = "$trace";

/** A payload that may carry its publish span's context. */
export interface Traced {
  readonly [TRACE]?: string;
}

/** A channel's kind, as spans name it: its last part, without ids (`session:<id>:timeline` → timeline). */
export function channelKind(channel: string): string {
  return channel.slice(channel.lastIndexOf(":") + 1);
}

/**
 * Sends `payload` through `send` inside a `pubsub.publish <kind>` span whose context the
 * payload carries (TRACE) when a traced operation publishes; as it is otherwise. A payload
 * that carries a context already is sent as it is: its publisher made the span (SessionStore,
 * which delivers to this instance's hubs itself under the same span). Called with tracing on
 * only: the bus's untraced path allocates nothing for it.
 */
export async function publishTraced<T>(channel: string, payload: T, system: string, send: (payload: T) => Promise<unknown>): Promise<void> {
  if (!tracingOn() || typeof payload !== "object" || payload === null || TRACE in payload) return void (await send(payload));
  const span = startPublishSpan(channelKind(channel), { "messaging.system": system });
  if (!span) return void (await send(payload));
  try {
    await withSpan(span, () => send({ ...payload, [TRACE]: traceparentOf(span) }));
    span.end();
  } catch (err) {
    endWithError(span, err);
    throw err;
  }
}
