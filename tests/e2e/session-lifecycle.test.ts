import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { codeOf } from "../support/assertions";
import { backends } from "../support/backends";
import { registerUser, startTestServer, type TestServer } from "../support/test-server";

type User = Awaited<ReturnType<typeof registerUser>>;

/** Collects a subscription's frames; `next()` awaits the next one, `ended` the end or error. */
function collect(server: TestServer, token: string, query: string, variables: Record<string, unknown>) {
  const frames: any[] = [];
  const waiters: Array<() => void> = [];
  let error: unknown;
  let done = false;
  const client = server.wsClient(token);
  const ended = new Promise<void>((resolve) => {
    client.subscribe(
      { query, variables },
      {
        next: (frame) => {
          frames.push(frame);
          waiters.splice(0).forEach((w) => w());
        },
        error: (err) => {
          error = err;
          done = true;
          waiters.splice(0).forEach((w) => w());
          resolve();
        },
        complete: () => {
          done = true;
          waiters.splice(0).forEach((w) => w());
          resolve();
        },
      },
    );
  });
  let read = 0;
  return {
    frames,
    ended,
    get error() {
      return error;
    },
    async next(): Promise<any> {
      while (read >= frames.length) {
        if (done) throw new Error(`stream ended after ${frames.length} frames: ${JSON.stringify(error)}`);
        await new Promise<void>((r) => waiters.push(r));
      }
      return frames[read++];
    },
  };
}

const SYSTEM_EVENTS = `subscription($id: ID!, $after: Int) {
  systemEvents(sessionId: $id, afterSeq: $after) { seq kind status message participant { user { id } status } }
}`;

