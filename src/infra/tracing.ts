import { performance } from "node:perf_hooks";
import { ROOT_CONTEXT, SpanKind, SpanStatusCode, context, trace, type Attributes, type Context, type Span, type TextMapPropagator } from "@opentelemetry/api";
import type { NodeSDKConfiguration } from "@opentelemetry/sdk-node";
import type { Sampler } from "@opentelemetry/sdk-trace";
import type { TraceSampler } from "../config";
import { GraphQLObjectType, type GraphQLFieldResolver, type GraphQLResolveInfo, type GraphQLSchema } from "graphql";

/**
 * OpenTelemetry tracing (O1, issue 14). Off unless `startTracing` ran (src/main.ts calls it
 * when OTEL_EXPORTER_OTLP_ENDPOINT or a trace exporter is configured). Until then the SDK, its
 * exporters and the instrumentations are not even loaded, and every function here that would
 * make a span answers at the cost of one test of a module variable, allocating nothing.
 *
 * Spans: the HTTP server's (instrumentation-http), one per GraphQL operation on either transport
 * (`graphql.<type> <name>`), the resolvers slower than a threshold, database statements
 * (instrumentation-pg, or PGlite's here), Redis commands (instrumentation-ioredis), pub/sub
 * publish and delivery (`pubsub.publish <kind>`, `pubsub.deliver <kind>` linked to it), and
 * one per job run. Statements, commands and publishes are traced only inside a traced
 * operation or job: a heartbeat alone makes no trace.
 */

/** The tracer of the API's own spans; a no-op until the SDK registers its provider. */
const tracer = trace.getTracer("classroom-api");

interface ActiveTracing {
  /** W3C trace context, for what the instrumentations do not carry: WebSocket operations and bus messages. */
  w3c: TextMapPropagator;
  /** Names the HTTP server span's route (`POST /graphql`), which instrumentation-http cannot know without a router's help. */
  nameHttpRoute(route: string): void;
}

let active: ActiveTracing | undefined;

/** Whether `startTracing` ran: the test every traced path makes first. */
export function tracingOn(): boolean {
  return active !== undefined;
}

export interface TracingOptions {
  /** service.name when OTEL_SERVICE_NAME (or OTEL_RESOURCE_ATTRIBUTES) gives none. */
  serviceName?: string;
  /**
   * Where finished spans go instead of the exporter the OTEL_* variables configure: tests
   * pass an in-memory exporter's processor.
   */
  spanProcessors?: NodeSDKConfiguration["spanProcessors"];
  /** OTEL_TRACES_SAMPLER and its ratio (config.ts); parentbased_always_on by default. */
  sampler?: { name: TraceSampler; ratio: number };
}

export interface Tracing {
  /** Exports the spans still buffered and stops the SDK (graceful stop). */
  shutdown(): Promise<void>;
}

/**
 * Starts the OpenTelemetry SDK, configured by the standard OTEL_* variables (exporter,
 * endpoint, protocol, sampler, resource). Must run before http, pg and ioredis are first
 * required: the instrumentations patch them as they load. Once per process.
 */
