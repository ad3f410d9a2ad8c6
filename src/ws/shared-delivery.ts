import { randomUUID } from "node:crypto";
import {
  Kind,
  TypeInfo,
  getOperationAST,
  visit,
  visitWithTypeInfo,
  type DocumentNode,
  type ExecutionResult,
  type FormattedExecutionResult,
  type GraphQLSchema,
} from "graphql";
import Denque from "denque";
import type { WebSocket } from "ws";
import type { AuthContext } from "../auth/auth-context";
import { CompiledExecutor } from "../infra/compiled-execution";
import type { Metrics } from "../infra/metrics";
import { createRequestContext } from "../resolvers/context";
import { VIEWER_DEPENDENT } from "../schema/viewer-dependent";
import type { Services } from "../services";
import { frameHeaderBytes, sendFrame, writeTextFrameHeader } from "../realtime/socket-writes";
import { type LiveStream, type LiveStreamOptions, type OpenLiveStream } from "../realtime/live-stream";

/** Live executions one user's own subscriptions may have running at once on an instance. */
const LIVE_EXECUTIONS_PER_USER = 1;

/** One user's live executions running, and the starts of those waiting for a slot. */
interface UserSlots {
  running: number;
  waiting: Denque<() => Promise<unknown>>;
}

/** Formats an execution result for the client (error masking and codes), once per result. */
export type FormatResult = (result: ExecutionResult, requestId: string) => FormattedExecutionResult;

/** What a subscription operation is, as far as sharing its frames goes (computed once per document). */
export interface OperationFacts {
  /** It selects a field marked viewer-dependent: its frames are shared only between subscribers who are the same user. */
  viewerDependent: boolean;
  /** Variables the selection below the root field reads; the root field's own arguments only choose the stream. */
  selectionVariables: string[];
  /** The subscription's root field (boardEvents, presence …): the label its deliveries are counted under. */
  rootField: string;
}

/**
 * Reads what sharing needs from a validated document: whether any selected field (in any
 * fragment too) is marked viewer-dependent, and which variables the selection reads below the
 * root fields, whose arguments (sessionId, afterSeq) are used when subscribing and never when
 * an item is executed.
 */
export function operationFacts(schema: GraphQLSchema, document: DocumentNode, operationName?: string | null): OperationFacts {
  let viewerDependent = false;
  const typeInfo = new TypeInfo(schema);
  visit(
    document,
    visitWithTypeInfo(typeInfo, {
      Field() {
        if (typeInfo.getFieldDef()?.extensions?.[VIEWER_DEPENDENT]) viewerDependent = true;
      },
    }),
  );
  const variables = new Set<string>();
  const operation = getOperationAST(document, operationName);
  const rootFieldArguments = new Set(
    operation?.selectionSet.selections.flatMap((selection) => (selection.kind === Kind.FIELD ? (selection.arguments ?? []) : [])),
  );
  visit(document, {
    OperationDefinition: (node) => (node === operation ? undefined : false),
    VariableDefinition: () => false,
    Argument: (node) => (rootFieldArguments.has(node) ? false : undefined),
    Variable: (node) => void variables.add(node.name.value),
  });
  const root = operation?.selectionSet.selections[0];
  return { viewerDependent, selectionVariables: [...variables].sort(), rootField: root?.kind === Kind.FIELD ? root.name.value : "unknown" };
}

/** One subscription as the transport knows it: where its frames go and what it runs. */
export interface SubscriberLine {
  socket: WebSocket;
  /** The graphql-ws operation id. */
  id: string;
  auth: AuthContext;
  clientIp?: string;
  /** The document's text: with the operation name and the selection's variables, what makes frames shareable. */
  query: string;
  document: DocumentNode;
  operationName?: string | null;
  variables?: Record<string, unknown> | null;
  facts: OperationFacts;
}

