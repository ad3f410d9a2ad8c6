import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import type { Logger as TypeOrmLogger } from "typeorm";
import { assertError, codeOf, ok, until } from "../support/assertions";
import { backends } from "../support/backends";
import { activeLesson, type User } from "../support/lesson";
import { registerUser, startTestServer, type TestServer } from "../support/test-server";

const TIMELINE = `query($s: ID!, $first: Int, $after: String, $filter: TimelineFilter) {
  session(id: $s) {
    timeline(first: $first, after: $after, filter: $filter) {
      edges { cursor node { id seq type timestampMs user { id } data } }
      pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
      totalCount
    }
  }
}`;
const STATS = `query($s: ID!) { session(id: $s) { timelineStats { totalEvents countsByType firstEventMs lastEventMs } } }`;
const BUCKETS = `query($s: ID!, $size: SafeInt!) { session(id: $s) { timelineBuckets(bucketSizeMs: $size) { startMs endMs count countsByType } } }`;
const ACTIVITY = `query($s: ID!, $u: ID!) {
  session(id: $s) { userActivity(userId: $u) { user { id } eventCount countsByType firstEventMs lastEventMs activeTimeSeconds } }
}`;
const SUMMARY = `query($s: ID!) {
  session(id: $s) {
    totalDurationSeconds
    summary { session { id } durationSeconds participantCount boardEventCount snapshotCount finalBoard { version objectCount lastSeq } }
  }
}`;
const REPORT = `query($s: ID!, $size: SafeInt!) {
  session(id: $s) {
    id
    report {
      session { id } durationSeconds eventCountsByType
      attendance { user { id } role totalTimeSeconds joinCount reconnectCount boardEventCount chatMessageCount speakingTimeSeconds }
      timelineBuckets(bucketSizeMs: $size) { startMs endMs count countsByType }
    }
  }
}`;
const PARTICIPANTS = `query($s: ID!) { session(id: $s) { participants { user { id } status totalTimeSeconds reconnectCount } } }`;
const PRESENCE = `subscription($s: ID!) { presence(sessionId: $s) { kind } }`;
const APPLY = `mutation($s: ID!, $events: [BoardEventInput!]!) { applyBoardEvents(sessionId: $s, events: $events) { version } }`;

interface Row {
  id: string;
  seq: number;
  type: string;
  timestamp_ms: number;
  user_id: string | null;
}

const tally = (rows: Array<{ type: string }>) => {
  const counts: Record<string, number> = {};
  for (const r of rows) counts[r.type] = (counts[r.type] ?? 0) + 1;
  return counts;
};

