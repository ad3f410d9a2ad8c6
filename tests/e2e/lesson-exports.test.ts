import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { ok } from "../support/assertions";
import { acrossInstances, backends } from "../support/backends";
import type { User } from "../support/lesson";
import { scriptedLessons } from "../support/scripted-lessons";
import { registerUser, startTestServer, startTwoInstances, type TestServer } from "../support/test-server";

// Lesson exports and a user's own data (issue 18): GET /export/sessions/:id/timeline|report, GET /export/me.

const T = { timeout: 120_000 };
const TIMELINE = `query($s: ID!, $after: String) {
  session(id: $s) { timeline(first: 100, after: $after) { pageInfo { hasNextPage endCursor } edges { node { id seq type timestampMs user { id } data createdAt } } } }
}`;

/** A full garbage collection, so heap samples measure what is live, not garbage not yet collected. */
setFlagsFromString("--expose-gc");
const gc = runInNewContext("gc") as () => void;

/** The V8 heap and the buffers outside it (a response queued in socket buffers would be there). */
const liveBytes = () => {
  const { heapUsed, arrayBuffers } = process.memoryUsage();
  return heapUsed + arrayBuffers;
};

/** A minimal RFC 4180 reader: rows of fields, quotes honoured. */
function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let field = "";
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (quoted && c === '"' && text[i + 1] === '"') {
      field += '"';
      i++;
    } else if (c === '"') {
      quoted = !quoted;
    } else if (!quoted && c === ",") {
      row.push(field);
      field = "";
    } else if (!quoted && c === "\r" && text[i + 1] === "\n") {
      row.push(field);
      rows.push(row);
      row = [];
      field = "";
      i++;
    } else {
      field += c;
    }
  }
  return rows;
}