/**
 * Live frames executed once and serialized once (issue 10): subscribers of the same scope
 * (a session) running the same operation (document, operation name, the variables its
 * selection reads, and the viewer when it selects a viewer-dependent field) form a group;
 * an item pushed as the same object to several of them is executed once, with a fresh
 * request context, and its graphql-ws `next` frame differs per subscriber only by its id.
 * Frames are written straight to each socket; graphql-ws still owns the subscription's
 * start, its error and its completion, which follow the frames written before them.
 */
export class SharedDelivery {
  private readonly groups = new Map<string, OperationGroup>();
  /** Live executions running and waiting, per user whose subscriptions alone asked for them. */
  private readonly slots = new Map<string, UserSlots>();
  private readonly executor: CompiledExecutor;

  constructor(
    schema: GraphQLSchema,
    private readonly services: Services,
    private readonly metrics: Metrics,
    private readonly formatResult: FormatResult,
    private readonly onError: (err: unknown) => void,
  ) {
    this.executor = new CompiledExecutor(schema);
  }

  /** The stream opener of one subscription operation (RequestContext.openStream). */
  opener(line: SubscriberLine): OpenLiveStream {
    return <T>(options: LiveStreamOptions) => {
      const key = groupKey(line, options.scope);
      let group = this.groups.get(key);
      if (!group) {
        const delivered = this.metrics.enabled ? this.metrics.deliveriesOf.get(line.facts.rootField) : UNCOUNTED;
        group = new OperationGroup(this, delivered, () => this.groups.get(key) === group && this.groups.delete(key));
        this.groups.set(key, group);
      }
      return new SharedStream<T>(group, line, options);
    };
  }

  /**
   * Runs `start` (a group's execution of its next frame) now, or, for a group of one user's
   * subscriptions only (`owner`), once one of that user's LIVE_EXECUTIONS_PER_USER slots is
   * free: an account holding a thousand distinct operations, each reading the database on
   * every event, gets its frames later (and RESYNC_REQUIRED if it cannot keep up), while
   * everyone else's requests and frames go on between them (issue 11, finding 1). Groups shared
   * by several users never wait. A waiting frame is a queued function, no promise: an event
   * reaching a thousand such subscriptions costs a thousand queue entries, not a thousand
   * pending executions.
   */
  schedule(start: () => Promise<unknown>, owner?: string): void {
    if (owner === undefined) return void start();
    let slots = this.slots.get(owner);
    if (!slots) this.slots.set(owner, (slots = { running: 0, waiting: new Denque() }));
    if (slots.running >= LIVE_EXECUTIONS_PER_USER) return void slots.waiting.push(start);
    slots.running += 1;
    this.runInSlot(owner, slots, start);
  }

  private runInSlot(owner: string, slots: UserSlots, start: () => Promise<unknown>): void {
    const done = () => {
      const next = slots.waiting.shift();
      // The slot passes on a later turn, so what else is waiting (requests, other frames) runs first.
      if (next) return void setImmediate(() => this.runInSlot(owner, slots, next));
      slots.running -= 1;
      if (slots.running === 0 && this.slots.get(owner) === slots) this.slots.delete(owner);
    };
    start().then(done, done);
  }

  /** Executes `item` with `line` and answers its payload as UTF-8 JSON, encoded once for every socket. */
  async execute(line: SubscriberLine, item: unknown): Promise<Buffer> {
    this.metrics.liveExecutions.inc();
    const requestId = randomUUID();
    const contextValue = createRequestContext({ requestId, auth: line.auth, clientIp: line.clientIp, services: this.services });
    const result = await this.executor.execute({
      document: line.document,
      rootValue: item,
      contextValue,
      variableValues: line.variables,
      operationName: line.operationName,
    });
    return Buffer.from(JSON.stringify(result.errors ? this.formatResult(result, requestId) : result));
  }

  reportError(err: unknown): void {
    this.onError(err);
  }

