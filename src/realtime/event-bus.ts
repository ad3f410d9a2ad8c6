import { randomUUID } from "node:crypto";
import { EventEmitter } from "node:events";
import { performance } from "node:perf_hooks";
import type { Redis } from "ioredis";
import { RedisPubSub } from "graphql-redis-subscriptions";
import { closeRedis } from "../infra/redis";
import { tracingOn } from "../infra/tracing";
import { AsyncQueue } from "./async-queue";
import { topicKind, type Topic } from "./topics";
import { publishTraced } from "./traced-publish";

/**
 * Pub/sub between the API's instances. Postgres is the truth; the bus only announces
 * what has committed (publish after commit, never before).
 */
export interface EventBus {
  /** Delivers `payload` to every subscriber of `topic` on every instance. */
  publish<T>(topic: Topic<T>, payload: T): Promise<void>;
  /**
   * Delivers `payload` to the subscribers of `topic` on the other instances only: the caller
   * has told this instance's own already (a commit's events, which SessionStore hands to its
   * listeners before publishing), so its copy would only be read and dropped here.
   */
  announce<T extends object>(topic: Topic<T>, payload: T): Promise<void>;
  /**
   * A stream of the topic's payloads. Resolves once the subscription is live, so anything
   * published after that reaches it; iterator `return()` unsubscribes.
   */
  subscribe<T>(topic: Topic<T>): Promise<AsyncIterableIterator<T>>;
  /**
   * Calls `listener` each time the bus is subscribed again after losing its connection
   * (messages published meanwhile are lost: the caller reads them from the timeline).
   * Answers a function that removes the listener.
   */
  onResubscribed(listener: () => void): () => void;
  /** 'disabled' for the in-process bus. */
  health(): "up" | "down" | "disabled";
  close(): Promise<void>;
}

/**
 * Told of each message the bus hands to this instance's subscribers (pubsub_delivery_lag_seconds):
 * its topic's kind (topicKind) and the seconds since it was published.
 */
export type DeliveryObserver = (topic: string, lagSeconds: number) => void;

/** The embedded default: one process, no Redis. Payloads are copied as Redis would. */
export class MemoryEventBus implements EventBus {
  private readonly emitter = new EventEmitter().setMaxListeners(0);

  /** `observe`: told of each publish that reached a subscriber, with the time the copy and the hand-over took (they are synchronous). */
  constructor(private readonly observe?: DeliveryObserver) {}

  async publish<T>(topic: Topic<T>, payload: T): Promise<void> {
    if (tracingOn()) return publishTraced(topic.channel, payload, "memory", async (traced) => this.emit(topic.channel, traced));
    this.emit(topic.channel, payload);
  }

  private emit(channel: string, payload: unknown): void {
    if (!this.observe) return void this.emitter.emit(channel, structuredClone(payload));
    const sentAt = performance.now();
    if (this.emitter.emit(channel, structuredClone(payload))) this.observe(topicKind(channel), (performance.now() - sentAt) / 1000);
  }

  /** One process: there are no other instances. */
  async announce(): Promise<void> {}

  async subscribe<T>(topic: Topic<T>): Promise<AsyncIterableIterator<T>> {
    const listener = (payload: T) => queue.push(payload);
    const queue = new AsyncQueue<T>(() => this.emitter.off(topic.channel, listener));
    this.emitter.on(topic.channel, listener);
    return queue;
  }

  /** The in-process bus never loses its connection. */
  onResubscribed(): () => void {
    return () => undefined;
  }

  health(): "disabled" {
    return "disabled";
  }

  async close(): Promise<void> {
    this.emitter.removeAllListeners();
  }
}

/**
 * Redis pub/sub (graphql-redis-subscriptions over ioredis), shared by every instance on
 * the same REDIS_URL; ioredis re-subscribes by itself after a reconnect. Dates are tagged in the JSON so they arrive as Dates.
 */
export class RedisEventBus implements EventBus {
  private readonly pubsub: RedisPubSub;
  /**
   * How an announcement from this instance begins: `{"$origin":"<id>"`. Recognised by its
   * first bytes, so this instance's own copy is dropped without being parsed; other
   * instances read the field as one more (ignored) member of the payload.
   */
  private readonly origin = randomUUID();
  private readonly ownPrefix = Buffer.from(`{"${ORIGIN}":${JSON.stringify(this.origin)}`);
  private readonly resubscribed = new Set<() => void>();
  /** Set by close(): subscriptions ending after it (sockets still closing at shutdown) send nothing. */
  private closed = false;

  constructor(
    private readonly publisher: Redis,
    private readonly subscriber: Redis,
    private readonly prefix: string,
    /**
     * Told of each message's lag from publish to arrival here: messages are then stamped with
     * their publish time (SENT_AT), by the publisher's clock. A stamp is removed on arrival
     * whether observed or not, so subscribers see the payload as published.
     */
    private readonly observe?: DeliveryObserver,
  ) {
    const ownPrefix = this.ownPrefix;
    this.pubsub = new RedisPubSub({
      publisher,
      subscriber,
      serializer: serialize,
      // graphql-redis-subscriptions hands every message over as a Buffer, parsed once for every
      // local subscriber of its channel.
      deserializer: (message: string | Buffer, { channel }: { channel?: string } = {}) => {
        const bytes = typeof message === "string" ? Buffer.from(message) : message;
        if (bytes.subarray(0, ownPrefix.length).equals(ownPrefix)) return OWN_ANNOUNCEMENT;
        return this.arrived(deserialize(bytes), channel);
      },
    });
    let connectedBefore = subscriber.status === "ready";
    subscriber.on("ready", () => {
      if (!connectedBefore) {
        connectedBefore = true;
        return;
      }
      // ioredis has re-sent SUBSCRIBE for every channel; Redis answers in order, so once this
      // PING is answered the subscriptions are in place and a timeline read misses nothing.
      void subscriber
        .ping()
        .catch(() => undefined)
        .then(() => this.resubscribed.forEach((listener) => listener()));
    });
  }