for (const backend of backends) {
  describe(`lesson and personal exports [${backend.name}]`, { skip: backend.skip }, () => {
    let server: TestServer;
    let script: Awaited<ReturnType<typeof scriptedLessons>>;
    let stranger: User;
    const get = (path: string, user?: User, headers: Record<string, string> = {}) =>
      fetch(`${server.url}${path}`, { headers: { ...(user ? { authorization: `Bearer ${user.token}` } : {}), ...headers } });

    /** The session's whole timeline through GraphQL, as exports write each event. */
    const paged = async (sessionId: string, viewer: User) => {
      const events: any[] = [];
      let cursor: string | null = null;
      for (;;) {
        const page: any = ok(await server.gql(TIMELINE, { s: sessionId, after: cursor }, viewer.token)).session.timeline;
        for (const { node } of page.edges)
          events.push({
            id: node.id,
            seq: node.seq,
            type: node.type,
            timestampMs: node.timestampMs,
            userId: node.user?.id ?? null,
            data: node.data,
            createdAt: node.createdAt,
          });
        if (!page.pageInfo.hasNextPage) return events;
        cursor = page.pageInfo.endCursor;
      }
    };

    before(async () => {
      server = await startTestServer(backend);
      script = await scriptedLessons(server);
      stranger = await registerUser(server, "STUDENT");
    });
    after(() => server?.stop());

    it("exports a lesson's timeline as NDJSON and as CSV, equal to its timeline paged through GraphQL, gzip when accepted", T, async () => {
      const { tutor, lessons } = script;
      for (const sessionId of lessons) {
        const expected = await paged(sessionId, tutor);
        assert.ok(expected.length > 5);
        const res = await get(`/export/sessions/${sessionId}/timeline`, tutor);
        assert.equal(res.status, 200);
        assert.match(res.headers.get("content-type") ?? "", /^application\/x-ndjson/);
        assert.match(res.headers.get("content-disposition") ?? "", /attachment; filename="timeline-.*\.ndjson"/);
        const lines = (await res.text()).split("\n");
        assert.equal(lines.pop(), "", "every line ends with a newline");
        assert.deepEqual(
          lines.map((line) => JSON.parse(line)),
          expected,
        );

        const csv = await get(`/export/sessions/${sessionId}/timeline`, tutor, { accept: "text/csv" });
        assert.equal(csv.status, 200);
        assert.match(csv.headers.get("content-type") ?? "", /^text\/csv/);
        const [header, ...rows] = parseCsv(await csv.text());
        assert.deepEqual(header, ["id", "seq", "type", "timestampMs", "userId", "createdAt", "data"]);
        assert.deepEqual(
          rows.map(([id, seq, type, timestampMs, userId, createdAt, data]) => ({
            id,
            seq: Number(seq),
            type,
            timestampMs: Number(timestampMs),
            userId: userId || null,
            data: JSON.parse(data),
            createdAt,
          })),
          expected,
        );

        // fetch inflates a gzip body itself: the header says it was compressed.
        const gzipped = await get(`/export/sessions/${sessionId}/timeline`, tutor, { "accept-encoding": "gzip" });
        assert.equal(gzipped.headers.get("content-encoding"), "gzip");
        assert.deepEqual(
          (await gzipped.text())
            .trim()
            .split("\n")
            .map((line) => JSON.parse(line)),
          expected,
        );
      }
    });

    it("exports the lesson report as JSON, the same as the GraphQL report", T, async () => {
      const { tutor, ann, lessons } = script;
      const res = await get(`/export/sessions/${lessons[0]}/report`, tutor);
      assert.equal(res.status, 200);
      const report: any = await res.json();
      const graphql = ok(
        await server.gql(
          `query($s: ID!) { session(id: $s) { report { durationSeconds eventCountsByType attendance { user { id } role joinCount boardEventCount chatMessageCount } } } }`,
          { s: lessons[0] },
          tutor.token,
        ),
      ).session.report;
      assert.equal(report.session.id, lessons[0]);
      assert.equal(report.durationSeconds, graphql.durationSeconds);
      assert.deepEqual(report.eventCountsByType, graphql.eventCountsByType);
      assert.deepEqual(
        report.attendance.map((a: any) => ({
          user: { id: a.userId },
          role: a.role,
          joinCount: a.joinCount,
          boardEventCount: a.boardEventCount,
          chatMessageCount: a.chatMessageCount,
        })),
        graphql.attendance,
      );
      assert.equal(report.attendance.find((a: any) => a.userId === ann.id).boardEventCount, 2);
    });

    it("refuses exports as the report is refused: 401 without a token, 404 without access, 403 for a participant", T, async () => {
      const { ann, lessons } = script;
      for (const kind of ["timeline", "report"]) {
        const path = `/export/sessions/${lessons[0]}/${kind}`;
        assert.equal((await get(path)).status, 401);
        assert.equal((await get(path, stranger)).status, 404);
        const forbidden = await get(path, ann);
        assert.equal(forbidden.status, 403);
        assert.equal(((await forbidden.json()) as any).errors[0].extensions.code, "FORBIDDEN");
        assert.equal((await get(`/export/sessions/not-a-session/${kind}`, ann)).status, 404);
      }
    });

    it("streams a 50 000-event timeline in bounded memory", T, async (t) => {
      const { tutor } = script;
      const sessionId = ok(await server.gql(`mutation { createSession(input: { type: GROUP }) { id } }`, {}, tutor.token)).createSession.id;
      // 50 000 events of about 1 KiB each, written by SQL to keep the setup fast: some 55 MB of NDJSON.
      await server.app.db.query(
        `INSERT INTO session_events (session_id, seq, timestamp_ms, type, user_id, data)
         SELECT $1, s.last_seq + g, g * 10, 'CHAT_MESSAGE', $2, jsonb_build_object('text', repeat('x', 1000), 'n', g)
           FROM classroom_sessions s, generate_series(1, 50000) g WHERE s.id = $1`,
        [sessionId, tutor.id],
      );
      await server.app.db.query(`UPDATE classroom_sessions SET last_seq = last_seq + 50000 WHERE id = $1`, [sessionId]);
      gc();
      const baseline = liveBytes();
      let peak = baseline;
      let bytes = 0;
      let lines = 0;
      let last = "";
      let sampledAt = 0;
      // The insert may outlast the server's keep-alive timeout: a pooled connection it closed
      // meanwhile can be reset as fetch reuses it, before any answer. A GET is safe to retry.
      const res = await get(`/export/sessions/${sessionId}/timeline`, tutor).catch(() => get(`/export/sessions/${sessionId}/timeline`, tutor));
      assert.equal(res.status, 200);
      const decoder = new TextDecoder();
      for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
        bytes += chunk.byteLength;
        const text = last + decoder.decode(chunk, { stream: true });
        const parts = text.split("\n");
        last = parts.pop() ?? "";
        lines += parts.length;
        // What the server (and this reader) hold live, every 2 MB read: the stream paused meanwhile.
        if (bytes - sampledAt > 2 * 2 ** 20) {
          sampledAt = bytes;
          gc();
          peak = Math.max(peak, liveBytes());
        }
      }
      assert.equal(last, "");
      assert.equal(lines, 50_001); // SESSION_CREATED and the 50 000
      const growthMb = (peak - baseline) / 2 ** 20;
      assert.ok(bytes > 50 * 2 ** 20, `${bytes} bytes`);
      // The whole export held at once would take more than its 55 MB; pages of 1000 events take a few.
      t.diagnostic(`live heap grew at most ${growthMb.toFixed(1)} MB while streaming ${(bytes / 2 ** 20).toFixed(1)} MB`);
      assert.ok(growthMb < 24, `heap grew ${growthMb.toFixed(1)} MB while streaming ${(bytes / 2 ** 20).toFixed(1)} MB`);
    });

    it("exports a user's own data: profile, sessions with role and attendance, their chat messages and nobody else's", T, async () => {
      const { ann, ben, lessons, liveLesson } = script;
      await server.app.db.query(
        `INSERT INTO push_subscriptions (user_id, endpoint, p256dh, auth) VALUES ($1, 'https://push.example.test/ann', 'key', 'auth')`,
        [ann.id],
      );
      const res = await get(`/export/me`, ann, { "accept-encoding": "gzip" });
      assert.equal(res.status, 200);
      assert.equal(res.headers.get("content-encoding"), "gzip");
      const data: any = await res.json();
      assert.deepEqual(data.profile.id, ann.id);
      assert.equal(data.profile.email, ann.email);
      assert.deepEqual(data.sessions.map((s: any) => [s.sessionId, s.role, s.joinCount > 0]).sort(), lessons.map((id) => [id, "STUDENT", true]).sort());
      assert.deepEqual(
        data.chatMessages.map((m: any) => [m.sessionId, m.data.text]),
        [[lessons[0], "ann says hello"]],
      );
      assert.deepEqual(data.soloSnapshots, []);
      assert.deepEqual(
        data.pushSubscriptions.map((p: any) => p.endpoint),
        ["https://push.example.test/ann"],
      );

      const bens: any = await (await get(`/export/me`, ben)).json();
      assert.deepEqual(
        bens.chatMessages.map((m: any) => [m.sessionId, m.data.text]).sort(),
        [
          [lessons[0], "ben says hello"],
          [liveLesson, "ben in a live lesson"],
        ].sort(),
      );
    });

    it("allows one personal export a minute (429 with Retry-After), needs an access token (401)", T, async () => {
      const { cal } = script;
      assert.equal((await get(`/export/me`)).status, 401);
      assert.equal((await get(`/export/me`, cal)).status, 200);
      const again = await get(`/export/me`, cal);
      assert.equal(again.status, 429);
      const retryAfter = Number(again.headers.get("retry-after"));
      assert.ok(retryAfter >= 1 && retryAfter <= 60, `Retry-After ${retryAfter}`);
      assert.equal(((await again.json()) as any).errors[0].extensions.code, "RATE_LIMITED");
    });
  });

  describe(`personal export limit across instances [${backend.name}]`, { skip: acrossInstances(backend) }, () => {
    let a: TestServer;
    let b: TestServer;
    startTwoInstances(backend, (first, second) => {
      a = first;
      b = second;
    });

    it("allows one personal export a minute whichever instance serves it", T, async () => {
      const user = await registerUser(a, "STUDENT");
      const get = (server: TestServer) => fetch(`${server.url}/export/me`, { headers: { authorization: `Bearer ${user.token}` } });
      const first = await get(a);
      assert.equal(first.status, 200);
      assert.equal(((await first.json()) as any).profile.id, user.id);
      const second = await get(b);
      assert.equal(second.status, 429);
      assert.ok(Number(second.headers.get("retry-after")) >= 1);
    });
  });
}