for (const backend of backends) {
  describe(`history: timeline, buckets, stats, activity, summary, report [${backend.name}]`, { skip: backend.skip }, () => {
    let server: TestServer;
    let tutor: User;
    let ann: User;
    let bob: User;
    let stranger: User;
    let sessionId: string;
    let events: Row[];
    let version = 0;

    const draw = async (user: User, s: string, n: number) => {
      for (let i = 0; i < n; i++) {
        const id = `o${Math.random().toString(36).slice(2)}`;
        const op = {
          clientOpId: `op-${id}`,
          type: "STROKE",
          baseVersion: version,
          data: {
            id,
            points: [
              [0, 0],
              [i, i],
            ],
            color: "#000",
          },
        };
        version = ok(await server.gql(APPLY, { s, events: [op] }, user.token)).applyBoardEvents.version;
      }
    };
    const chat = async (user: User, s: string, text: string) =>
      ok(await server.gql(`mutation($s: ID!, $t: String!) { sendChatMessage(sessionId: $s, text: $t) { seq } }`, { s, t: text }, user.token));
    const participant = async (userId: string) => {
      const list = ok(await server.gql(PARTICIPANTS, { s: sessionId }, tutor.token)).session.participants;
      return list.find((p: { user: { id: string } }) => p.user.id === userId);
    };
    const rowsOf = async (s: string): Promise<Row[]> =>
      (await server.app.db.query(`SELECT id, seq, type, timestamp_ms::float8 AS timestamp_ms, user_id FROM session_events WHERE session_id = $1 ORDER BY seq`, [
        s,
      ])) as Row[];

    before(async () => {
      server = await startTestServer(backend);
      const lesson = await activeLesson(server, 2);
      ({ tutor, stranger, sessionId } = lesson);
      [ann, bob] = lesson.students;

      // The tutor and Ann come online (CONNECTED); Ann stays at least a second.
      const tutorOnline = server.wsClient(tutor.token).iterate<any>({ query: PRESENCE, variables: { s: sessionId } });
      await tutorOnline.next();
      const annOnline = server.wsClient(ann.token).iterate<any>({ query: PRESENCE, variables: { s: sessionId } });
      await annOnline.next();
      await until(
        () => participant(ann.id),
        (p) => p.status === "CONNECTED",
      );

      await draw(ann, sessionId, 3);
      await draw(tutor, sessionId, 2);
      await chat(ann, sessionId, "hello");
      await chat(ann, sessionId, "a question");
      await chat(bob, sessionId, "hi");
      await chat(tutor, sessionId, "welcome");
      ok(await server.gql(`mutation($s: ID!) { updateMediaState(sessionId: $s, input: { audioEnabled: true }) { id } }`, { s: sessionId }, ann.token));
      ok(await server.gql(`mutation($s: ID!) { updateMediaState(sessionId: $s, input: { audioEnabled: false }) { id } }`, { s: sessionId }, ann.token));
      ok(await server.gql(`mutation($s: ID!) { raiseHand(sessionId: $s, raised: true) { id } }`, { s: sessionId }, bob.token));
      ok(await server.gql(`mutation($s: ID!) { pauseSession(id: $s) { status } }`, { s: sessionId }, tutor.token));
      ok(await server.gql(`mutation($s: ID!) { resumeSession(id: $s) { status } }`, { s: sessionId }, tutor.token));
      await until(
        () => participant(ann.id),
        (p) => p.totalTimeSeconds >= 1,
      );

      // Ann drops and comes back (a reconnect), then drops again; Bob leaves.
      await annOnline.return?.();
      await until(
        () => participant(ann.id),
        (p) => p.status === "RECONNECTING",
      );
      const annAgain = server.wsClient(ann.token).iterate<any>({ query: PRESENCE, variables: { s: sessionId } });
      await annAgain.next();
      await until(
        () => participant(ann.id),
        (p) => p.status === "CONNECTED",
      );
      for (let i = 0; i < 30; i++) await chat(i % 2 ? tutor : ann, sessionId, `message ${i}`);
      await draw(ann, sessionId, 1);
      await annAgain.return?.();
      ok(await server.gql(`mutation($s: ID!) { leaveSession(id: $s) { status } }`, { s: sessionId }, bob.token));
      await tutorOnline.return?.();
      await until(
        () => participant(tutor.id),
        (p) => p.status === "RECONNECTING",
      );
      await until(
        () => participant(ann.id),
        (p) => p.status === "RECONNECTING",
      );
      ok(await server.gql(`mutation($s: ID!) { completeSession(id: $s) { status } }`, { s: sessionId }, tutor.token));
      events = await rowsOf(sessionId);
    });
    after(() => server?.stop());

    const page = (variables: Record<string, unknown>, user: User = tutor) => server.gql(TIMELINE, { s: sessionId, ...variables }, user.token);

    async function pageThrough(user: User, first: number, filter?: unknown) {
      const seen: any[] = [];
      let afterCursor: string | null = null;
      let pages = 0;
      for (;;) {
        const timeline: any = ok(await page({ first, after: afterCursor, filter }, user)).session.timeline;
        pages++;
        assert.equal(timeline.pageInfo.hasPreviousPage, afterCursor !== null);
        if (timeline.edges.length) {
          assert.equal(timeline.pageInfo.startCursor, timeline.edges[0].cursor);
          assert.equal(timeline.pageInfo.endCursor, timeline.edges.at(-1).cursor);
        }
        seen.push(...timeline.edges);
        if (!timeline.pageInfo.hasNextPage) return { seen, pages, totalCount: timeline.totalCount };
        afterCursor = timeline.pageInfo.endCursor;
      }
    }

    it("pages through the whole recorded lesson with first/after: every event once, in seq order, opaque cursors", async () => {
      assert.ok(events.length > 50, `${events.length} events recorded`);
      const student = ann;
      const { seen, pages, totalCount } = await pageThrough(student, 7);
      assert.equal(totalCount, events.length);
      assert.equal(pages, Math.ceil(events.length / 7));
      assert.deepEqual(
        seen.map((e) => e.node.seq),
        events.map((_, i) => i + 1),
      );
      assert.deepEqual(
        seen.map((e) => e.node.id),
        events.map((r) => r.id),
      );
      assert.deepEqual(
        seen.map((e) => e.node.type),
        events.map((r) => r.type),
      );
      assert.equal(new Set(seen.map((e) => e.cursor)).size, seen.length);
      for (const edge of seen) {
        assert.doesNotMatch(edge.cursor, /^\d+$/, "a cursor is not the bare seq");
        assert.ok(!edge.cursor.includes(String(edge.node.id)), "a cursor does not show the event id");
      }
      const times = seen.map((e) => e.node.timestampMs);
      assert.deepEqual(
        times,
        [...times].sort((a, b) => a - b),
        "seq order and time order agree",
      );
      const chats = seen.filter((e) => e.node.type === "CHAT_MESSAGE");
      assert.equal(chats[0].node.user.id, ann.id);
      assert.equal(chats[0].node.data.text, "hello");
    });

    it("pages by keyset on (session, seq): no OFFSET in any statement", async () => {
      const statements: string[] = [];
      const logger: Partial<TypeOrmLogger> = { logQuery: (query) => void statements.push(query) };
      const original = server.app.db.logger.logQuery;
      Object.assign(server.app.db.logger, logger);
      try {
        await pageThrough(tutor, 25, { types: ["CHAT_MESSAGE", "BOARD_STROKE"] });
      } finally {
        Object.assign(server.app.db.logger, { logQuery: original });
      }
      const reads = statements.filter((s) => /session_events/.test(s));
      assert.ok(reads.length > 0);
      for (const sql of reads) assert.doesNotMatch(sql, /\bOFFSET\b/i, sql);
      assert.ok(
        reads.some((s) => /\bseq > /.test(s) && /LIMIT/i.test(s)),
        reads.join("\n"),
      );
    });

    it("refuses a cursor of another session's timeline and a forged one (BAD_USER_INPUT); cursors are scoped to their session", async () => {
      const other = await activeLesson(server, 1);
      const otherPage = ok(await server.gql(TIMELINE, { s: other.sessionId, first: 1 }, other.tutor.token)).session.timeline;
      const foreign = otherPage.pageInfo.endCursor;
      // The other session's host is a stranger here; our own host uses the foreign cursor.
      assertError(await page({ first: 5, after: foreign }), "BAD_USER_INPUT");
      assertError(await page({ first: 5, after: "not-a-cursor" }), "BAD_USER_INPUT");
      assertError(await page({ first: 5, after: Buffer.from(JSON.stringify({ s: sessionId, q: -1 })).toString("base64url") }), "BAD_USER_INPUT");
      // The first page's end cursor continues where it stopped.
      const first = ok(await page({ first: 3 })).session.timeline;
      const next = ok(await page({ first: 3, after: first.pageInfo.endCursor })).session.timeline;
      assert.deepEqual(
        next.edges.map((e: any) => e.node.seq),
        [4, 5, 6],
      );
    });

    it("filters by types, user and half-open time range, alone and together", async () => {
      const byType = await pageThrough(tutor, 100, { types: ["CHAT_MESSAGE"] });
      const chats = events.filter((r) => r.type === "CHAT_MESSAGE");
      assert.deepEqual(
        byType.seen.map((e) => e.node.id),
        chats.map((r) => r.id),
      );
      assert.equal(byType.totalCount, chats.length);

      const byUser = await pageThrough(tutor, 100, { userId: ann.id });
      assert.deepEqual(
        byUser.seen.map((e) => e.node.id),
        events.filter((r) => r.user_id === ann.id).map((r) => r.id),
      );

      const times = [...new Set(events.map((r) => r.timestamp_ms))];
      const fromMs = times[Math.floor(times.length / 3)];
      const toMs = times[Math.floor((2 * times.length) / 3)];
      const inWindow = events.filter((r) => r.timestamp_ms >= fromMs && r.timestamp_ms < toMs);
      const byTime = await pageThrough(tutor, 100, { fromMs, toMs });
      assert.deepEqual(
        byTime.seen.map((e) => e.node.id),
        inWindow.map((r) => r.id),
      );

      const types = ["BOARD_STROKE", "CHAT_MESSAGE"];
      const all = await pageThrough(tutor, 4, { types, userId: ann.id, fromMs: 0, toMs: events.at(-1)!.timestamp_ms + 1 });
      const expected = events.filter((r) => types.includes(r.type) && r.user_id === ann.id);
      assert.deepEqual(
        all.seen.map((e) => e.node.id),
        expected.map((r) => r.id),
      );
      assert.equal(all.totalCount, expected.length);

      assertError(await page({ filter: { fromMs: 10, toMs: 5 } }), "BAD_USER_INPUT");
      assertError(await page({ filter: { fromMs: -1 } }), "BAD_USER_INPUT");
      assertError(await page({ filter: { userId: "nobody" } }), "BAD_USER_INPUT");
    });

    it("limits page sizes: 20 by default, at most 100 (101 → BAD_USER_INPUT)", async () => {
      assert.equal(ok(await page({})).session.timeline.edges.length, 20);
      assert.equal(ok(await page({ first: 100 })).session.timeline.edges.length, Math.min(100, events.length));
      assert.equal(ok(await page({ first: 0 })).session.timeline.edges.length, 0);
      assertError(await page({ first: 101 }), "BAD_USER_INPUT");
      assertError(await page({ first: -1 }), "BAD_USER_INPUT");
    });

    it("counts in stats what the timeline holds", async () => {
      const stats = ok(await server.gql(STATS, { s: sessionId }, bob.token)).session.timelineStats;
      assert.equal(stats.totalEvents, events.length);
      assert.deepEqual(stats.countsByType, tally(events));
      assert.equal(stats.firstEventMs, events[0].timestamp_ms);
      assert.equal(stats.lastEventMs, events.at(-1)!.timestamp_ms);
    });

    it("buckets the timeline from 0 to the last event; sums agree with the events; at most 1000 buckets", async () => {
      const last = events.at(-1)!.timestamp_ms;
      assert.ok(last >= 1000, `the lesson lasted ${last} ms`);
      const size = Math.ceil((last + 1) / 7);
      const buckets = ok(await server.gql(BUCKETS, { s: sessionId, size }, ann.token)).session.timelineBuckets;
      assert.equal(buckets.length, Math.floor(last / size) + 1);
      buckets.forEach((b: any, i: number) => {
        assert.equal(b.startMs, i * size);
        assert.equal(b.endMs, (i + 1) * size);
        const inside = events.filter((r) => r.timestamp_ms >= b.startMs && r.timestamp_ms < b.endMs);
        assert.equal(b.count, inside.length);
        assert.deepEqual(b.countsByType, tally(inside));
      });
      assert.equal(
        buckets.reduce((sum: number, b: any) => sum + b.count, 0),
        events.length,
      );

      const exact = Math.ceil((last + 1) / 1000);
      assert.equal(ok(await server.gql(BUCKETS, { s: sessionId, size: exact }, ann.token)).session.timelineBuckets.length, Math.floor(last / exact) + 1);
      assertError(await server.gql(BUCKETS, { s: sessionId, size: 1 }, ann.token), "BAD_USER_INPUT");
      assertError(await server.gql(BUCKETS, { s: sessionId, size: 0 }, ann.token), "BAD_USER_INPUT");
    });

    it("reports a user's activity: their events and their CONNECTED time", async () => {
      const activity = ok(await server.gql(ACTIVITY, { s: sessionId, u: ann.id }, bob.token)).session.userActivity;
      const mine = events.filter((r) => r.user_id === ann.id);
      assert.equal(activity.user.id, ann.id);
      assert.equal(activity.eventCount, mine.length);
      assert.deepEqual(activity.countsByType, tally(mine));
      assert.equal(activity.firstEventMs, mine[0].timestamp_ms);
      assert.equal(activity.lastEventMs, mine.at(-1)!.timestamp_ms);
      const row = await participant(ann.id);
      assert.ok(activity.activeTimeSeconds >= 1);
      assert.equal(activity.activeTimeSeconds, row.totalTimeSeconds);
      assertError(await server.gql(ACTIVITY, { s: sessionId, u: stranger.id }, tutor.token), "BAD_USER_INPUT");
      assertError(await server.gql(ACTIVITY, { s: sessionId, u: "x" }, tutor.token), "BAD_USER_INPUT");
    });

    it("summarises the lesson for every participant", async () => {
      const session = ok(await server.gql(SUMMARY, { s: sessionId }, bob.token)).session;
      const { summary } = session;
      assert.equal(summary.session.id, sessionId);
      assert.equal(summary.durationSeconds, session.totalDurationSeconds);
      assert.equal(summary.participantCount, 3);
      assert.equal(summary.boardEventCount, 6);
      const [{ n }] = await server.app.db.query(`SELECT count(*)::int AS n FROM board_snapshots WHERE session_id = $1`, [sessionId]);
      assert.ok(n > 0, "the lesson's LEAVE/TERMINATE snapshots");
      assert.equal(summary.snapshotCount, n);
      assert.equal(summary.finalBoard.version, 6);
      assert.equal(summary.finalBoard.objectCount, 6);
    });

    it("reports attendance and activity per participant to the host", async () => {
      const last = events.at(-1)!.timestamp_ms;
      const size = Math.ceil((last + 1) / 5);
      const report = ok(await server.gql(REPORT, { s: sessionId, size }, tutor.token)).session.report;
      assert.equal(report.session.id, sessionId);
      assert.deepEqual(report.eventCountsByType, tally(events));
      const session = ok(await server.gql(SUMMARY, { s: sessionId }, tutor.token)).session;
      assert.equal(report.durationSeconds, session.totalDurationSeconds);
      const byUser = new Map(report.attendance.map((a: any) => [a.user.id, a]));
      assert.equal(byUser.size, 3);
      const expect = async (user: User, role: string, joins: number, reconnects: number) => {
        const a: any = byUser.get(user.id);
        const p = await participant(user.id);
        assert.equal(a.role, role);
        assert.equal(a.joinCount, joins);
        assert.equal(a.reconnectCount, reconnects);
        assert.equal(a.reconnectCount, p.reconnectCount);
        assert.equal(a.totalTimeSeconds, p.totalTimeSeconds);
        assert.equal(a.boardEventCount, events.filter((r) => r.user_id === user.id && r.type.startsWith("BOARD_")).length);
        assert.equal(a.chatMessageCount, events.filter((r) => r.user_id === user.id && r.type === "CHAT_MESSAGE").length);
        assert.equal(a.speakingTimeSeconds, null);
      };
      await expect(tutor, "HOST", 1, 0);
      await expect(ann, "STUDENT", 1, 1);
      await expect(bob, "STUDENT", 1, 0);
      assert.equal((byUser.get(ann.id) as any).boardEventCount, 4);
      assert.equal((byUser.get(ann.id) as any).chatMessageCount, 17);
      assert.ok((byUser.get(ann.id) as any).totalTimeSeconds >= 1);
      assert.equal((byUser.get(bob.id) as any).totalTimeSeconds, 0); // never connected in realtime
      const buckets = ok(await server.gql(BUCKETS, { s: sessionId, size }, tutor.token)).session.timelineBuckets;
      assert.deepEqual(report.timelineBuckets, buckets);
    });

    it("gives a student's report as null with FORBIDDEN at its path; the rest of the session still answers", async () => {
      const res = await server.gql(REPORT, { s: sessionId, size: 1000 }, ann.token);
      const error = assertError(res, "FORBIDDEN");
      assert.deepEqual(error.path, ["session", "report"]);
      assert.equal(res.body.data.session.id, sessionId);
      assert.equal(res.body.data.session.report, null);
    });

    it("shows nothing to a non-member (null session, no error) and refuses the signed-out", async () => {
      for (const query of [TIMELINE, STATS, SUMMARY]) {
        const res = await server.gql(query, { s: sessionId }, stranger.token);
        assert.equal(res.body.errors, undefined, res.text);
        assert.equal(res.body.data.session, null);
      }
      assert.equal(ok(await server.gql(REPORT, { s: sessionId, size: 1000 }, stranger.token)).session, null);
      assert.equal(codeOf(await server.gql(TIMELINE, { s: sessionId })), "UNAUTHENTICATED");
    });

    it("lets a kicked user read nothing of the session", async () => {
      const lesson = await activeLesson(server, 1);
      const [kicked] = lesson.students;
      ok(
        await server.gql(
          `mutation($s: ID!, $u: ID!) { kickParticipant(sessionId: $s, userId: $u) { status } }`,
          { s: lesson.sessionId, u: kicked.id },
          lesson.tutor.token,
        ),
      );
      assert.equal(ok(await server.gql(TIMELINE, { s: lesson.sessionId }, kicked.token)).session, null);
    });

    it("keeps the timeline, stats and summary readable by participants when isRecorded is false (replay is what isRecorded restricts)", async () => {
      const lesson = await activeLesson(server, 1);
      ok(await server.gql(`mutation($s: ID!) { sendChatMessage(sessionId: $s, text: "x") { seq } }`, { s: lesson.sessionId }, lesson.students[0].token));
      await server.app.db.query(`UPDATE classroom_sessions SET is_recorded = false WHERE id = $1`, [lesson.sessionId]);
      const timeline = ok(await server.gql(TIMELINE, { s: lesson.sessionId }, lesson.students[0].token)).session.timeline;
      assert.ok(timeline.totalCount > 0);
      assertError(await server.gql(REPORT, { s: lesson.sessionId, size: 1000 }, lesson.students[0].token), "FORBIDDEN");
    });

    it("answers a report and a timeline page with a number of statements that does not grow with the events", async () => {
      const lesson = await activeLesson(server, 1);
      const [student] = lesson.students;
      let statements = 0;
      const counting: Partial<TypeOrmLogger> = { logQuery: () => void statements++ };
      const original = server.app.db.logger.logQuery;
      const count = async (query: string, variables: Record<string, unknown>) => {
        Object.assign(server.app.db.logger, counting);
        statements = 0;
        try {
          ok(await server.gql(query, variables, lesson.tutor.token));
          return statements;
        } finally {
          Object.assign(server.app.db.logger, { logQuery: original });
        }
      };
      const measure = async () => {
        const last: number = ok(await server.gql(STATS, { s: lesson.sessionId }, lesson.tutor.token)).session.timelineStats.lastEventMs;
        const size = last + 1; // one bucket, whatever the duration
        return {
          report: await count(REPORT, { s: lesson.sessionId, size }),
          page: await count(TIMELINE, { s: lesson.sessionId, first: 10, filter: { types: ["BOARD_STROKE", "CHAT_MESSAGE"] } }),
          stats: await count(`${STATS.replace("timelineStats", "summary { participantCount boardEventCount } timelineStats")}`, { s: lesson.sessionId }),
          activity: await count(ACTIVITY, { s: lesson.sessionId, u: student.id }),
        };
      };
      version = 0;
      await draw(student, lesson.sessionId, 10);
      for (let i = 0; i < 5; i++) await chat(student, lesson.sessionId, `m${i}`);
      const small = await measure();
      await draw(student, lesson.sessionId, 60);
      for (let i = 0; i < 40; i++) await chat(student, lesson.sessionId, `n${i}`);
      const large = await measure();
      assert.deepEqual(large, small, `statements with ~20 events ${JSON.stringify(small)}, with ~120: ${JSON.stringify(large)}`);
      assert.ok(small.report <= 12, `report: ${small.report} statements`);
      assert.ok(small.page <= 10, `page: ${small.page} statements`);
    });

    it("batches stats, summaries and snapshot counts across a page of sessions (no N+1)", async () => {
      const admin = await registerUser(server, "STUDENT");
      await server.app.db.query(`UPDATE users SET role = 'ADMIN' WHERE id = $1`, [admin.id]);
      const query = `query($first: Int!) {
        mySessions(first: $first) { edges { node {
          id timelineStats { totalEvents } summary { participantCount boardEventCount snapshotCount }
          timeline(first: 3, filter: { types: [CHAT_MESSAGE, BOARD_STROKE] }) { edges { cursor node { seq user { id } } } totalCount }
          all: timeline(first: 2) { edges { node { seq } } pageInfo { hasNextPage } totalCount }
        } } }
      }`;
      let statements = 0;
      const original = server.app.db.logger.logQuery;
      const measure = async (first: number) => {
        Object.assign(server.app.db.logger, { logQuery: () => void statements++ });
        statements = 0;
        try {
          const edges = ok(await server.gql(query, { first }, admin.token)).mySessions.edges;
          assert.equal(edges.length, first);
          const main = edges.find((e: any) => e.node.id === sessionId);
          assert.equal(Boolean(main), first === 5, "the recorded lesson is the fifth newest session");
          if (main) {
            assert.equal(main.node.timelineStats.totalEvents, events.length);
            assert.equal(main.node.all.totalCount, events.length);
            assert.deepEqual(
              main.node.all.edges.map((e: any) => e.node.seq),
              [1, 2],
            );
            const wanted = events.filter((r) => r.type === "CHAT_MESSAGE" || r.type === "BOARD_STROKE");
            assert.equal(main.node.timeline.totalCount, wanted.length);
            assert.deepEqual(
              main.node.timeline.edges.map((e: any) => e.node.seq),
              wanted.slice(0, 3).map((r) => r.seq),
            );
          }
          for (const edge of edges) assert.ok(edge.node.all.totalCount > 0 && edge.node.all.edges.length > 0);
          return statements;
        } finally {
          Object.assign(server.app.db.logger, { logQuery: original });
        }
      };
      const two = await measure(2);
      const five = await measure(5);
      assert.equal(five, two, `2 sessions: ${two} statements, 5: ${five}`);
    });
  });
}
