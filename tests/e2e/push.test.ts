import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import webpush from "web-push";
import { pushRetryJob } from "../../src/jobs/push-retry.job";
import { codeOf, ok } from "../support/assertions";
import { backends } from "../support/backends";
import { activeLesson } from "../support/lesson";
import { parsePrometheusText, sampleValue } from "../support/prometheus-text";
import { LocalPushService } from "../support/push-service";
import { registerUser, startTestServer, type TestServer } from "../support/test-server";

const REGISTER = `mutation($input: PushSubscriptionInput!) { registerPushSubscription(input: $input) { id deviceId endpoint createdAt expiresAt failureCount } }`;
const MINE = `{ myPushSubscriptions { id endpoint failureCount } }`;
const TEST = `mutation($id: ID!) { sendTestPush(id: $id) }`;
const UNREGISTER = `mutation($id: ID!) { unregisterPushSubscription(id: $id) }`;

for (const backend of backends) {
  describe(`web push [${backend.name}]`, { skip: backend.skip }, () => {
    let push: LocalPushService;
    let server: TestServer;
    /** The real backend shares a database between instances: keys must be given (the embedded one generates its own). */
    const vapid = backend.name === "real" ? webpush.generateVAPIDKeys() : undefined;
    const keysEnv: Record<string, string> = vapid ? { VAPID_PUBLIC_KEY: vapid.publicKey, VAPID_PRIVATE_KEY: vapid.privateKey } : {};

    /** Registers a subscription on the local push service for `token`; answers its ids. */
    const subscribe = async (token: string, status?: number, host?: string) => {
      const sub = push.subscription(status, host);
      const input = { endpoint: sub.endpoint, p256dh: sub.keys.p256dh, auth: sub.keys.auth, deviceId: "laptop" };
      const registered = ok(await server.gql(REGISTER, { input }, token)).registerPushSubscription;
      return { ...sub, subscriptionId: registered.id as string, registered };
    };

    before(async () => {
      push = await LocalPushService.start();
      server = await startTestServer(backend, {
        env: {
          ...keysEnv,
          VAPID_SUBJECT: "mailto:ops@example.test",
          PUSH_ENDPOINT_ALLOW_PRIVATE: "true",
          PUSH_ENDPOINT_CA: push.ca,
          PUSH_MAX_SUBSCRIPTIONS_PER_USER: "2",
        },
      });
    });
    after(async () => {
      await server?.stop();
      await push?.stop();
    });

    it("registers, lists and tests a subscription: the message arrives encrypted, decrypted with the browser's keys, VAPID-signed", async () => {
      const user = await registerUser(server);
      const publicKey = ok(await server.gql(`{ pushPublicKey }`)).pushPublicKey;
      if (vapid) assert.equal(publicKey, vapid.publicKey);
      const sub = await subscribe(user.token);
      assert.equal(sub.registered.failureCount, 0);
      assert.equal(sub.registered.deviceId, "laptop");
      // The same endpoint again is an update, not a second subscription.
      const again = ok(await server.gql(REGISTER, { input: { endpoint: sub.endpoint, p256dh: sub.keys.p256dh, auth: sub.keys.auth } }, user.token));
      assert.equal(again.registerPushSubscription.id, sub.subscriptionId);
      assert.deepEqual(
        ok(await server.gql(MINE, {}, user.token)).myPushSubscriptions.map((s: { id: string }) => s.id),
        [sub.subscriptionId],
      );

      assert.equal(ok(await server.gql(TEST, { id: sub.subscriptionId }, user.token)).sendTestPush, true);
      const received = await push.next(sub.id);
      assert.equal(received.payload.title, "Test notification");
      assert.equal(received.payload.body, "Web push works on this device.");
      assert.equal(received.vapid.k, publicKey);
      assert.equal(received.vapid.aud, push.origin);
      assert.equal(received.vapid.sub, "mailto:ops@example.test");
      assert.deepEqual(push.errors, []);

      const metrics = parsePrometheusText(await (await fetch(`${server.url}/metrics`)).text());
      assert.ok(sampleValue(metrics, "push_subscriptions_active") >= 1);
      assert.ok(sampleValue(metrics, "push_deliveries_total", { outcome: "sent" }) >= 1);
    });

    it("refuses an http:// endpoint and malformed keys at register (BAD_USER_INPUT), and strangers and anonymous callers", async () => {
      const [user, stranger] = await Promise.all([registerUser(server), registerUser(server)]);
      const sub = push.subscription();
      const input = { endpoint: sub.endpoint.replace("https:", "http:"), p256dh: sub.keys.p256dh, auth: sub.keys.auth };
      assert.equal(codeOf(await server.gql(REGISTER, { input }, user.token)), "BAD_USER_INPUT");
      assert.equal(codeOf(await server.gql(REGISTER, { input: { ...input, endpoint: sub.endpoint, p256dh: "AAAA" } }, user.token)), "BAD_USER_INPUT");
      assert.equal(codeOf(await server.gql(REGISTER, { input: { ...input, endpoint: sub.endpoint } })), "UNAUTHENTICATED");
      assert.equal(codeOf(await server.gql(MINE)), "UNAUTHENTICATED");
      assert.deepEqual(ok(await server.gql(MINE, {}, user.token)).myPushSubscriptions, []);

      const mine = await subscribe(user.token);
      const strangerTest = await server.gql(TEST, { id: mine.subscriptionId }, stranger.token);
      assert.equal(codeOf(strangerTest), "NOT_FOUND", strangerTest.text);
      const strangerUnregister = await server.gql(UNREGISTER, { id: mine.subscriptionId }, stranger.token);
      assert.equal(codeOf(strangerUnregister), "NOT_FOUND", strangerUnregister.text);
      assert.equal(push.requests.get(mine.id), undefined);
      assert.equal(ok(await server.gql(UNREGISTER, { id: mine.subscriptionId }, user.token)).unregisterPushSubscription, true);
      assert.deepEqual(ok(await server.gql(MINE, {}, user.token)).myPushSubscriptions, []);
    });

    it("pushes a kick to the kicked student and the report to the host once the lesson is completed", async () => {
      const { tutor, students, sessionId } = await activeLesson(server, 1);
      const [student] = students;
      const studentSub = await subscribe(student.token);
      const tutorSub = await subscribe(tutor.token);
      ok(await server.gql(`mutation($s: ID!, $u: ID!) { kickParticipant(sessionId: $s, userId: $u) { id } }`, { s: sessionId, u: student.id }, tutor.token));
      const kicked = await push.next(studentSub.id);
      assert.equal(kicked.payload.kind, "KICKED");
      assert.equal(kicked.payload.sessionId, sessionId);
      assert.match(kicked.payload.body, /removed/);

      ok(await server.gql(`mutation($s: ID!) { completeSession(id: $s) { status } }`, { s: sessionId }, tutor.token));
      const report = await push.next(tutorSub.id);
      assert.equal(report.payload.kind, "REPORT_READY");
      assert.equal(report.payload.sessionId, sessionId);
      assert.equal(push.requests.get(tutorSub.id), 1, "the host hears of the report, not of the kick");
    });

    it("reminds the host and the invited student of a lesson starting within 10 minutes, once", async () => {
      const [tutor, student] = await Promise.all([registerUser(server, "TUTOR"), registerUser(server, "STUDENT")]);
      const start = new Date(Date.now() + 5 * 60_000);
      const input = { studentId: student.id, scheduledStart: start.toISOString(), scheduledEnd: new Date(start.getTime() + 3_600_000).toISOString() };
      const booking = ok(
        await server.gql(`mutation($input: CreateBookingInput!) { createBooking(input: $input) { id } }`, { input }, tutor.token),
      ).createBooking;
      const [tutorSub, studentSub] = [await subscribe(tutor.token), await subscribe(student.token)];
      ok(await server.gql(`mutation($id: ID!) { confirmBooking(id: $id) { id } }`, { id: booking.id }, tutor.token));

      await server.app.jobs.runNow("lesson-reminders");
      for (const sub of [tutorSub, studentSub]) {
        const reminder = await push.next(sub.id);
        assert.equal(reminder.payload.kind, "LESSON_STARTING");
        assert.match(reminder.payload.body, /starts in [45] minutes/);
        assert.equal(reminder.ttl, "600");
      }
      // Again, as another instance or the next period would: nobody is told twice.
      await server.app.jobs.runNow("lesson-reminders");
      assert.equal(push.requests.get(tutorSub.id), 1);
      assert.equal(push.requests.get(studentSub.id), 1);
    });

    it("removes a subscription the push service answers 410 for", async () => {
      const user = await registerUser(server);
      const sub = await subscribe(user.token, 410);
      assert.equal(ok(await server.gql(TEST, { id: sub.subscriptionId }, user.token)).sendTestPush, false);
      assert.equal(push.requests.get(sub.id), 1);
      assert.deepEqual(ok(await server.gql(MINE, {}, user.token)).myPushSubscriptions, []);
    });

    it("retries a 500 with exponential backoff and gives up after 5 tries", async () => {
      const user = await registerUser(server);
      const sub = await subscribe(user.token, 500);
      const before = Date.now();
      assert.equal(ok(await server.gql(TEST, { id: sub.subscriptionId }, user.token)).sendTestPush, false);
      const first = Date.now();
      assert.equal(push.requests.get(sub.id), 1);
      const retryAt = (at: number) =>
        pushRetryJob.run({ services: server.app.services, config: server.app.config, logger: server.app.logger, now: () => new Date(at) });

      // PUSH_RETRY_BASE_MS (30 s) after the first try, then doubled: 30, 60, 120, 240 s.
      let last = first;
      let lastEarliest = before;
      for (const [tries, waitMs] of [
        [2, 30_000],
        [3, 60_000],
        [4, 120_000],
        [5, 240_000],
      ]) {
        await retryAt(lastEarliest + waitMs - 1);
        assert.equal(push.requests.get(sub.id), tries - 1, `try ${tries} waits ${waitMs} ms`);
        const at = last + waitMs;
        await retryAt(at);
        assert.equal(push.requests.get(sub.id), tries);
        last = lastEarliest = at;
      }
      await retryAt(last + 86_400_000);
      assert.equal(push.requests.get(sub.id), 5, "given up after 5 tries");
      const [listed] = ok(await server.gql(MINE, {}, user.token)).myPushSubscriptions;
      assert.equal(listed.failureCount, 5);
      const [delivery] = await server.app.db.query(`SELECT status, attempts FROM push_deliveries WHERE subscription_id = $1`, [sub.subscriptionId]);
      assert.deepEqual({ ...delivery }, { status: "FAILED", attempts: 5 });
    });

    it("prunes expired subscriptions", async () => {
      const user = await registerUser(server);
      const sub = push.subscription();
      const expiresAt = new Date(Date.now() + 60_000).toISOString();
      const registered = ok(
        await server.gql(REGISTER, { input: { endpoint: sub.endpoint, p256dh: sub.keys.p256dh, auth: sub.keys.auth, expiresAt } }, user.token),
      );
      assert.equal(registered.registerPushSubscription.expiresAt, expiresAt);
      await pushRetryJob.run({
        services: server.app.services,
        config: server.app.config,
        logger: server.app.logger,
        now: () => new Date(Date.now() + 120_000),
      });
      const [row] = await server.app.db.query(`SELECT count(*)::int AS n FROM push_subscriptions WHERE user_id = $1`, [user.id]);
      assert.equal(row.n, 0);
    });

    it("keeps at most PUSH_MAX_SUBSCRIPTIONS_PER_USER subscriptions a user, dropping the least recently registered", async () => {
      const user = await registerUser(server);
      const [first, second, third] = [await subscribe(user.token), await subscribe(user.token), await subscribe(user.token)];
      const ids = ok(await server.gql(MINE, {}, user.token)).myPushSubscriptions.map((s: { id: string }) => s.id);
      assert.deepEqual(ids.sort(), [second.subscriptionId, third.subscriptionId].sort());
      assert.ok(!ids.includes(first.subscriptionId));
    });

    it("answers UNAVAILABLE when push is off (the real backend without VAPID keys is off by default)", async () => {
      const off = await startTestServer(backend, { env: backend.name === "real" ? {} : { PUSH_ENABLED: "false" } });
      try {
        const user = await registerUser(off);
        const res = await off.gql(`{ pushPublicKey }`);
        assert.equal(codeOf(res), "UNAVAILABLE");
        assert.equal(res.body.errors?.[0].extensions?.retryable, false);
        const sub = push.subscription();
        const input = { endpoint: sub.endpoint, p256dh: sub.keys.p256dh, auth: sub.keys.auth };
        assert.equal(codeOf(await off.gql(REGISTER, { input }, user.token)), "UNAVAILABLE");
        assert.deepEqual(ok(await off.gql(MINE, {}, user.token)).myPushSubscriptions, []);
      } finally {
        await off.stop();
      }
    });

    it("refuses private and loopback addresses without PUSH_ENDPOINT_ALLOW_PRIVATE, by IP and by name", async () => {
      const guarded = await startTestServer(backend, { env: { ...keysEnv, PUSH_ENDPOINT_CA: push.ca } });
      try {
        const user = await registerUser(guarded);
        for (const host of ["127.0.0.1", "localhost"]) {
          const sub = push.subscription(undefined, host);
          const input = { endpoint: sub.endpoint, p256dh: sub.keys.p256dh, auth: sub.keys.auth };
          const { id } = ok(await guarded.gql(REGISTER, { input }, user.token)).registerPushSubscription;
          assert.equal(ok(await guarded.gql(TEST, { id }, user.token)).sendTestPush, false, host);
          assert.equal(push.requests.get(sub.id), undefined, `nothing reached ${host}`);
        }
        // Refused for good: no retry is left pending.
        const [pending] = await guarded.app.db.query(`SELECT count(*)::int AS n FROM push_deliveries WHERE status = 'PENDING'`);
        assert.equal(pending.n, 0);
      } finally {
        await guarded.stop();
      }
    });
  });
}
