import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { backends } from "../support/backends";
import { startTestServer, type TestServer } from "../support/test-server";

/** W3 retention: the telemetry-retention job on a real database (migrations applied), both backends. */

/** Inserts `count` events of `type` received `daysAgo` days ago (a second apart, older ones further back). */
async function insertEvents(server: TestServer, type: string, count: number, daysAgo: number): Promise<void> {
  await server.app.db.query(
    `INSERT INTO telemetry_events (received_at, type, event)
     SELECT date_trunc('milliseconds', now()) - make_interval(days => $3) - make_interval(secs => g), $1, jsonb_build_object('g', g)
     FROM generate_series(1, $2::int) AS g`,
    [type, count, daysAgo],
  );
}

async function countsByType(server: TestServer): Promise<Record<string, number>> {
  const rows: Array<{ type: string; n: string }> = await server.app.db.query(`SELECT type, count(*) AS n FROM telemetry_events GROUP BY type`);
  return Object.fromEntries(rows.map((r) => [r.type, Number(r.n)]));
}

for (const backend of backends) {
  describe(`telemetry-retention job [${backend.name}]`, { skip: backend.skip }, () => {
    let server: TestServer;
    before(async () => {
      server = await startTestServer(backend);
    });
    after(() => server?.stop());

    it(
      "deletes the events older than TELEMETRY_RETENTION_DAYS (14), in batches, keeps the newer ones; a second run deletes nothing",
      { timeout: 60_000 },
      async () => {
        await server.app.db.query(`DELETE FROM telemetry_events`);
        // More than two of the job's 5000-row batches.
        await insertEvents(server, "old", 12_001, 15);
        await insertEvents(server, "just-old", 2, 14);
        await insertEvents(server, "recent", 3, 13);
        const posted = await fetch(`${server.url}/api/v1/logs/telemetry`, { method: "POST", body: JSON.stringify({ type: "now" }) });
        assert.equal(posted.status, 204);
        await server.app.services.telemetry.flush();
        assert.deepEqual(await countsByType(server), { old: 12_001, "just-old": 2, recent: 3, now: 1 });

        assert.equal(await server.app.jobs.runNow("telemetry-retention"), "deleted 12003 telemetry events");
        assert.deepEqual(await countsByType(server), { recent: 3, now: 1 });
        assert.equal(await server.app.jobs.runNow("telemetry-retention"), "deleted 0 telemetry events");
        assert.deepEqual(await countsByType(server), { recent: 3, now: 1 });
      },
    );

    it("keeps what TELEMETRY_RETENTION_DAYS allows", async () => {
      const longer = await startTestServer(backend, { env: { TELEMETRY_RETENTION_DAYS: "30" } });
      try {
        await insertEvents(longer, "twenty-days", 2, 20);
        await insertEvents(longer, "forty-days", 1, 40);
        assert.equal(await longer.app.jobs.runNow("telemetry-retention"), "deleted 1 telemetry event");
        assert.deepEqual(await countsByType(longer), { "twenty-days": 2 });
      } finally {
        await longer.stop();
      }
    });
  });
}