  onResubscribed(listener: () => void): () => void {
    this.resubscribed.add(listener);
    return () => this.resubscribed.delete(listener);
  }

  async publish<T>(topic: Topic<T>, payload: T): Promise<void> {
    const channel = this.prefix + topic.channel;
    const send = (message: T) => this.pubsub.publish(channel, this.observe && isPlainObject(message) ? { ...message, [SENT_AT]: Date.now() } : message);
    if (tracingOn()) return publishTraced(topic.channel, payload, "redis", send);
    await send(payload);
  }

  async announce<T extends object>(topic: Topic<T>, payload: T): Promise<void> {
    const channel = this.prefix + topic.channel;
    // The origin first (recognised by the first bytes), the stamp last (removed cheaply on arrival).
    const send = (message: T) =>
      this.pubsub.publish(channel, this.observe ? { [ORIGIN]: this.origin, ...message, [SENT_AT]: Date.now() } : { [ORIGIN]: this.origin, ...message });
    if (tracingOn()) return publishTraced(topic.channel, payload, "redis", send);
    await send(payload);
  }

  /** A message from another instance (or this one's publish): its stamp observed and removed. */
  private arrived(value: unknown, channel: string | undefined): unknown {
    if (!isPlainObject(value) || !(SENT_AT in value)) return value;
    const sentAt = value[SENT_AT];
    delete value[SENT_AT];
    if (this.observe && typeof sentAt === "number") this.observe(topicKind(channel ?? ""), Math.max(0, Date.now() - sentAt) / 1000);
    return value;
  }

  async subscribe<T>(topic: Topic<T>): Promise<AsyncIterableIterator<T>> {
    const subscription: { id?: number } = {};
    let closed = false;
    const queue = new AsyncQueue<T>(() => {
      closed = true;
      // graphql-redis-subscriptions drops the UNSUBSCRIBE's promise: on a closed connection it
      // would be an unhandled rejection.
      if (subscription.id !== undefined && !this.closed) this.pubsub.unsubscribe(subscription.id);
    });
    const subscriptionId = (subscription.id = await this.pubsub.subscribe<T>(
      this.prefix + topic.channel,
      (payload) => payload !== OWN_ANNOUNCEMENT && queue.push(payload),
    ));
    if (closed) this.pubsub.unsubscribe(subscriptionId);
    return queue;
  }

  health(): "up" | "down" {
    return this.publisher.status === "ready" && this.subscriber.status === "ready" ? "up" : "down";
  }

  /** Closes the subscriber connection; the publisher belongs to whoever passed it in. */
  async close(): Promise<void> {
    this.closed = true;
    await closeRedis(this.subscriber);
  }
}

/** The member naming the instance an announcement came from (RedisEventBus.announce). */
const ORIGIN = "$origin";
/**
 * The member stamping when a message was published (ms since the epoch), with metrics on.
 * Instances that do not know it read it as one more (ignored) member, like ORIGIN.
 */
const SENT_AT = "$sentAt";

const isPlainObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === "object" && value !== null && !Array.isArray(value) && !(value instanceof Date);
/** What the deserializer answers for this instance's own announcement: dropped, never parsed. */
const OWN_ANNOUNCEMENT = Symbol("own announcement") as never;

/**
 * JSON with Dates kept: `{"$date": "<ISO>"}` stands for a Date. The Dates are swapped for
 * their tags in a copy of only the objects and arrays on their paths, then the native
 * JSON.stringify does the rest: a replacer function, called for every value of a board
 * batch's points, cost twice as much as the whole serialization.
 */
export function serialize(value: unknown): string {
  return JSON.stringify(withDatesTagged(value));
}

function withDatesTagged(value: unknown): unknown {
  if (value === null || typeof value !== "object") return value;
  if (value instanceof Date) return { $date: value.toISOString() };
  if (Array.isArray(value)) {
    let copy: unknown[] | undefined;
    for (let i = 0; i < value.length; i++) {
      const item: unknown = value[i];
      if (item === null || typeof item !== "object") continue;
      const tagged = withDatesTagged(item);
      if (tagged !== item) (copy ??= value.slice())[i] = tagged;
    }
    return copy ?? value;
  }
  let copy: Record<string, unknown> | undefined;
  for (const key of Object.keys(value)) {
    const member = (value as Record<string, unknown>)[key];
    if (member === null || typeof member !== "object") continue;
    const tagged = withDatesTagged(member);
    if (tagged !== member) (copy ??= { ...(value as Record<string, unknown>) })[key] = tagged;
  }
  return copy ?? value;
}

export function deserialize(text: string | Buffer): unknown {
  return JSON.parse(text.toString(), (_key, value) =>
    value !== null && typeof value === "object" && typeof value.$date === "string" && Object.keys(value).length === 1 ? new Date(value.$date) : value,
  );
}