export function startTracing(options: TracingOptions = {}): Tracing {
  if (active) throw new Error("tracing is already started");
  // Required here, not imported: with tracing off none of this is loaded.
  /* eslint-disable @typescript-eslint/no-require-imports */
  const { NodeSDK } = require("@opentelemetry/sdk-node") as typeof import("@opentelemetry/sdk-node");
  const { HttpInstrumentation } = require("@opentelemetry/instrumentation-http") as typeof import("@opentelemetry/instrumentation-http");
  const { PgInstrumentation } = require("@opentelemetry/instrumentation-pg") as typeof import("@opentelemetry/instrumentation-pg");
  const { IORedisInstrumentation } = require("@opentelemetry/instrumentation-ioredis") as typeof import("@opentelemetry/instrumentation-ioredis");
  const { RPCType, W3CTraceContextPropagator, getRPCMetadata } = require("@opentelemetry/core") as typeof import("@opentelemetry/core");
  const samplers = require("@opentelemetry/sdk-trace") as typeof import("@opentelemetry/sdk-trace");
  /* eslint-enable @typescript-eslint/no-require-imports */
  const probes = new Set(["/healthz", "/readyz", "/metrics"]);
  const sdk = new NodeSDK({
    serviceName: options.serviceName,
    spanProcessors: options.spanProcessors,
    sampler: detachedWorkDropped(samplerOf(samplers, options.sampler ?? { name: "parentbased_always_on", ratio: 1 }), samplers),
    // Traces only: metrics are Prometheus' (/metrics), logs pino's.
    metricReaders: [],
    logRecordProcessors: [],
    instrumentations: [
      new HttpInstrumentation({
        // Probes every few seconds would drown the traces worth reading.
        ignoreIncomingRequestHook: (request) => probes.has((request.url ?? "").split("?")[0]),
      }),
      // Statements and commands outside a traced operation (heartbeats, BullMQ's polling) would each be a trace of their own.
      new PgInstrumentation({ requireParentSpan: true }),
      new IORedisInstrumentation({ requireParentSpan: true }),
    ],
  });
  sdk.start();
  active = {
    w3c: new W3CTraceContextPropagator(),
    nameHttpRoute(route) {
      const rpc = getRPCMetadata(context.active());
      if (rpc?.type === RPCType.HTTP) rpc.route = route;
    },
  };
  return {
    async shutdown() {
      active = undefined;
      await sdk.shutdown();
    },
  };
}

/** The sampler OTEL_TRACES_SAMPLER names, as the SDK would build it from the variable. */
function samplerOf(samplers: typeof import("@opentelemetry/sdk-trace"), { name, ratio }: { name: TraceSampler; ratio: number }): Sampler {
  const { AlwaysOffSampler, AlwaysOnSampler, ParentBasedSampler, TraceIdRatioBasedSampler } = samplers;
  const root = name.endsWith("always_on") ? new AlwaysOnSampler() : name.endsWith("always_off") ? new AlwaysOffSampler() : new TraceIdRatioBasedSampler(ratio);
  return name.startsWith("parentbased_") ? new ParentBasedSampler({ root }) : root;
}

/**
 * `sampler`, except that a span whose local parent has ended is dropped. Work started inside
 * an operation and outliving it (a timeline hub's heartbeat opened by a subscription, a
 * presence heartbeat, a batch published by a timer) runs in that operation's context: its
 * statements and commands would otherwise be added to the operation's trace for as long as it runs.
 */
function detachedWorkDropped(sampler: Sampler, { SamplingDecision }: typeof import("@opentelemetry/sdk-trace")): Sampler {
  return {
    shouldSample(parentContext, traceId, name, kind, attributes, links) {
      const parent = trace.getSpan(parentContext);
      if (parent && !parent.isRecording() && !parent.spanContext().isRemote) return { decision: SamplingDecision.NOT_RECORD };
      return sampler.shouldSample(parentContext, traceId, name, kind, attributes, links);
    },
    toString: () => `DetachedWorkDropped{${sampler.toString()}}`,
  };
}

/** A W3C `traceparent` (and `tracestate`) as sent by a client or carried by a bus message. */
export interface TraceCarrier {
  traceparent?: unknown;
  tracestate?: unknown;
}

/**
 * The context of the span `carrier` names (the parent of what a client asked for), or
 * undefined when tracing is off or the carrier holds no valid `traceparent`.
 */
export function extractParent(carrier: TraceCarrier | null | undefined): Context | undefined {
  if (!active || !carrier || typeof carrier.traceparent !== "string") return undefined;
  const fields: Record<string, string> = { traceparent: carrier.traceparent };
  if (typeof carrier.tracestate === "string") fields.tracestate = carrier.tracestate;
  const extracted = active.w3c.extract(ROOT_CONTEXT, fields, {
    get: (c: Record<string, string>, key) => c[key],
    keys: (c: Record<string, string>) => Object.keys(c),
  });
  return trace.getSpanContext(extracted) ? extracted : undefined;
}