  /** A subscriber ended because it could not keep up; the frame it was handed is dropped. */
  countSlow(): void {
    this.metrics.slowSubscribers.inc();
    this.metrics.dropped.overflow.inc();
  }

  /** Frames that did not reach their subscribers for `reason` (not overflow: countSlow). */
  countDropped(reason: "closed" | "failed", frames: number): void {
    this.metrics.dropped[reason].inc(frames);
  }
}

/** The delivery count with METRICS_ENABLED=false. */
const UNCOUNTED = { inc: () => undefined };

function groupKey(line: SubscriberLine, scope: string): string {
  const picked = line.facts.selectionVariables.map((name) => line.variables?.[name] ?? null);
  const viewer = line.facts.viewerDependent ? (line.auth.userId ?? "") : "";
  return JSON.stringify([scope, line.query, line.operationName ?? null, picked, viewer]);
}

/** An item to send to its recipients in order, or a step of one subscriber (its end) in the same order. */
interface Entry {
  item?: unknown;
  /** The execution, once started; null when nobody was left to receive it by then, so it never ran. */
  frame?: Promise<Buffer> | null;
  recipients: Array<SharedStream<unknown>>;
  control?: () => void;
}

/** The subscribers sharing one operation in one scope, and their frames in order. */
class OperationGroup {
  readonly members = new Set<SharedStream<unknown>>();
  /** How many members each user has. */
  private readonly users = new Map<string, number>();
  private readonly queue: Entry[] = [];
  private draining = false;

  constructor(
    private readonly delivery: SharedDelivery,
    /** realtime_deliveries_total of the group's root field: counted once per frame for all its recipients. */
    private readonly delivered: { inc(frames: number): void },
    private readonly onEmpty: () => void,
  ) {}

  /**
   * Queues `item` for `stream`. A producer hands one item to all its subscribers in one
   * synchronous pass, so those of the group join the same entry, executed once with the
   * first one's line (the group's members agree on everything the execution reads).
   */
  push(item: unknown, stream: SharedStream<unknown>): void {
    const tail = this.queue[this.queue.length - 1];
    if (tail && tail.item === item && !tail.control && tail.frame !== null) {
      tail.recipients.push(stream);
      return;
    }
    const owner = this.users.size === 1 ? (this.users.keys().next().value as string) : undefined;
    const entry: Entry = { item, recipients: [stream] };
    this.queue.push(entry);
    this.delivery.schedule(() => this.start(entry), owner);
  }

  /**
   * Starts the execution of `entry` with its first recipient's line, or skips it when every
   * recipient ended while it waited for its slot (they overflowed or left): the backlog of a
   * slow account costs nothing once it is cut. Answers when the execution is over.
   */
  private start(entry: Entry): Promise<unknown> {
    if (entry.recipients.every((recipient) => recipient.closed)) entry.frame = null;
    else {
      entry.frame = this.delivery.execute(entry.recipients[0].line, entry.item);
      entry.frame.catch(() => undefined); // reported when sent
    }
    this.drain();
    return entry.frame ?? Promise.resolve();
  }

  /** Runs `step` for `stream` once the entries queued before it are sent. */
  control(stream: SharedStream<unknown>, step: () => void): void {
    this.queue.push({ control: step, recipients: [stream] });
    this.drain();
  }

  countSlow(): void {
    this.delivery.countSlow();
  }

  join(stream: SharedStream<unknown>): void {
    this.members.add(stream);
    const user = stream.line.auth.userId ?? "";
    this.users.set(user, (this.users.get(user) ?? 0) + 1);
  }

  leave(stream: SharedStream<unknown>): void {
    if (!this.members.delete(stream)) return;
    const user = stream.line.auth.userId ?? "";
    const left = (this.users.get(user) ?? 1) - 1;
    if (left > 0) this.users.set(user, left);
    else this.users.delete(user);
    if (this.members.size === 0) this.onEmpty();
  }

  /** Sends what is ready in order: up to the first entry not started yet, whose start drains again. */
  private drain(): void {
    if (!this.draining) void this.sendInOrder();
  }

