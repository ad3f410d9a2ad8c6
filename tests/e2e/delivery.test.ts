import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import type { Logger as TypeOrmLogger } from "typeorm";
import type { TimelineListener } from "../../src/services/timeline-hub";
import { topics } from "../../src/realtime/topics";
import { appendEvents, lockSession, toMessage } from "../../src/services/timeline";
import { ok } from "../support/assertions";
import { backends } from "../support/backends";
import { activeLesson, type User } from "../support/lesson";
import { watch } from "../support/subscriptions";
import { startTestServer, type TestServer } from "../support/test-server";
import { type TimelineMessage } from "../../src/realtime/messages";

const SYSTEM_EVENTS = `subscription($s: ID!, $after: Int) { systemEvents(sessionId: $s, afterSeq: $after) { seq kind message } }`;
const CHAT = `mutation($s: ID!, $t: String!) { sendChatMessage(sessionId: $s, text: $t) { seq } }`;

for (const backend of backends) {
  describe(`delivery: one hub per session and instance [${backend.name}]`, { skip: backend.skip }, () => {
    let server: TestServer;
    const sessionEventReads: string[] = [];
    let counting = false;

    before(async () => {
      server = await startTestServer(backend, { env: { LATEST_SEQ_HEARTBEAT_MS: "200" } });
      const logger: Partial<TypeOrmLogger> = {
        logQuery: (query) => {
          if (counting && /^\s*SELECT/i.test(query) && query.includes(`"session_events"`)) sessionEventReads.push(query);
        },
      };
      Object.assign(server.app.db.logger, logger);
    });
    after(() => server?.stop());

    it("a lost announcement reaches every quiet subscriber with the next latest-seq heartbeat, read once for all", async () => {
      const { tutor, students, sessionId } = await activeLesson(server, 4);
      const viewers = [tutor, ...students, tutor, ...students]; // 10 subscribers, two per user
      const after = ok(await server.gql(`query($s: ID!) { session(id: $s) { board { lastSeq } } }`, { s: sessionId }, tutor.token)).session.board.lastSeq;
      const subscribers = viewers.map((user) => watch(server, user.token, SYSTEM_EVENTS, { s: sessionId, after }));
      // Every subscriber is live once it has received this message.
      const hello = ok(await server.gql(CHAT, { s: sessionId, t: "hello" }, tutor.token)).sendChatMessage.seq;
      for (const s of subscribers) assert.equal((await s.until((f) => f.data.systemEvents.kind === "CHAT_MESSAGE")).data.systemEvents.seq, hello);

      // A committed event whose announcement was lost: written without publishing.
      const lost = await server.app.db.transaction(async (tx) => {
        const session = await lockSession(tx, sessionId);
        const [event] = await appendEvents(tx, session, [{ type: "CHAT_MESSAGE", userId: tutor.id, data: { text: "lost" } }]);
        return event.seq;
      });
      sessionEventReads.length = 0;
      counting = true;
      for (const s of subscribers) {
        const frame = await s.next();
        assert.deepEqual(frame.data.systemEvents, { seq: lost, kind: "CHAT_MESSAGE", message: "lost" });
      }
      counting = false;
      assert.ok(sessionEventReads.length <= 1, `${sessionEventReads.length} reads of the timeline for 10 subscribers`);
      for (const s of subscribers) s.close();
    });

    it("a subscriber joining while the hub's last one leaves gets a live hub, not the closed one", async () => {
      const { tutor, sessionId } = await activeLesson(server, 1);
      const feed = server.app.services.feed;
      const listener = (take: (event: TimelineMessage) => void): TimelineListener => ({ handled: 0, early: null, take, fail: () => undefined });
      const detachFirst = await feed.attach(
        sessionId,
        listener(() => undefined),
      );
      let heard!: (seq: number) => void;
      const second = new Promise<number>((resolve) => (heard = resolve));
      const attaching = feed.attach(
        sessionId,
        listener((event) => heard(event.seq)),
      );
      detachFirst(); // before the second has joined: the hub closes
      const detachSecond = await attaching;
      const sent = ok(await server.gql(CHAT, { s: sessionId, t: "still there?" }, tutor.token)).sendChatMessage.seq;
      assert.equal(await second, sent);
      detachSecond();
    });

    it("a resuming subscriber gets its backfill and the live events that arrive while it is read, in order", async () => {
      const { tutor, sessionId } = await activeLesson(server, 1);
      const feed = server.app.services.feed;
      const quiet = (): TimelineListener => ({ handled: 0, early: null, take: () => undefined, fail: () => undefined });
      const detachFirst = await feed.attach(sessionId, quiet()); // the hub is open
      const start = ok(await server.gql(CHAT, { s: sessionId, t: "one" }, tutor.token)).sendChatMessage.seq;
      for (const t of ["two", "three"]) ok(await server.gql(CHAT, { s: sessionId, t }, tutor.token));
      // A committed event announced only once the resuming subscriber is reading its backfill.
      const late = await server.app.db.transaction(async (tx) => {
        const session = await lockSession(tx, sessionId);
        return toMessage((await appendEvents(tx, session, [{ type: "CHAT_MESSAGE", userId: tutor.id, data: { text: "late" } }]))[0]);
      });
      // The backfill read waits behind a lock on the timeline until the announcement is in.
      let unlock!: () => void;
      let locked!: () => void;
      const isLocked = new Promise<void>((resolve) => (locked = resolve));
      const locking = server.app.db.transaction(async (tx) => {
        await tx.query(`LOCK TABLE session_events IN ACCESS EXCLUSIVE MODE`);
        locked();
        await new Promise<void>((resolve) => (unlock = resolve));
      });
      await isLocked;
      const seen: number[] = [];
      const attaching = feed.attach(sessionId, { ...quiet(), take: (event) => void seen.push(event.seq) }, start - 1);
      await new Promise((resolve) => setImmediate(resolve));
      await server.app.bus.publish(topics.sessionTimeline(sessionId), { sessionId, events: [late] });
      for (let i = 0; i < 5; i++) await new Promise((resolve) => setImmediate(resolve)); // the hub hands it over
      unlock();
      await locking;
      const detach = await attaching;
      while (seen.at(-1) !== late.seq) await new Promise((resolve) => setImmediate(resolve));
      assert.deepEqual(seen, [start, start + 1, start + 2, late.seq]);
      detach();
      detachFirst();
    });

    it("subscribers starting at different afterSeq while messages are written get exactly the events after theirs, in order", async () => {
      const { tutor, students, sessionId } = await activeLesson(server, 2);
      const writers = [tutor, ...students] as User[];
      const first: number = ok(await server.gql(CHAT, { s: sessionId, t: "m0" }, tutor.token)).sendChatMessage.seq;
      const TOTAL = 60;
      const sent: number[] = [first];
      const writing = (async () => {
        for (let i = 1; i < TOTAL; i++) {
          const writer = writers[i % writers.length];
          sent.push(ok(await server.gql(CHAT, { s: sessionId, t: `m${i}` }, writer.token)).sendChatMessage.seq);
        }
      })();
      // Subscribers start while the writer runs, each resuming from a seq already written.
      const subscribers: Array<{ after: number; stream: ReturnType<typeof watch> }> = [];
      while (subscribers.length < 8) {
        const after = sent[Math.floor(sent.length / 2)];
        subscribers.push({ after, stream: watch(server, writers[subscribers.length % writers.length].token, SYSTEM_EVENTS, { s: sessionId, after }) });
        await new Promise((resolve) => setImmediate(resolve));
      }
      await writing;
      const last = sent[sent.length - 1];
      for (const { after, stream } of subscribers) {
        const seqs: number[] = [];
        while (seqs.at(-1) !== last) seqs.push((await stream.next()).data.systemEvents.seq);
        assert.deepEqual(
          seqs,
          Array.from({ length: last - after }, (_, i) => after + 1 + i),
          `subscriber after ${after}`,
        );
        stream.close();
      }
    });

    it("a subscriber resuming further back than its buffer holds gets every event, then live ones, and leaves no hub behind", async () => {
      const { tutor, sessionId } = await activeLesson(server, 1);
      const feed = server.app.services.feed;
      const hubsBefore = feed.hubCount;
      // 1 500 recorded events (more than the 1 000 a subscriber's buffer holds), none announced.
      const first = await server.app.db.transaction(async (tx) => {
        const session = await lockSession(tx, sessionId);
        const events = Array.from({ length: 1500 }, (_, i) => ({ type: "CHAT_MESSAGE" as const, userId: tutor.id, data: { text: `m${i}` } }));
        return (await appendEvents(tx, session, events))[0].seq;
      });
      const client = server.wsClient(tutor.token);
      const resumed = watch(server, tutor.token, SYSTEM_EVENTS, { s: sessionId, after: first - 1 }, client);
      for (let i = 0; i < 1500; i++) {
        const frame = await resumed.next();
        assert.equal(frame.errors, undefined, JSON.stringify(frame.errors));
        assert.deepEqual(frame.data.systemEvents, { seq: first + i, kind: "CHAT_MESSAGE", message: `m${i}` });
      }
      const live = ok(await server.gql(CHAT, { s: sessionId, t: "live" }, tutor.token)).sendChatMessage.seq;
      assert.deepEqual((await resumed.next()).data.systemEvents, { seq: live, kind: "CHAT_MESSAGE", message: "live" });
      resumed.close();
      // Handled in order on the socket: once this answers, the subscription's end was too.
      assert.equal((await watch(server, tutor.token, `query { me { id } }`, {}, client).next()).data.me.id, tutor.id);
      assert.equal(feed.hubCount, hubsBefore);
      const metrics = await (
        await fetch(`${server.url}/metrics`, { headers: server.env.METRICS_TOKEN ? { authorization: `Bearer ${server.env.METRICS_TOKEN}` } : {} })
      ).text();
      assert.match(metrics, new RegExp(`^realtime_timeline_hubs ${hubsBefore}$`, "m"));
      await client.dispose();
    });
  });
}