/** The W3C `traceparent` naming `span`, to carry it in a message. */
export function traceparentOf(span: Span): string | undefined {
  if (!active) return undefined;
  const fields: Record<string, string> = {};
  active.w3c.inject(trace.setSpan(ROOT_CONTEXT, span), fields, { set: (c, key, value) => (c[key] = value) });
  return fields.traceparent;
}

/** Runs `fn` with `span` as the active span (its statements, publishes and resolvers become its children). */
export function withSpan<T>(span: Span, fn: () => T, parent: Context = context.active()): T {
  return context.with(trace.setSpan(parent, span), fn);
}

/** The active span when it is recorded: what a child span is made under. */
function recordingParent(): Span | undefined {
  const parent = trace.getSpan(context.active());
  return parent?.isRecording() ? parent : undefined;
}

/** Ends `span` with `error` recorded on it. */
export function endWithError(span: Span, error: unknown): void {
  span.recordException(error instanceof Error ? error : String(error));
  span.setStatus({ code: SpanStatusCode.ERROR });
  span.end();
}

// --- GraphQL operations

/**
 * Starts the span of one GraphQL operation under `parent`: a SERVER span for an operation over
 * WebSocket (no HTTP span above it), INTERNAL below the HTTP one. Named `graphql` until
 * `describeOperation` knows the operation. Undefined when tracing is off.
 */
export function startOperationSpan(parent: Context, kind: "server" | "internal", requestId?: string): Span | undefined {
  if (!active) return undefined;
  return tracer.startSpan(
    "graphql",
    { kind: kind === "server" ? SpanKind.SERVER : SpanKind.INTERNAL, attributes: requestId ? { "request.id": requestId } : undefined },
    parent,
  );
}

/** Names the operation span `graphql.<type> <name>` and records its type and name. */
export function describeOperation(span: Span, type: string, name: string | null | undefined): void {
  if (!span.isRecording()) return;
  span.updateName(name ? `graphql.${type} ${name}` : `graphql.${type}`);
  span.setAttribute("graphql.operation.type", type);
  if (name) span.setAttribute("graphql.operation.name", name);
}

/** Errors as the client gets them (formatted), as far as an outcome reads them. */
export type OutcomeErrors = ReadonlyArray<{ readonly extensions?: { readonly [key: string]: unknown } }> | undefined;

/**
 * Records an operation's outcome on its span: `outcome` ok or error, and `error.type` the first
 * error's public code (from the formatted errors the client gets).
 */
export function recordOutcome(span: Span | undefined, errors: OutcomeErrors): void {
  if (!span?.isRecording()) return;
  if (errors && errors.length > 0) {
    const code = errors[0].extensions?.code;
    span.setAttributes({ outcome: "error", "error.type": typeof code === "string" ? code : "UNKNOWN" });
    span.setStatus({ code: SpanStatusCode.ERROR });
  } else span.setAttribute("outcome", "ok");
}

/** Records the outcome and ends the span. */
export function endOperation(span: Span, errors: OutcomeErrors): void {
  recordOutcome(span, errors);
  span.end();
}

/** Names the active HTTP server span's route, e.g. `POST /graphql` (no-op when tracing is off). */
export function nameHttpRoute(route: string): void {
  active?.nameHttpRoute(route);
}

const traced = new WeakSet<GraphQLSchema>();

/**
 * Wraps every resolver of `schema` so that one taking `thresholdMs` or longer gets a span
 * (`graphql.resolve Type.field`) under the operation's, made after the fact with its real start:
 * a fast resolver costs two clock reads and no allocation. Only called with tracing on; a
 * schema is wrapped once (instances of one process share it).
 */
export function traceSlowResolvers(schema: GraphQLSchema, thresholdMs: number): void {
  if (traced.has(schema)) return;
  traced.add(schema);
  for (const type of Object.values(schema.getTypeMap())) {
    if (!(type instanceof GraphQLObjectType) || type.name.startsWith("__")) continue;
    for (const field of Object.values(type.getFields())) {
      if (field.resolve) field.resolve = timedResolver(field.resolve, thresholdMs);
    }
  }
}