  private async sendInOrder(): Promise<void> {
    this.draining = true;
    try {
      while (this.queue.length > 0) {
        const entry = this.queue[0];
        if (entry.control) {
          this.queue.shift();
          entry.control();
          continue;
        }
        if (entry.frame === undefined) return;
        if (entry.frame === null) {
          this.queue.shift(); // nobody left to send it to
          continue;
        }
        let payload: Buffer | undefined;
        try {
          payload = await entry.frame;
        } catch (err) {
          this.delivery.reportError(err);
        }
        this.queue.shift();
        if (payload === undefined) {
          for (const stream of entry.recipients) stream.fail(new Error("A live frame could not be prepared."));
          this.delivery.countDropped("failed", entry.recipients.length);
          continue;
        }
        // Counted once for the whole fan-out, not per subscriber.
        let written = 0;
        let closed = 0;
        for (const stream of entry.recipients) {
          const outcome = stream.write(payload);
          if (outcome === WRITTEN) written += 1;
          else if (outcome === SOCKET_CLOSED) closed += 1;
        }
        if (written > 0) this.delivered.inc(written);
        if (closed > 0) this.delivery.countDropped("closed", closed);
      }
    } finally {
      this.draining = false;
    }
  }
}

/** What SharedStream.write did with a frame: small integers, so a fan-out allocates nothing to count. */
const WRITTEN = 0;
const SOCKET_CLOSED = 1;
const NOT_WRITTEN = 2;
type WriteOutcome = typeof WRITTEN | typeof SOCKET_CLOSED | typeof NOT_WRITTEN;

/**
 * One subscriber's stream on the shared path. Items go to its group; as an iterator it yields
 * nothing and settles when the subscription ends, so graphql-ws sends `complete` or `error`
 * after the frames written before it. A socket that cannot drain (`options.buffer`: frames
 * or bytes unsent) ends the subscriber with `overflow()` (RESYNC_REQUIRED)
 * at once; the others go on, never waiting for it.
 */
export class SharedStream<T> implements LiveStream<T> {
  private finished = false;
  /** end() or fail() was called: the end is queued behind the frames before it. */
  private ending = false;
  /** Frames handed to the socket and not yet flushed to the network. */
  private unsent = 0;
  /** `{"id":…,"type":"next","payload":`: a frame is this, the shared payload and `}`. */
  private readonly frameStart: string;
  private readonly frameStartBytes: number;
  private settle?: { resolve: (r: IteratorResult<never>) => void; reject: (e: unknown) => void };
  private outcome?: { error?: unknown };
  private readonly listeners: Array<() => void> = [];
  /** Items pushed whose frame is not written yet (queued in the group behind others). */
  private queued = 0;
  private readonly drainWaiters: Array<() => void> = [];
  private readonly flushed = () => {
    this.unsent -= 1;
    if (this.drainWaiters.length > 0) this.wakeIfDrained();
  };

  constructor(
    private readonly group: OperationGroup,
    readonly line: SubscriberLine,
    private readonly options: LiveStreamOptions,
  ) {
    group.join(this as SharedStream<unknown>);
    // A string, not a Buffer: a small Buffer held for the subscription's life would keep a
    // whole pooled 8 KiB slab alive with it.
    this.frameStart = `{"id":${JSON.stringify(line.id)},"type":"next","payload":`;
    this.frameStartBytes = Buffer.byteLength(this.frameStart);
  }

  get closed(): boolean {
    return this.finished;
  }

  push(item: T): void {
    if (this.finished || this.ending) return;
    // Frames still waiting for their execution count too: a subscriber whose frames cannot be
    // prepared as fast as they come is ended like one whose socket cannot drain.
    if (this.queued + this.unsent >= this.options.buffer.frames) {
      this.group.countSlow();
      return this.finish({ error: this.options.overflow() });
    }
    this.queued += 1;
    this.group.push(item, this as SharedStream<unknown>);
  }

