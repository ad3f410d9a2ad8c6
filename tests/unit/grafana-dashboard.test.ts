import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { describe, it } from "node:test";
import { Metrics } from "../../src/infra/metrics";

const file = path.resolve(__dirname, "../../../ops/grafana/classroom-api.json");

interface Panel {
  id: number;
  type: string;
  title: string;
  gridPos: { h: number; w: number; x: number; y: number };
  datasource?: { uid: string };
  targets?: Array<{ expr: string; refId: string }>;
}

/** The metrics GET /metrics serves, the process's defaults included. */
function servedNames(): Set<string> {
  const metrics = new Metrics();
  return new Set(metrics.registry.getMetricsAsArray().map((m) => m.name));
}

describe("ops/grafana/classroom-api.json", () => {
  const dashboard = JSON.parse(fs.readFileSync(file, "utf8")) as { uid: string; title: string; panels: Panel[]; templating: { list: Array<{ name: string }> } };

  it("is a Grafana dashboard: uid, title, panels with unique ids on a 24-column grid, a Prometheus data source variable", () => {
    assert.equal(dashboard.uid, "classroom-api");
    assert.equal(dashboard.title, "Classroom API");
    const ids = dashboard.panels.map((p) => p.id);
    assert.equal(new Set(ids).size, ids.length);
    for (const panel of dashboard.panels) {
      assert.ok(panel.gridPos.x >= 0 && panel.gridPos.x + panel.gridPos.w <= 24, panel.title);
      if (panel.type === "row") continue;
      assert.equal(panel.datasource?.uid, "${datasource}", panel.title);
      assert.ok(panel.targets && panel.targets.length > 0, `${panel.title} has no query`);
      for (const target of panel.targets) assert.ok(target.expr && target.refId, panel.title);
    }
    assert.deepEqual(
      dashboard.templating.list.map((v) => v.name),
      ["datasource", "instance"],
    );
  });

  it("queries only metrics the API serves (telemetry_* comes from the telemetry ingest)", () => {
    const served = servedNames();
    const unknown: string[] = [];
    for (const panel of dashboard.panels) {
      for (const { expr } of panel.targets ?? []) {
        // Every query selects by instance, so each metric name stands right before a `{`.
        const names = [...expr.matchAll(/([a-z_][a-z0-9_]*)\{/g)].map((m) => m[1]);
        assert.ok(names.length > 0, `${panel.title}: ${expr}`);
        for (const name of names) {
          const family = name.replace(/_(bucket|sum|count)$/, "");
          if (!served.has(name) && !served.has(family) && !name.startsWith("telemetry_")) unknown.push(`${panel.title}: ${name}`);
        }
      }
    }
    assert.deepEqual(unknown, []);
  });

  it("shows every metric of seed 002 this system serves", () => {
    const queried = JSON.stringify(dashboard.panels);
    for (const name of [
      "realtime_connections",
      "webrtc_sessions_active",
      "webrtc_participants_total",
      "webrtc_signals_total",
      "delivery_retry_total",
      "presence_active_users",
      "presence_heartbeats_total",
      "board_operations_total",
      "board_operations_per_second",
      "sync_queue_depth",
      "push_subscriptions_active",
      "policy_evaluations_total",
      "token_operations_total",
    ]) {
      assert.ok(queried.includes(`${name}{`), name);
    }
  });
});