for (const backend of backends) {
  describe(`a lesson as a tutor and two students live it [${backend.name}]`, { skip: backend.skip }, () => {
    let server: TestServer;
    let tutor: User;
    let ann: User;
    let bob: User;
    let sessionId: string;
    let code: string;

    before(async () => {
      server = await startTestServer(backend);
      [tutor, ann, bob] = await Promise.all([
        registerUser(server, "TUTOR", "tutor"),
        registerUser(server, "STUDENT", "ann"),
        registerUser(server, "STUDENT", "bob"),
      ]);
    });
    after(() => server?.stop());

    const gql = (query: string, variables: Record<string, unknown>, user: User) => server.gql(query, variables, user.token);

    it("keeps a solo workspace ACTIVE until its owner completes it: no pause, no terminate", async () => {
      const solo = (await gql(`mutation { createSoloSession(title: "notes") { id status } }`, {}, ann)).body.data.createSoloSession;
      assert.equal(solo.status, "ACTIVE");
      for (const action of ["pauseSession", "terminateSession"]) {
        const refused = await gql(`mutation($s: ID!) { ${action}(id: $s) { status } }`, { s: solo.id }, ann);
        assert.equal(codeOf(refused), "INVALID_STATE", `${action}: ${refused.text}`);
      }
      const completed = await gql(`mutation($s: ID!) { completeSession(id: $s) { status } }`, { s: solo.id }, ann);
      assert.equal(completed.body.data.completeSession.status, "COMPLETED", completed.text);
    });

    it("creates a waiting session with an access code only the host sees", async () => {
      const res = await gql(
        `mutation { createSession(input: { type: GROUP, title: "Algebra", maxParticipants: 3 }) { id status accessCode host { id } } }`,
        {},
        tutor,
      );
      const session = res.body.data.createSession;
      assert.equal(session.status, "WAITING");
      assert.equal(session.host.id, tutor.id);
      assert.match(session.accessCode, /^[A-Z2-9]{10}$/);
      sessionId = session.id;
      code = session.accessCode;
      const stranger = await gql(`query($id: ID!) { session(id: $id) { id } }`, { id: sessionId }, ann);
      assert.equal(stranger.body.data.session, null);
    });

    it("lets students join by code and see the session, but not its code", async () => {
      for (const student of [ann, bob]) {
        const res = await gql(
          `mutation($code: String!) { joinSessionByCode(accessCode: $code) { sessionToken participant { role status user { id } } session { id accessCode } } }`,
          { code: code.toLowerCase() },
          student,
        );
        const join = res.body.data.joinSessionByCode;
        assert.deepEqual(join.participant, { role: "STUDENT", status: "JOINING", user: { id: student.id } });
        assert.deepEqual(join.session, { id: sessionId, accessCode: null });
        assert.equal(server.app.tokens.verify(join.sessionToken, ["session"]).kind, "session");
      }
    });

    it("runs start, pause, resume as the host, streaming status changes in seq order", async () => {
      const events = collect(server, ann.token, SYSTEM_EVENTS, { id: sessionId, after: 0 });
      // The backfill: created, then the two joins.
      const created = await events.next();
      assert.deepEqual([created.data.systemEvents.kind, created.data.systemEvents.status], ["SESSION_STATUS", "WAITING"]);
      for (const student of [ann, bob]) {
        const joined = (await events.next()).data.systemEvents;
        assert.equal(joined.kind, "PARTICIPANT_UPDATE");
        assert.equal(joined.participant.user.id, student.id);
      }
      for (const [mutation, status] of [
        ["startSession", "ACTIVE"],
        ["pauseSession", "PAUSED"],
        ["resumeSession", "ACTIVE"],
      ]) {
        const res = await gql(`mutation($id: ID!) { ${mutation}(id: $id) { status } }`, { id: sessionId }, tutor);
        assert.equal(res.body.data[mutation].status, status);
        const event = (await events.next()).data.systemEvents;
        assert.deepEqual([event.kind, event.status], ["SESSION_STATUS", status]);
      }
      const seqs = events.frames.map((f) => f.data.systemEvents.seq);
      assert.deepEqual(seqs, [1, 2, 3, 4, 5, 6]);
      const forbidden = await gql(`mutation($id: ID!) { pauseSession(id: $id) { status } }`, { id: sessionId }, ann);
      assert.equal(codeOf(forbidden), "FORBIDDEN");
      const illegal = await gql(`mutation($id: ID!) { startSession(id: $id) { status } }`, { id: sessionId }, tutor);
      assert.equal(codeOf(illegal), "INVALID_STATE");
    });

    it("allows one screen sharer at a time", async () => {
      const share = (user: User) =>
        gql(`mutation($id: ID!) { updateMediaState(sessionId: $id, input: { screenSharing: true }) { media { screenSharing } } }`, { id: sessionId }, user);
      assert.equal((await share(ann)).body.data.updateMediaState.media.screenSharing, true);
      assert.equal(codeOf(await share(bob)), "CONFLICT");
    });

    it("kicks: the kicked user gets KICKED, then their stream ends FORBIDDEN, and the session disappears for them", async () => {
      // From seq 0: the backfill and the live stream meet without a gap, so no race with the kick.
      const bobEvents = collect(server, bob.token, SYSTEM_EVENTS, { id: sessionId, after: 0 });
      assert.equal((await bobEvents.next()).data.systemEvents.seq, 1); // subscribed before the kick
      const kicked = await gql(
        `mutation($id: ID!, $user: ID!) { kickParticipant(sessionId: $id, userId: $user, reason: "noise") { status } }`,
        { id: sessionId, user: bob.id },
        tutor,
      );
      assert.equal(kicked.body.data.kickParticipant.status, "KICKED");
      let kick = (await bobEvents.next()).data.systemEvents;
      while (kick.kind !== "KICKED") kick = (await bobEvents.next()).data.systemEvents;
      assert.deepEqual([kick.kind, kick.message], ["KICKED", "noise"]);
      await bobEvents.ended;
      assert.equal((bobEvents.error as any)?.[0]?.extensions?.code, "FORBIDDEN");
      const gone = await gql(`query($id: ID!) { session(id: $id) { id } }`, { id: sessionId }, bob);
      assert.equal(gone.body.data.session, null);
      const rejoin = await gql(`mutation($code: String!) { joinSessionByCode(accessCode: $code) { participant { id } } }`, { code }, bob);
      assert.equal(codeOf(rejoin), "FORBIDDEN");
    });

    it("completes: streams end after the final status, and the timeline has no gap", async () => {
      const events = collect(server, ann.token, SYSTEM_EVENTS, { id: sessionId, after: 0 });
      const res = await gql(
        `mutation($id: ID!) { completeSession(id: $id) { status actualEnd totalDurationSeconds participants { user { id } status } } }`,
        { id: sessionId },
        tutor,
      );
      const done = res.body.data.completeSession;
      assert.equal(done.status, "COMPLETED");
      assert.ok(done.actualEnd);
      await events.ended;
      assert.equal(events.error, undefined);
      const last = events.frames[events.frames.length - 1].data.systemEvents;
      assert.deepEqual([last.kind, last.status], ["SESSION_STATUS", "COMPLETED"]);
      const rows: Array<{ seq: number }> = await server.app.db.query(`SELECT seq FROM session_events WHERE session_id = $1 ORDER BY seq`, [sessionId]);
      assert.deepEqual(
        rows.map((r) => r.seq),
        Array.from({ length: rows.length }, (_, i) => i + 1),
      );
      assert.deepEqual(
        events.frames.map((f) => f.data.systemEvents.seq),
        rows.map((r) => r.seq).filter((s) => events.frames.some((f) => f.data.systemEvents.seq === s)),
      );
    });
  });
}
