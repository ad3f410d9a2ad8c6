/**
 * Tracing off, the default (no OTEL_* variable): nothing of the SDK is loaded, no provider is
 * registered, no module is patched, and a caller's traceparent changes nothing, on HTTP,
 * WebSocket and the bus alike. (This file's process never starts tracing.)
 */
import assert from "node:assert/strict";
import http from "node:http";
import { after, before, describe, it } from "node:test";
import { ProxyTracerProvider, trace } from "@opentelemetry/api";
import { tracingOn } from "../../src/infra/tracing";
import { topics } from "../../src/realtime/topics";
import { backends } from "../support/backends";
import { activeLesson } from "../support/lesson";
import { startTestServer, type TestServer } from "../support/test-server";

const CALLER = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
const APPLY = `mutation ApplyBoardEvents($s: ID!, $events: [BoardEventInput!]!) { applyBoardEvents(sessionId: $s, events: $events) { version } }`;

for (const backend of backends) {
  describe(`tracing off [${backend.name}]`, { skip: backend.skip }, () => {
    let server: TestServer;
    /** A second instance on the real backend, whose bus hears the first one's announcements. */
    let other: TestServer | undefined;

    before(async () => {
      server = await startTestServer(backend);
      if (backend.name === "real") other = await startTestServer(backend, { share: server });
    });
    after(async () => {
      await other?.stop();
      await server?.stop();
    });

    it("registers no provider, loads no SDK, patches nothing, and a caller's traceparent leaves no trace", async () => {
      const { tutor, students, sessionId } = await activeLesson(server, 1);
      const announcements = await other?.app.bus.subscribe(topics.sessionTimeline(sessionId));
      const client = server.wsClient(undefined, { connectionParams: { authorization: `Bearer ${students[0].token}`, traceparent: CALLER } });
      for await (const result of client.iterate<any>({ query: `query Me { me { id } }`, extensions: { traceparent: CALLER } })) {
        assert.equal(result.data.me.id, students[0].id);
        break;
      }
      const res = await fetch(server.graphqlUrl, {
        method: "POST",
        headers: { "content-type": "application/json", authorization: `Bearer ${tutor.token}`, traceparent: CALLER },
        body: JSON.stringify({
          query: APPLY,
          variables: { s: sessionId, events: [{ clientOpId: "op-off", type: "STROKE", baseVersion: 0, data: { id: "off", points: [[0, 0]] } }] },
        }),
      });
      assert.equal(res.status, 200);
      assert.ok(((await res.json()) as any).data.applyBoardEvents.version > 0);

      assert.equal(tracingOn(), false);
      // The API's global provider is still the proxy, delegating to the no-op one: every span is a no-op.
      const provider = trace.getTracerProvider();
      assert.ok(provider instanceof ProxyTracerProvider);
      assert.equal(provider.getDelegate().constructor.name, "NoopTracerProvider");
      const probe = trace.getTracer("probe").startSpan("probe");
      assert.equal(probe.isRecording(), false);
      assert.equal(probe.spanContext().traceId, "00000000000000000000000000000000");
      // Nothing of OpenTelemetry but its API was loaded (startTracing requires the SDK lazily).
      const loaded = Object.keys(require.cache).filter((file) => /[\\/]node_modules[\\/]@opentelemetry[\\/](?!api[\\/])/.test(file));
      assert.deepEqual(loaded, []);
      // No instrumentation wrapped the HTTP server.
      assert.equal((http.Server.prototype.emit as { __wrapped?: boolean }).__wrapped, undefined);
      // The bus carries no trace context.
      if (announcements) {
        const { value } = await announcements.next();
        assert.ok(value && "events" in value, JSON.stringify(value));
        assert.equal(value.events[0].clientOpId, "op-off");
        assert.equal("$trace" in value, false);
        await announcements.return?.();
      }
    });
  });
}