function timedResolver(resolve: GraphQLFieldResolver<unknown, unknown>, thresholdMs: number): GraphQLFieldResolver<unknown, unknown> {
  return function timed(source, args, ctx, info) {
    const start = performance.now();
    const result: unknown = resolve(source, args, ctx, info);
    if (result instanceof Promise) {
      return result.then(
        (value: unknown) => {
          if (performance.now() - start >= thresholdMs) resolverSpan(info, start);
          return value;
        },
        (error: unknown) => {
          if (performance.now() - start >= thresholdMs) resolverSpan(info, start, error);
          throw error;
        },
      );
    }
    if (performance.now() - start >= thresholdMs) resolverSpan(info, start);
    return result;
  };
}

function resolverSpan(info: GraphQLResolveInfo, start: number, error?: unknown): void {
  if (!active || !recordingParent()) return;
  const span = tracer.startSpan(`graphql.resolve ${info.parentType.name}.${info.fieldName}`, {
    startTime: start, // performance.now(): the SDK reads it against the time origin
    attributes: { "graphql.field.name": info.fieldName, "graphql.field.type": info.parentType.name, "graphql.field.path": pathOf(info.path) },
  });
  if (error === undefined) span.end();
  else endWithError(span, error);
}

function pathOf(path: GraphQLResolveInfo["path"] | undefined): string {
  const keys: Array<string | number> = [];
  for (let p = path; p; p = p.prev) keys.push(p.key);
  return keys.reverse().join(".");
}

// --- pub/sub, database statements, jobs

/**
 * Starts the PRODUCER span `pubsub.publish <kind>` under the active span, or answers
 * undefined (tracing off, or nothing traced is publishing: a heartbeat).
 */
export function startPublishSpan(kind: string, attributes?: Attributes): Span | undefined {
  if (!active || !recordingParent()) return undefined;
  return tracer.startSpan(`pubsub.publish ${kind}`, {
    kind: SpanKind.PRODUCER,
    attributes: { "messaging.operation.type": "send", "messaging.destination.name": kind, ...attributes },
  });
}

/**
 * Starts the CONSUMER span `pubsub.deliver <kind>` of one message on this instance, in a trace
 * of its own LINKED to the publish span `traceparent` names (a message reaches many
 * subscribers on many instances, long after its publisher answered: not its child).
 * Undefined when tracing is off or the message carries no trace context.
 */
export function startDeliverySpan(kind: string, traceparent: string | undefined, attributes?: Attributes): Span | undefined {
  if (!active || traceparent === undefined) return undefined;
  const published = trace.getSpanContext(extractParent({ traceparent }) ?? ROOT_CONTEXT);
  return tracer.startSpan(`pubsub.deliver ${kind}`, {
    kind: SpanKind.CONSUMER,
    root: true,
    links: published ? [{ context: published }] : undefined,
    attributes: { "messaging.operation.type": "process", "messaging.destination.name": kind, ...attributes },
  });
}

/**
 * Starts a CLIENT span for one statement on the embedded database (instrumentation-pg covers
 * a real Postgres), named as instrumentation-pg names its own; undefined outside a traced
 * operation.
 */
export function startStatementSpan(text: string): Span | undefined {
  if (!active || !recordingParent()) return undefined;
  const command = /^\s*(\w+)/.exec(text)?.[1]?.toUpperCase() ?? "UNKNOWN";
  return tracer.startSpan(`pglite.query:${command}`, {
    kind: SpanKind.CLIENT,
    attributes: { "db.system.name": "postgresql", "db.namespace": "pglite", "db.operation.name": command, "db.query.text": text },
  });
}

/** Runs a job inside its span `job <name>` (a trace of its own); just runs it with tracing off. */
export function traceJob<T>(name: string, attributes: Attributes, run: () => Promise<T>): Promise<T> {
  if (!active) return run();
  const span = tracer.startSpan(`job ${name}`, { root: true, attributes: { "job.name": name, ...attributes } });
  return withSpan(span, run, ROOT_CONTEXT).then(
    (result) => {
      span.setAttribute("outcome", "ok");
      span.end();
      return result;
    },
    (error: unknown) => {
      span.setAttribute("outcome", "error");
      endWithError(span, error);
      throw error;
    },
  );
}
