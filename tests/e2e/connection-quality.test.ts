import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { assertError, ok } from "../support/assertions";
import { acrossInstances, backends } from "../support/backends";
import { activeLesson } from "../support/lesson";
import { startTestServer, startTwoInstances, type TestServer } from "../support/test-server";

// Connection quality history and signal counts in the lesson report (issue 18).

const MEDIA = `mutation($s: ID!, $q: String) { updateMediaState(sessionId: $s, input: { connectionQuality: $q }) { media { connectionQuality } } }`;
const SEND = `mutation($s: ID!, $input: SignalInput!) { sendSignal(sessionId: $s, input: $input) }`;
const REPORT = `query($s: ID!) { session(id: $s) { report { signalCountsByType eventCountsByType attendance { user { id } connectionQualitySeconds } } } }`;

for (const backend of backends) {
  describe(`connection quality history [${backend.name}]`, { skip: backend.skip }, () => {
    let server: TestServer;
    before(async () => {
      server = await startTestServer(backend);
    });
    after(() => server?.stop());

    const samples = async (sessionId: string, userId: string) =>
      (await server.app.db.query(`SELECT quality FROM connection_quality_samples WHERE session_id = $1 AND user_id = $2 ORDER BY at`, [sessionId, userId])).map(
        (r: { quality: string | null }) => r.quality,
      );

    it("keeps at most one quality change per 10 s per participant and reports the time at each level", async () => {
      const { tutor, students, sessionId } = await activeLesson(server, 1);
      const [ann] = students;
      const quality = async (q: string | null) => ok(await server.gql(MEDIA, { s: sessionId, q }, ann.token)).updateMediaState.media.connectionQuality;
      assert.equal(await quality("good"), "good");
      assert.equal(await quality("poor"), "poor"); // within 10 s: replaces the sample
      assert.deepEqual(await samples(sessionId, ann.id), ["poor"]);
      // As if 30 s had passed: the next change is a sample of its own.
      await server.app.db.query(`UPDATE connection_quality_samples SET at = at - interval '30 seconds' WHERE session_id = $1`, [sessionId]);
      assert.equal(await quality("good"), "good");
      assert.equal(await quality("good"), "good"); // no change, nothing recorded
      assert.deepEqual(await samples(sessionId, ann.id), ["poor", "good"]);
      ok(await server.gql(`mutation($s: ID!) { completeSession(id: $s) { status } }`, { s: sessionId }, tutor.token));
      // Placed exactly: poor 40 s, then good the last 20 s before the end.
      await server.app.db.query(
        `UPDATE connection_quality_samples c SET at = s.actual_end - CASE WHEN c.quality = 'poor' THEN interval '60 seconds' ELSE interval '20 seconds' END
           FROM classroom_sessions s WHERE s.id = c.session_id AND c.session_id = $1`,
        [sessionId],
      );
      const report = ok(await server.gql(REPORT, { s: sessionId }, tutor.token)).session.report;
      const byUser = new Map(report.attendance.map((a: any) => [a.user.id, a.connectionQualitySeconds]));
      assert.deepEqual(byUser.get(ann.id), { poor: 40, good: 20 });
      assert.deepEqual(byUser.get(tutor.id), {});
      // Quality changes are not timeline events.
      assert.equal(Object.keys(report.eventCountsByType).filter((t) => /QUALITY/.test(t)).length, 0);
    });

    it("refuses a quality over 32 characters, recording nothing", async () => {
      const { students, sessionId } = await activeLesson(server, 1);
      assertError(await server.gql(MEDIA, { s: sessionId, q: "x".repeat(33) }, students[0].token), "BAD_USER_INPUT");
      assert.deepEqual(await samples(sessionId, students[0].id), []);
    });

    it("counts relayed signals by type in the report, storing none of them", async () => {
      const { tutor, students, sessionId } = await activeLesson(server, 2);
      const [ann, bob] = students;
      const send = (input: Record<string, unknown>) => server.gql(SEND, { s: sessionId, input }, ann.token).then(ok);
      await send({ type: "OFFER", toUserId: bob.id, payload: { sdp: "v=0 offer" } });
      for (let i = 0; i < 3; i++)
        await send({ type: "ICE_CANDIDATE", toUserId: bob.id, payload: { candidate: `candidate:${i} 1 udp 2122260223 192.0.2.1 5000 typ host` } });
      const report = ok(await server.gql(REPORT, { s: sessionId }, tutor.token)).session.report;
      assert.deepEqual(report.signalCountsByType, { OFFER: 1, ICE_CANDIDATE: 3 });
      const stored = await server.app.db.query(`SELECT count(*)::int AS n FROM session_events WHERE session_id = $1 AND data::text LIKE '%192.0.2.1%'`, [
        sessionId,
      ]);
      assert.equal(stored[0].n, 0);
    });
  });

  describe(`signal counts across instances [${backend.name}]`, { skip: acrossInstances(backend) }, () => {
    let a: TestServer;
    let b: TestServer;
    startTwoInstances(backend, (first, second) => {
      a = first;
      b = second;
    });

    it("adds up signals relayed by either instance", async () => {
      const { tutor, students, sessionId } = await activeLesson(a, 2);
      const [ann, bob] = students;
      for (const server of [a, b, b])
        ok(await server.gql(SEND, { s: sessionId, input: { type: "ICE_CANDIDATE", toUserId: bob.id, payload: { c: 1 } } }, ann.token));
      ok(await b.gql(MEDIA, { s: sessionId, q: "fair" }, ann.token));
      const report = ok(await a.gql(REPORT, { s: sessionId }, tutor.token)).session.report;
      assert.deepEqual(report.signalCountsByType, { ICE_CANDIDATE: 3 });
    });
  });
}
