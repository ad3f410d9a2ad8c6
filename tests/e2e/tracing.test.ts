/**
 * OpenTelemetry tracing (issue 14), in this process with the in-memory exporter: the SDK is
 * started first thing, before anything loads http, pg or ioredis (the instrumentations patch
 * them as they load), so the server's modules are required below, after it. Each test file
 * runs in a process of its own, so no other file's server is traced.
 */
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { after, before, beforeEach, describe, it } from "node:test";
import { SpanKind, trace } from "@opentelemetry/api";
import { InMemorySpanExporter, SimpleSpanProcessor, type ReadableSpan } from "@opentelemetry/sdk-trace";
import { extractParent, startTracing, traceSlowResolvers, withSpan } from "../../src/infra/tracing";
import type * as BackendsModule from "../support/backends";
import type * as LessonModule from "../support/lesson";
import type * as TestServerModule from "../support/test-server";
import type { TestServer } from "../support/test-server";

/** Finished spans, kept by the in-memory exporter; `waitFor` resolves when one matching comes (no polling). */
class SpanCollector extends SimpleSpanProcessor {
  readonly exporter: InMemorySpanExporter;
  private readonly waiters = new Set<() => void>();

  constructor() {
    const exporter = new InMemorySpanExporter();
    super({ exporter });
    this.exporter = exporter;
  }

  override onEnd(span: ReadableSpan): void {
    super.onEnd(span);
    for (const wake of this.waiters) wake();
  }

  get spans(): ReadableSpan[] {
    return this.exporter.getFinishedSpans();
  }

