import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import type { Client } from "graphql-ws";
import { assertError, ok } from "../support/assertions";
import { acrossInstances, backends } from "../support/backends";
import type { User } from "../support/lesson";
import { scriptedLessons } from "../support/scripted-lessons";
import { watch } from "../support/subscriptions";
import { registerUser, startTestServer, startTwoInstances, type TestServer } from "../support/test-server";

// deleteAccount (issue 18): tokens refused, personal data gone, lessons' history kept anonymized.

const T = { timeout: 30_000 };
const DELETE = `mutation($p: String!) { deleteAccount(password: $p) }`;
const LOGIN = `mutation($e: String!, $p: String!) { login(email: $e, password: $p) { accessToken } }`;
const TIMELINE = `query($s: ID!, $after: String) {
  session(id: $s) { timeline(first: 3, after: $after) { totalCount pageInfo { hasNextPage endCursor } edges { node { seq type user { id displayName email } } } } }
}`;

function nextClose(client: Client): Promise<number> {
  return new Promise((resolve) => {
    const off = client.on("closed", (event) => {
      off();
      resolve((event as { code: number }).code);
    });
  });
}

for (const backend of backends) {
  describe(`deleteAccount [${backend.name}]`, { skip: backend.skip }, () => {
    let server: TestServer;
    let script: Awaited<ReturnType<typeof scriptedLessons>>;

    /** Every event of the session's timeline, paged through GraphQL 3 at a time, as `viewer` sees them. */
    const pageAll = async (sessionId: string, viewer: User) => {
      const events: any[] = [];
      let after: string | null = null;
      let total: number | undefined;
      for (;;) {
        const page: any = ok(await server.gql(TIMELINE, { s: sessionId, after }, viewer.token)).session.timeline;
        total = page.totalCount;
        events.push(...page.edges.map((e: any) => e.node));
        if (!page.pageInfo.hasNextPage) break;
        after = page.pageInfo.endCursor;
      }
      return { events, total: total ?? 0 };
    };

    before(async () => {
      server = await startTestServer(backend);
      script = await scriptedLessons(server);
    });
    after(() => server?.stop());

    it("refuses a wrong password (UNAUTHENTICATED) and a host of a lesson not ended (INVALID_STATE), changing nothing", T, async () => {
      assertError(await server.gql(DELETE, { p: "not the password" }, script.ann.token), "UNAUTHENTICATED");
      assertError(await server.gql(DELETE, { p: script.ann.password }), "UNAUTHENTICATED");
      // The tutor still hosts the live third lesson.
      assertError(await server.gql(DELETE, { p: script.tutor.password }, script.tutor.token), "INVALID_STATE");
      assert.equal(ok(await server.gql(`{ me { email displayName } }`, {}, script.tutor.token)).me.email, script.tutor.email);
      ok(await server.gql(LOGIN, { e: script.tutor.email, p: script.tutor.password }));
      ok(await server.gql(LOGIN, { e: script.ann.email, p: script.ann.password }));
    });

    it("erases a student: token refused, socket closed 4401, login fails, history kept as a deleted user, email free again", T, async () => {
      const { ann, tutor, lessons } = script;
      // Ann's own things: a solo workspace with a snapshot counted against her quota, a push subscription.
      const solo = ok(await server.gql(`mutation { createSoloSession(title: "mine") { id } }`, {}, ann.token)).createSoloSession.id;
      const board = {
        layers: [{ id: "default", name: "Layer 1" }],
        objects: { t1: { id: "t1", kind: "text", layerId: "default", props: { text: "note" }, createdBy: ann.id } },
      };
      ok(await server.gql(`mutation($s: ID!, $b: JSON!) { createSoloSnapshot(sessionId: $s, board: $b) { version } }`, { s: solo, b: board }, ann.token));
      assert.ok(ok(await server.gql(`{ storageUsage { usedBytes } }`, {}, ann.token)).storageUsage.usedBytes > 0);
      await server.app.db.query(`INSERT INTO push_subscriptions (user_id, endpoint, p256dh, auth) VALUES ($1, 'https://push.example.test/a', 'key', 'auth')`, [
        ann.id,
      ]);
      const before = await pageAll(lessons[0], tutor);
      const client = server.wsClient(ann.token);
      const closed = nextClose(client);
      const profile = watch(server, ann.token, `subscription { myProfile { id } }`, {}, client);
      await profile.next();

      assert.equal(ok(await server.gql(DELETE, { p: ann.password }, ann.token)).deleteAccount, true);

      assert.equal(await closed, 4401);
      assertError(await server.gql(`{ me { id } }`, {}, ann.token), "UNAUTHENTICATED");
      assertError(await server.gql(LOGIN, { e: ann.email, p: ann.password }), "UNAUTHENTICATED");
      // The lesson's timeline pages completely, her events shown as a deleted user's.
      const afterwards = await pageAll(lessons[0], tutor);
      assert.equal(afterwards.total, before.total);
      assert.equal(afterwards.events.length, before.total);
      assert.deepEqual(
        afterwards.events.map((e) => e.seq),
        before.events.map((e) => e.seq),
      );
      const hers = afterwards.events.filter((e) => e.user?.id === ann.id);
      assert.ok(hers.length >= 4, "her joins, strokes and chat message are still there");
      for (const event of hers) assert.deepEqual(event.user, { id: ann.id, displayName: "Deleted user", email: null });
      for (const event of afterwards.events.filter((e) => e.user && e.user.id !== ann.id)) assert.notEqual(event.user.displayName, "Deleted user");
      // The report still counts her, as a deleted user.
      const report = ok(
        await server.gql(
          `query($s: ID!) { session(id: $s) { report { attendance { user { id displayName } boardEventCount chatMessageCount } } } }`,
          { s: lessons[0] },
          tutor.token,
        ),
      ).session.report;
      assert.deepEqual(
        report.attendance.find((a: any) => a.user.id === ann.id),
        { user: { id: ann.id, displayName: "Deleted user" }, boardEventCount: 2, chatMessageCount: 1 },
      );
      // Her personal data is gone: solo workspace and its storage, push subscriptions, email and password.
      const [left] = await server.app.db.query(
        `SELECT (SELECT count(*)::int FROM classroom_sessions WHERE host_id = $1 AND type = 'SOLO') AS solo,
                (SELECT count(*)::int FROM board_snapshots WHERE quota_owner_id = $1) AS snapshots,
                (SELECT count(*)::int FROM user_storage WHERE user_id = $1) AS storage,
                (SELECT count(*)::int FROM push_subscriptions WHERE user_id = $1) AS push,
                (SELECT email IS NULL AND password_hash IS NULL FROM users WHERE id = $1) AS erased`,
        [ann.id],
      );
      assert.deepEqual(left, { solo: 0, snapshots: 0, storage: 0, push: 0, erased: true });
      // The email registers again, as a new account.
      const again = await server.gql(`mutation($input: RegisterInput!) { register(input: $input) { user { id email displayName } } }`, {
        input: { email: ann.email, password: "another good password", displayName: "Ann again", role: "STUDENT" },
      });
      const user = ok(again).register.user;
      assert.notEqual(user.id, ann.id);
      assert.equal(user.email, ann.email);
      // A second erasure with the old token is refused.
      assertError(await server.gql(DELETE, { p: ann.password }, ann.token), "UNAUTHENTICATED");
    });

    it("lets the tutor erase their account once no lesson of theirs is live", T, async () => {
      const { tutor, ben, liveLesson, lessons } = script;
      // Ben is seated in the live lesson: erasing his account leaves it first, freeing the seat.
      assert.equal(ok(await server.gql(DELETE, { p: ben.password }, ben.token)).deleteAccount, true);
      const live = ok(
        await server.gql(
          `query($s: ID!) { session(id: $s) { participants { user { id displayName } status } timeline(filter: { types: [PARTICIPANT_LEAVE] }) { edges { node { user { id displayName } } } } } }`,
          { s: liveLesson },
          tutor.token,
        ),
      ).session;
      assert.deepEqual(
        live.participants.find((p: any) => p.user.id === ben.id),
        { user: { id: ben.id, displayName: "Deleted user" }, status: "LEFT" },
      );
      assert.deepEqual(
        live.timeline.edges.map((e: any) => e.node.user),
        [{ id: ben.id, displayName: "Deleted user" }],
      );
      ok(await server.gql(`mutation($s: ID!) { completeSession(id: $s) { status } }`, { s: liveLesson }, tutor.token));
      assert.equal(ok(await server.gql(DELETE, { p: tutor.password }, tutor.token)).deleteAccount, true);
      assertError(await server.gql(`{ me { id } }`, {}, tutor.token), "UNAUTHENTICATED");
      assertError(await server.gql(LOGIN, { e: tutor.email, p: tutor.password }), "UNAUTHENTICATED");
      // The lessons stay, hosted by the deleted user.
      const [row] = await server.app.db.query(`SELECT host_id FROM classroom_sessions WHERE id = $1`, [lessons[0]]);
      assert.equal(row.host_id, tutor.id);
    });
  });

  describe(`deleteAccount across instances [${backend.name}]`, { skip: acrossInstances(backend) }, () => {
    let a: TestServer;
    let b: TestServer;
    startTwoInstances(backend, (first, second) => {
      a = first;
      b = second;
    });

    it("closes the user's sockets on the other instance with 4401 and refuses the token there", T, async () => {
      const user = await registerUser(a, "STUDENT");
      const client = b.wsClient(user.token);
      const closed = nextClose(client);
      const profile = watch(b, user.token, `subscription { myProfile { id } }`, {}, client);
      await profile.next();
      assert.equal(ok(await a.gql(DELETE, { p: user.password }, user.token)).deleteAccount, true);
      assert.equal(await closed, 4401);
      assertError(await b.gql(`{ me { id } }`, {}, user.token), "UNAUTHENTICATED");
      assertError(await b.gql(LOGIN, { e: user.email, p: user.password }), "UNAUTHENTICATED");
    });
  });
}
