import { performance } from "node:perf_hooks";
import { GraphQLError, Kind, getOperationAST, type DocumentNode, type ExecutionArgs, type ExecutionResult } from "graphql";
import type { ServerOptions, SubscribePayload } from "graphql-ws";
import type { WebSocket } from "ws";
import { ResyncRequiredError } from "../domain/errors";
import type { Metrics } from "../infra/metrics";
import type { OperationType } from "../infra/operation-metrics";
import { operationOutcome } from "../schema/errors";

/** One operation of a socket, from its subscribe message to its end. */
interface Running {
  started: number;
  type: OperationType;
  name: string | null | undefined;
  /** A subscription's root field, the label of its connection and delivery counts. */
  field: string;
  /** A subscription whose stream is running (started, not yet ended). */
  live: boolean;
  /** It ended with an error. */
  failed: boolean;
}

/** graphql-ws's hooks, as ws-server.ts gives them. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Hooks = ServerOptions<any, any>;
type ConnectionContext = Parameters<NonNullable<Hooks["onConnect"]>>[0];

/**
 * The WebSocket transport's metrics: realtime_connections (sockets, and subscriptions by root
 * field), graphql_operation_duration_seconds for queries, mutations and subscriptions
 * (a subscription's time is the time to start its stream), subscriptions started and ended,
 * and RESYNC_REQUIRED ends. Made only when METRICS_ENABLED; `instrument` wraps graphql-ws's
 * hooks of ws-server.ts, which stay as they are without metrics.
 */
export class RealtimeOperationMetrics {
  private readonly sockets;
  /** Each connection's operations. */
  private readonly running = new WeakMap<ConnectionContext, Map<string, Running>>();

  constructor(
    private readonly metrics: Metrics,
    /** The transport's validated document for a query text, when it has one (a refusal after validation still tells its operation's type). */
    private readonly documentOf: (query: string) => DocumentNode | undefined,
  ) {
    this.sockets = metrics.connectionsOf.get("websocket");
  }

  /** `hooks` with the metrics around onConnect, onSubscribe, onOperation, onError and onComplete. */
  instrument<O extends Hooks>(hooks: O): O {
    const { onConnect, onSubscribe, onOperation, onError, onComplete } = hooks;
    return {
      ...hooks,
      onConnect: (ctx: ConnectionContext) => {
        const accepted = onConnect?.(ctx);
        if (accepted instanceof Promise) return accepted.then((value) => (this.connected(ctx, value), value));
        this.connected(ctx, accepted);
        return accepted;
      },
      onSubscribe: (ctx: ConnectionContext, id: string, payload: SubscribePayload) => {
        const started = performance.now();
        const prepared = onSubscribe?.(ctx, id, payload);
        // ws-server's onSubscribe answers synchronously; anything else is left unmeasured.
        if (prepared && !(prepared instanceof Promise)) this.subscribed(ctx, id, payload, prepared, started);
        return prepared;
      },
      onOperation: (ctx: ConnectionContext, id: string, payload: SubscribePayload, args: ExecutionArgs, result: unknown) => {
        this.operated(ctx, id, result);
        return onOperation?.(ctx, id, payload, args, result as never);
      },
      onError: (ctx: ConnectionContext, id: string, payload: SubscribePayload, errors: readonly GraphQLError[]) => {
        this.failed(ctx, id, errors);
        return onError?.(ctx, id, payload, errors);
      },
      onComplete: (ctx: ConnectionContext, id: string, payload: SubscribePayload) => {
        const done = onComplete?.(ctx, id, payload);
        this.completed(ctx, id);
        return done;
      },
    };
  }

  /** An accepted socket is counted until it closes, with the subscriptions it still runs then. */
  private connected(ctx: ConnectionContext, accepted: unknown): void {
    if (accepted === false) return;
    const running = new Map<string, Running>();
    this.running.set(ctx, running);
    this.sockets.inc();
    (ctx.extra as { socket: WebSocket }).socket.once("close", () => {
      this.sockets.dec();
      // graphql-ws completes them after this (its loop ends on a later turn): counted here, once.
      for (const operation of running.values()) if (operation.live) this.end(operation);
      running.clear();
    });
  }

  /** onSubscribe's answer for message `id`: a refusal (errors) is observed at once; an accepted operation is timed until onOperation. */
  private subscribed(ctx: ConnectionContext, id: string, payload: SubscribePayload, prepared: ExecutionArgs | readonly GraphQLError[], started: number): void {
    const refused = Array.isArray(prepared);
    const document = refused ? this.documentOf(payload.query) : (prepared as ExecutionArgs).document;
    const operation = (document && getOperationAST(document, payload.operationName)) ?? undefined;
    const type = (operation?.operation as OperationType | undefined) ?? "unknown";
    const name = operation ? operation.name?.value : payload.operationName;
    if (refused) return this.observe(type, name, operationOutcome(prepared as readonly GraphQLError[]), started);
    const root = operation?.selectionSet.selections[0];
    const field = root?.kind === Kind.FIELD ? root.name.value : "unknown";
    this.running.get(ctx)?.set(id, { started, type, name, field, live: false, failed: false });
  }

  /** onOperation: the operation's result (a query's or mutation's, or a subscription's stream or refusal) is known. */
  private operated(ctx: ConnectionContext, id: string, result: unknown): void {
    const running = this.running.get(ctx);
    const operation = running?.get(id);
    if (!running || !operation) return;
    // graphql-ws hands over what execute or subscribe answered, awaited: a result or a stream.
    const stream = typeof result === "object" && result !== null && Symbol.asyncIterator in result;
    const errors = stream ? undefined : (result as ExecutionResult).errors;
    this.observe(operation.type, operation.name, operationOutcome(errors), operation.started);
    if (errors) this.countResyncs(errors);
    if (!stream || operation.type !== "subscription") return void running.delete(id);
    operation.live = true;
    this.metrics.subscriptionsStarted.labels(operation.field).inc();
    this.metrics.connectionsOf.get(operation.field).inc();
  }

  /** onError: a running subscription ended with `errors` (a refusal by onSubscribe was counted already). */
  private failed(ctx: ConnectionContext, id: string, errors: readonly GraphQLError[]): void {
    const operation = this.running.get(ctx)?.get(id);
    if (!operation) return;
    operation.failed = true;
    this.countResyncs(errors);
  }

  /** onComplete: the operation is over. */
  private completed(ctx: ConnectionContext, id: string): void {
    const running = this.running.get(ctx);
    const operation = running?.get(id);
    if (!running || !operation) return;
    running.delete(id);
    if (operation.live) this.end(operation);
  }

  /** A direct mutation (a cursor move answered without graphql-ws) was answered. */
  direct(name: string | undefined, started: number, error?: unknown): void {
    this.observe("mutation", name, error === undefined ? "ok" : operationOutcome([error]), started);
  }

  private end(operation: Running): void {
    operation.live = false;
    this.metrics.subscriptionsEnded.labels(operation.field, operation.failed ? "error" : "complete").inc();
    this.metrics.connectionsOf.get(operation.field).dec();
  }

  private observe(type: OperationType, name: string | null | undefined, outcome: ReturnType<typeof operationOutcome>, started: number): void {
    this.metrics.operations.observe("ws", type, name, outcome, (performance.now() - started) / 1000);
  }

  private countResyncs(errors: readonly GraphQLError[]): void {
    for (const error of errors) {
      const original = error instanceof GraphQLError ? error.originalError : error;
      if (original instanceof ResyncRequiredError) this.metrics.resyncs[original.resyncReason].inc();
    }
  }
}