  /** The first finished span matching `predicate`, once it has ended. */
  async waitFor(what: string, predicate: (span: ReadableSpan) => boolean): Promise<ReadableSpan> {
    for (;;) {
      const found = this.spans.find(predicate);
      if (found) return found;
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no span ${what}; finished: ${this.spans.map((s) => s.name).join(", ")}`)), 15_000);
        const wake = () => {
          clearTimeout(timer);
          this.waiters.delete(wake);
          resolve();
        };
        this.waiters.add(wake);
      });
    }
  }
}

const collector = new SpanCollector();
const tracing = startTracing({ spanProcessors: [collector] });

/* eslint-disable @typescript-eslint/no-require-imports */
const { backends } = require("../support/backends") as typeof BackendsModule;
const { activeLesson } = require("../support/lesson") as typeof LessonModule;
const { startTestServer } = require("../support/test-server") as typeof TestServerModule;
/* eslint-enable @typescript-eslint/no-require-imports */

after(() => tracing.shutdown());

const hex = (bytes: number) => randomBytes(bytes).toString("hex");

/** A caller's span: its ids, and the `traceparent` naming it (sampled). */
function callerSpan() {
  const traceId = hex(16);
  const spanId = hex(8);
  return { traceId, spanId, traceparent: `00-${traceId}-${spanId}-01` };
}

const parentId = (span: ReadableSpan) => span.parentSpanContext?.spanId;

/** The span ids from `span` up through its parents in `spans` to the first id with no finished span (the caller's, when remote). */
function ancestry(span: ReadableSpan, spans: ReadableSpan[]): string[] {
  const chain: string[] = [];
  for (let id = parentId(span); id;) {
    chain.push(id);
    const parent = spans.find((s) => s.spanContext().spanId === id);
    id = parent && parentId(parent);
  }
  return chain;
}

const APPLY = `mutation ApplyBoardEvents($s: ID!, $events: [BoardEventInput!]!) {
  applyBoardEvents(sessionId: $s, events: $events) { version accepted { seq } }
}`;
const EVENTS = `subscription BoardEvents($s: ID!, $after: Int) { boardEvents(sessionId: $s, afterSeq: $after) { seq clientOpId } }`;
const LAST_SEQ = `query($s: ID!) { session(id: $s) { board { lastSeq } } }`;
const stroke = (id: string) => ({ clientOpId: `op-${id}`, type: "STROKE", baseVersion: 0, data: { id, points: [[0, 0]], color: "#000" } });

for (const backend of backends) {
  const setups = [
    { instances: 1, skip: backend.skip },
    { instances: 2, skip: backend.name === "embedded" ? "one process on the embedded database" : backend.skip },
  ];
  for (const { instances, skip } of setups) {
    describe(`tracing [${backend.name}, ${instances} instance${instances > 1 ? "s" : ""}]`, { skip }, () => {
      /** Takes the traced writes. */
      let server: TestServer;
      /** Serves the subscription: `server` itself, or a second instance sharing its database and Redis. */
      let reader: TestServer;
      let lesson: Awaited<ReturnType<typeof activeLesson>>;

      // Each test reads the spans finished since it began.
      beforeEach(() => collector.exporter.reset());
      before(async () => {
        server = await startTestServer(backend);
        reader = instances > 1 ? await startTestServer(backend, { share: server }) : server;
        lesson = await activeLesson(server, 2);
      });
      after(async () => {
        if (reader !== server) await reader?.stop();
        await server?.stop();
      });

      it("traces one applyBoardEvents over HTTP from the caller's traceparent down to its statements and publish; the delivery links to the publish", async () => {
        const { tutor, students, sessionId } = lesson;
        const after = (await reader.gql(LAST_SEQ, { s: sessionId }, students[0].token)).body.data.session.board.lastSeq;
        const frames = reader.wsClient(students[0].token).iterate<any>({ query: EVENTS, variables: { s: sessionId, after } });
        // A first stroke received (live or read back): the subscriber is then in its instance's
        // hub, which delivers the traced one below.
        const warmUp = `warm-${hex(4)}`;
        assert.ok((await server.gql(APPLY, { s: sessionId, events: [stroke(warmUp)] }, tutor.token)).body.data);
        assert.equal((await frames.next()).value.data.boardEvents.clientOpId, `op-${warmUp}`);

        const caller = callerSpan();
        const id = `traced-${hex(4)}`;
        const res = await fetch(server.graphqlUrl, {
          method: "POST",
          headers: { "content-type": "application/json", authorization: `Bearer ${tutor.token}`, traceparent: caller.traceparent },
          body: JSON.stringify({ query: APPLY, variables: { s: sessionId, events: [stroke(id)] }, operationName: "ApplyBoardEvents" }),
        });
        const body = (await res.json()) as any;
        assert.ok(body.data, JSON.stringify(body));
        const frame = (await frames.next()).value.data.boardEvents;
        assert.equal(frame.clientOpId, `op-${id}`);

        const inTrace = (s: ReadableSpan) => s.spanContext().traceId === caller.traceId;
        const httpSpan = await collector.waitFor("POST /graphql", (s) => inTrace(s) && s.kind === SpanKind.SERVER);
        assert.equal(httpSpan.name, "POST /graphql");
        assert.equal(parentId(httpSpan), caller.spanId, "the HTTP span is the caller's span's child");
        const operation = await collector.waitFor("graphql.mutation ApplyBoardEvents", (s) => inTrace(s) && s.name === "graphql.mutation ApplyBoardEvents");
        assert.equal(parentId(operation), httpSpan.spanContext().spanId);
        assert.equal(operation.attributes["graphql.operation.type"], "mutation");
        assert.equal(operation.attributes["graphql.operation.name"], "ApplyBoardEvents");
        assert.equal(operation.attributes.outcome, "ok");
        const publish = await collector.waitFor("pubsub.publish timeline", (s) => inTrace(s) && s.name === "pubsub.publish timeline");
        assert.equal(publish.kind, SpanKind.PRODUCER);

        const spans = collector.spans;
        const statements = spans.filter((s) => inTrace(s) && s.attributes["db.system.name"] === "postgresql");
        assert.ok(statements.length > 0, `statement spans in the trace: ${spans.filter(inTrace).map((s) => s.name)}`);
        assert.ok(
          statements.some((s) => /INSERT INTO "?session_events/i.test(String(s.attributes["db.query.text"]))),
          `the events' INSERT: ${statements.map((s) => s.attributes["db.query.text"])}`,
        );
        for (const span of [operation, publish, ...statements]) {
          const chain = ancestry(span, spans);
          assert.ok(chain.includes(operation.spanContext().spanId) || span === operation, `${span.name} is under the operation`);
          assert.equal(chain[chain.length - 1], caller.spanId, `${span.name}'s parents lead to the caller's span`);
        }

        // The subscriber's instance: one delivery span, in a trace of its own, LINKED to the publish.
        const delivery = await collector.waitFor("pubsub.deliver timeline", (s) =>
          s.links.some((link) => link.context.spanId === publish.spanContext().spanId && link.context.traceId === caller.traceId),
        );
        assert.equal(delivery.name, "pubsub.deliver timeline");
        assert.equal(delivery.kind, SpanKind.CONSUMER);
        assert.notEqual(delivery.spanContext().traceId, caller.traceId, "a delivery is linked to the publish, not its child");
        assert.equal(parentId(delivery), undefined);
        const deliveries = spans.filter((s) => s.links.some((link) => link.context.spanId === publish.spanContext().spanId));
        assert.equal(deliveries.length, 1, "one delivery span per instance that heard it");
      });

      it("honours connectionParams.traceparent for operations over WebSocket, and an operation's own extensions.traceparent", async () => {
        const { students, sessionId } = lesson;
        const connection = callerSpan();
        const client = reader.wsClient(undefined, {
          connectionParams: { authorization: `Bearer ${students[0].token}`, traceparent: connection.traceparent },
        });
        const run = async (query: string, variables: Record<string, unknown>, extensions?: Record<string, unknown>) => {
          for await (const result of client.iterate<any>({ query, variables, extensions })) return result;
        };

        const me = await run(`query Me { me { id } }`, {});
        assert.equal(me?.data?.me?.id, students[0].id);
        const query = await collector.waitFor("graphql.query Me", (s) => s.spanContext().traceId === connection.traceId && s.name === "graphql.query Me");
        assert.equal(parentId(query), connection.spanId);
        assert.equal(query.kind, SpanKind.SERVER);
        assert.equal(query.attributes.outcome, "ok");
        const read = collector.spans.find((s) => parentId(s) === query.spanContext().spanId && s.attributes["db.system.name"] === "postgresql");
        assert.ok(read, "the query's statements are its children");

        // A refused operation: its outcome carries the public code.
        await run(`mutation Gone($s: ID!) { joinSession(id: $s) { participant { id } } }`, { s: "00000000-0000-4000-8000-000000000000" });
        const refused = await collector.waitFor(
          "graphql.mutation Gone",
          (s) => s.spanContext().traceId === connection.traceId && s.name === "graphql.mutation Gone",
        );
        assert.equal(refused.attributes.outcome, "error");
        assert.equal(refused.attributes["error.type"], "NOT_FOUND");

        // A cursor move takes the socket's direct path; extensions.traceparent names its own parent.
        const own = callerSpan();
        const moved = await run(`mutation Move($s: ID!) { moveCursor(sessionId: $s, x: 1, y: 2) }`, { s: sessionId }, { traceparent: own.traceparent });
        assert.equal(moved?.data?.moveCursor, true);
        const move = await collector.waitFor("graphql.mutation Move", (s) => s.spanContext().traceId === own.traceId && s.name === "graphql.mutation Move");
        assert.equal(parentId(move), own.spanId);

        // A subscription's span ends once it is established.
        const stream = client.iterate<any>({ query: EVENTS, variables: { s: sessionId } });
        const subscribed = await collector.waitFor(
          "graphql.subscription BoardEvents",
          (s) => s.spanContext().traceId === connection.traceId && s.name === "graphql.subscription BoardEvents",
        );
        assert.equal(subscribed.attributes.outcome, "ok");
        await stream.return?.();
      });

      it("links the presence delivery of a participant's arrival to its publish, under the subscribing operation", async () => {
        const { tutor, students, sessionId } = lesson;
        const presence = reader.wsClient(tutor.token).iterate<any>({
          query: `subscription($s: ID!) { presence(sessionId: $s) { kind user { id } } }`,
          variables: { s: sessionId },
        });
        assert.equal((await presence.next()).value.data.presence.kind, "STATUS"); // the presence hub is listening
        const caller = callerSpan();
        const arriving = students[1];
        const client = reader.wsClient(undefined, { connectionParams: { authorization: `Bearer ${arriving.token}`, traceparent: caller.traceparent } });
        const stream = client.iterate<any>({ query: EVENTS, variables: { s: sessionId } });
        for (;;) {
          const frame = (await presence.next()).value.data.presence;
          if (frame.kind === "JOINED" && frame.user.id === arriving.id) break;
        }
        const publish = await collector.waitFor(
          "pubsub.publish presence",
          (s) => s.spanContext().traceId === caller.traceId && s.name === "pubsub.publish presence",
        );
        const subscribing = await collector.waitFor(
          "graphql.subscription BoardEvents",
          (s) => s.spanContext().traceId === caller.traceId && s.name === "graphql.subscription BoardEvents",
        );
        assert.equal(parentId(publish), subscribing.spanContext().spanId);
        const delivery = await collector.waitFor("pubsub.deliver presence", (s) =>
          s.links.some((link) => link.context.spanId === publish.spanContext().spanId),
        );
        assert.equal(delivery.name, "pubsub.deliver presence");
        assert.notEqual(delivery.spanContext().traceId, caller.traceId);
        await stream.return?.();
        await presence.return?.();
      });

      it("traces each job run as a span of its own, with its statements under it", async () => {
        await server.app.jobs.runNow("expire-sessions");
        const run = await collector.waitFor("job expire-sessions", (s) => s.name === "job expire-sessions");
        assert.equal(run.attributes.outcome, "ok");
        assert.equal(run.attributes["job.trigger"], "manual");
        assert.equal(parentId(run), undefined);
        assert.ok(collector.spans.some((s) => parentId(s) === run.spanContext().spanId && s.attributes["db.system.name"] === "postgresql"));
      });
    });
  }
}