  drained(): Promise<void> {
    if (this.finished || this.hasRoom()) return Promise.resolve();
    return new Promise((resolve) => this.drainWaiters.push(resolve));
  }

  end(): void {
    this.queueEnd({});
  }

  fail(error: unknown): void {
    this.queueEnd({ error });
  }

  onClosed(listener: () => void): void {
    if (this.finished) listener();
    else this.listeners.push(listener);
  }

  /**
   * Writes a prepared payload to the socket (the group calls it in order). Answers what became
   * of it, for the counts: WRITTEN, SOCKET_CLOSED, or NOT_WRITTEN (the subscriber had ended, or
   * overflows now and is ended: counted by countSlow).
   */
  write(payload: Buffer): WriteOutcome {
    this.queued -= 1;
    if (this.finished) return NOT_WRITTEN;
    const socket = this.line.socket;
    if (socket.readyState !== socket.OPEN) return SOCKET_CLOSED;
    const { frames, bytes } = this.options.buffer;
    if (this.unsent >= frames || socket.bufferedAmount > bytes) {
      this.group.countSlow();
      this.finish({ error: this.options.overflow() });
      return NOT_WRITTEN;
    }
    this.unsent += 1;
    // Bytes copied, not encoded again per subscriber; one buffer with its WebSocket header,
    // a text frame as graphql-ws sends.
    const textBytes = this.frameStartBytes + payload.length + 1;
    const header = frameHeaderBytes(textBytes);
    const frame = Buffer.allocUnsafe(header + textBytes);
    writeTextFrameHeader(frame, textBytes);
    frame.write(this.frameStart, header);
    payload.copy(frame, header + this.frameStartBytes);
    frame[frame.length - 1] = 0x7d; // "}"
    sendFrame(socket, frame, this.flushed);
    return WRITTEN;
  }

  next(): Promise<IteratorResult<never>> {
    if (this.outcome) return this.settled();
    return new Promise((resolve, reject) => (this.settle = { resolve, reject }));
  }

  /** The consumer left (client completed, socket closed): stop at once. */
  return(): Promise<IteratorResult<never>> {
    this.finish({});
    this.outcome = {};
    return Promise.resolve({ value: undefined as never, done: true });
  }

  throw(error: unknown): Promise<IteratorResult<never>> {
    void this.return();
    return Promise.reject(error);
  }

  [Symbol.asyncIterator](): this {
    return this;
  }

  /** At most half of the frame and byte bounds in use. */
  private hasRoom(): boolean {
    const { frames, bytes } = this.options.buffer;
    return this.queued + this.unsent <= frames / 2 && this.line.socket.bufferedAmount <= bytes / 2;
  }

  private wakeIfDrained(): void {
    if (this.finished || this.hasRoom()) for (const resolve of this.drainWaiters.splice(0)) resolve();
  }

  private queueEnd(outcome: { error?: unknown }): void {
    if (this.finished || this.ending) return;
    this.ending = true;
    this.group.control(this as SharedStream<unknown>, () => this.finish(outcome));
  }

  private settled(): Promise<IteratorResult<never>> {
    const error = this.outcome?.error;
    if (error !== undefined) {
      this.outcome = {};
      return Promise.reject(error);
    }
    return Promise.resolve({ value: undefined as never, done: true });
  }

  private finish(outcome: { error?: unknown }): void {
    if (this.finished) return;
    this.finished = true;
    this.outcome = outcome;
    if (this.settle) {
      const { resolve, reject } = this.settle;
      this.settle = undefined;
      if (outcome.error !== undefined) {
        this.outcome = {};
        reject(outcome.error);
      } else resolve({ value: undefined as never, done: true });
    }
    this.group.leave(this as SharedStream<unknown>);
    this.options.onClose();
    for (const listener of this.listeners.splice(0)) listener();
    this.wakeIfDrained();
  }
}
