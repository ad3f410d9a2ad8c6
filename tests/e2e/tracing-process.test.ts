/**
 * Tracing in the real server process (`node dist/src/main.js`) as a deployment turns it on:
 * OTEL_EXPORTER_OTLP_ENDPOINT pointing at a collector (here a stub answering OTLP/HTTP JSON on
 * a free port). Shows that src/main.ts starts the SDK before the server's modules load (the
 * HTTP server span exists, under the caller's traceparent) and that a graceful stop flushes
 * the spans still buffered (the batch delay is far longer than the test).
 */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { once } from "node:events";
import fs from "node:fs";
import http from "node:http";
import type { AddressInfo } from "node:net";
import os from "node:os";
import path from "node:path";
import { describe, it } from "node:test";

const root = path.resolve(__dirname, "../../..");

interface OtlpSpan {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  kind: number;
  attributes?: Array<{ key: string; value: { stringValue?: string } }>;
}

/** An OTLP/HTTP JSON collector on a free port of 127.0.0.1: every span it received, with its resource's service.name. */
async function startCollector() {
  const received: Array<OtlpSpan & { service?: string }> = [];
  const server = http.createServer((req, res) => {
    let body = "";
    req.setEncoding("utf8").on("data", (chunk) => (body += chunk));
    req.on("end", () => {
      if (req.url === "/v1/traces") {
        const message = JSON.parse(body) as {
          resourceSpans: Array<{ resource: { attributes: OtlpSpan["attributes"] }; scopeSpans: Array<{ spans: OtlpSpan[] }> }>;
        };
        for (const { resource, scopeSpans } of message.resourceSpans) {
          const service = resource.attributes?.find((a) => a.key === "service.name")?.value.stringValue;
          for (const { spans } of scopeSpans) for (const span of spans) received.push({ ...span, service });
        }
      }
      res.writeHead(200, { "content-type": "application/json" }).end("{}");
    });
  });
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, received, close: () => new Promise((r) => server.close(r)) };
}

const attribute = (span: OtlpSpan, key: string) => span.attributes?.find((a) => a.key === key)?.value.stringValue;

describe("the server process with tracing on [embedded]", () => {
  it("exports the HTTP, operation and statement spans of a request under the caller's trace, flushed on SIGTERM", async () => {
    const collector = await startCollector();
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "classroom-tracing-"));
    const child = spawn(process.execPath, [path.join(root, "dist/src/main.js")], {
      env: {
        ...process.env,
        PORT: "0",
        HOST: "127.0.0.1",
        LOG_LEVEL: "warn",
        DATA_DIR: dataDir,
        JOBS_ENABLED: "false",
        OTEL_EXPORTER_OTLP_ENDPOINT: collector.url,
        OTEL_EXPORTER_OTLP_PROTOCOL: "http/json",
        // Nothing is exported on a timer during the test: what arrives was flushed by the stop.
        OTEL_BSP_SCHEDULE_DELAY: "600000",
      },
      stdio: ["ignore", "pipe", "pipe"],
    });
    const exit = once(child, "exit");
    try {
      let output = "";
      const url = await new Promise<string>((resolve, reject) => {
        child.stdout!.on("data", (chunk: Buffer) => {
          output += chunk;
          const match = /ready at (http:\/\/\S+)\/graphql/.exec(output);
          if (match) resolve(match[1].replace("localhost", "127.0.0.1"));
        });
        child.stderr!.on("data", (chunk: Buffer) => (output += chunk));
        void exit.then(([code]) => reject(new Error(`server exited with ${code} before listening:\n${output}`)));
      });
      const traceId = "5b8efff798038103d269b633813fc60c";
      const callerSpanId = "eee19b7ec3c1b174";
      const res = await fetch(`${url}/graphql`, {
        method: "POST",
        headers: { "content-type": "application/json", traceparent: `00-${traceId}-${callerSpanId}-01` },
        body: JSON.stringify({
          query: `mutation Register { register(input: { email: "t@example.test", password: "long enough password", displayName: "T", role: STUDENT }) { accessToken } }`,
        }),
      });
      assert.ok(((await res.json()) as any).data.register.accessToken);
      assert.equal(collector.received.length, 0, "nothing exported before the stop");

      child.kill("SIGTERM");
      assert.deepEqual(await exit, [0, null]);
      const spans = collector.received.filter((s) => s.traceId === traceId);
      const httpSpan = spans.find((s) => s.name === "POST /graphql");
      assert.ok(httpSpan, `spans received: ${collector.received.map((s) => s.name)}`);
      assert.equal(httpSpan.parentSpanId, callerSpanId);
      assert.equal(httpSpan.service, "classroom-api");
      const operation = spans.find((s) => s.name === "graphql.mutation Register");
      assert.ok(operation);
      assert.equal(operation.parentSpanId, httpSpan.spanId);
      assert.equal(attribute(operation, "outcome"), "ok");
      const insert = spans.find((s) => s.name === "pglite.query:INSERT" && s.parentSpanId === operation.spanId);
      assert.ok(insert, `the user's INSERT under the operation: ${spans.map((s) => s.name)}`);
    } finally {
      if (child.exitCode === null) child.kill("SIGKILL");
      await collector.close();
      fs.rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