describe("slow resolvers", () => {
  it("get a span, made after the fact with their real start, and fast ones none", async () => {
    const { buildSchema, graphql } = await import("graphql");
    const schema = buildSchema(`type Query { fast: Int slow: Int }`);
    const fields = schema.getQueryType()!.getFields();
    fields.fast.resolve = () => 1;
    fields.slow.resolve = () => new Promise((resolve) => setTimeout(resolve, 15, 2));
    traceSlowResolvers(schema, 10);
    const parent = trace.getTracer("test").startSpan("operation");
    const before = performance.timeOrigin + performance.now();
    const result = await withSpan(parent, () => graphql({ schema, source: "{ fast slow }" }));
    parent.end();
    assert.deepEqual({ ...result.data }, { fast: 1, slow: 2 });
    const slow = await collector.waitFor("graphql.resolve Query.slow", (s) => s.name === "graphql.resolve Query.slow");
    assert.equal(parentId(slow), parent.spanContext().spanId);
    assert.equal(slow.attributes["graphql.field.path"], "slow");
    const startMs = slow.startTime[0] * 1000 + slow.startTime[1] / 1e6;
    const durationMs = slow.duration[0] * 1000 + slow.duration[1] / 1e6;
    assert.ok(startMs >= before - 5 && durationMs >= 10, `started ${startMs - before} ms after the operation, took ${durationMs} ms`);
    assert.ok(!collector.spans.some((s) => s.name === "graphql.resolve Query.fast"));
  });
});

describe("work outliving its operation", () => {
  it("is not traced: a span under an ended span of this process records nothing; one under a caller's remote span does", () => {
    const tracer = trace.getTracer("test");
    // What a hub's heartbeat, opened by a subscription long finished, would start.
    const operation = tracer.startSpan("operation");
    operation.end();
    const late = withSpan(operation, () => tracer.startSpan("late statement"));
    assert.equal(late.isRecording(), false);
    late.end();
    const caller = callerSpan();
    const child = tracer.startSpan("child", {}, extractParent({ traceparent: caller.traceparent }));
    assert.equal(child.isRecording(), true);
    assert.equal(child.spanContext().traceId, caller.traceId);
    child.end();
  });
});
