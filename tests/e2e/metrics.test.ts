import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { backends } from "../support/backends";
import { startTestServer, type TestServer } from "../support/test-server";

const TOKEN = "metrics-token-0123456789abcdef";

/** The exposition format prom-client answers (text, version 0.0.4). */
function assertPrometheusText(res: Response, body: string): void {
  assert.equal(res.status, 200);
  assert.match(res.headers.get("content-type") ?? "", /^text\/plain; version=0\.0\.4/);
  assert.equal(res.headers.get("cache-control"), "no-store");
  // The live-delivery counter (issue 10) and the process metrics of prom-client's defaults.
  assert.match(body, /^# TYPE realtime_executions_total counter$/m);
  assert.match(body, /^realtime_executions_total \d+$/m);
  assert.match(body, /^process_cpu_user_seconds_total \d/m);
  assert.match(body, /^process_resident_memory_bytes \d/m);
  assert.match(body, /^nodejs_heap_size_used_bytes \d/m);
}

for (const backend of backends) {
  describe(`GET /metrics [${backend.name}]`, { skip: backend.skip }, () => {
    describe("without METRICS_TOKEN", () => {
      let server: TestServer;
      before(async () => {
        server = await startTestServer(backend);
      });
      after(() => server?.stop());

      it("answers the Prometheus text with the realtime counters and process metrics, to anyone", async () => {
        const res = await fetch(`${server.url}/metrics`);
        assertPrometheusText(res, await res.text());
      });

      it("counts on the registry of this instance", async () => {
        server.app.services.metrics.liveExecutions.inc(3);
        const res = await fetch(`${server.url}/metrics`);
        const body = await res.text();
        assert.match(body, /^realtime_executions_total 3$/m);
      });
    });

    describe("with METRICS_TOKEN set", () => {
      let server: TestServer;
      before(async () => {
        server = await startTestServer(backend, { env: { METRICS_TOKEN: TOKEN } });
      });
      after(() => server?.stop());

      const metrics = (authorization?: string) => fetch(`${server.url}/metrics`, { headers: authorization === undefined ? {} : { authorization } });

      for (const [what, authorization] of [
        ["no Authorization header", undefined],
        ["a wrong token", `Bearer ${TOKEN.slice(0, -1)}x`],
        ["a longer token", `Bearer ${TOKEN}0`],
        ["the token without the Bearer scheme", TOKEN],
        ["the right token under the Basic scheme", `Basic ${TOKEN}`],
      ] as const) {
        it(`refuses ${what} with 401 and no metrics`, async () => {
          const res = await metrics(authorization);
          assert.equal(res.status, 401);
          assert.match(res.headers.get("www-authenticate") ?? "", /^Bearer/);
          const body = await res.text();
          assert.doesNotMatch(body, /realtime_executions_total|process_cpu/);
          assert.deepEqual(JSON.parse(body).errors[0].extensions, { code: "UNAUTHENTICATED" });
        });
      }

      it("answers the metrics to the right token", async () => {
        const res = await metrics(`Bearer ${TOKEN}`);
        assertPrometheusText(res, await res.text());
      });
    });
  });
}
