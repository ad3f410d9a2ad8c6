import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { acrossInstances, backends } from "../support/backends";
import { registerUser, startTwoInstances, type TestServer } from "../support/test-server";

// Two instances of the API on one database and one Redis, in this process: what a client
// connected to one of them sees of the writes made through the other.

const T = { timeout: 20_000 };
const PROFILE = `subscription { myProfile { id displayName createdAt } }`;

/** The myProfile frames of `token` on `server`, as an async iterator (graphql-ws `iterate`). */
function profileFrames(server: TestServer, token: string) {
  return server.wsClient(token).iterate<{ myProfile: { id: string; displayName: string; createdAt: string } }>({ query: PROFILE });
}

type Frames = ReturnType<typeof profileFrames>;

async function nextProfile(frames: Frames) {
  const { value, done } = await frames.next();
  assert.ok(!done, "the subscription ended");
  assert.equal(value.errors, undefined, JSON.stringify(value.errors));
  return value.data!.myProfile;
}

async function updateDisplayName(server: TestServer, token: string, displayName: string): Promise<void> {
  const res = await server.gql(`mutation($n: String!) { updateProfile(input: { displayName: $n }) { displayName } }`, { n: displayName }, token);
  assert.equal(res.body.data?.updateProfile.displayName, displayName, res.text);
}

for (const backend of backends) {
  describe(
    `realtime across instances [${backend.name}]`,
    {
      skip: acrossInstances(backend),
    },
    () => {
      let a: TestServer;
      let b: TestServer;
      startTwoInstances(backend, (first, second) => ([a, b] = [first, second]));

      it("delivers to a subscriber on B each profile change made through A's HTTP API, in order", T, async () => {
        const user = await registerUser(a);
        const frames = profileFrames(b, user.token);
        assert.equal((await nextProfile(frames)).id, user.id);
        const names = Array.from({ length: 10 }, (_, i) => `made on A #${i + 1}`);
        for (const name of names) await updateDisplayName(a, user.token, name);
        const received = [];
        for (const _ of names) received.push((await nextProfile(frames)).displayName);
        assert.deepEqual(received, names);
        await frames.return?.();
      });

      it("ends a kicked user's systemEvents on B, KICKED first, when the kick is made on A", T, async () => {
        const tutor = await registerUser(a, "TUTOR");
        const student = await registerUser(a, "STUDENT");
        const created = await a.gql(`mutation { createSession(input: { type: GROUP }) { id accessCode } }`, {}, tutor.token);
        const { id, accessCode } = created.body.data.createSession;
        await b.gql(`mutation($c: String!) { joinSessionByCode(accessCode: $c) { participant { id } } }`, { c: accessCode }, student.token);
        const frames = b.wsClient(student.token).iterate<any>({
          query: `subscription($s: ID!) { systemEvents(sessionId: $s, afterSeq: 0) { seq kind status } }`,
          variables: { s: id },
        });
        const kinds: string[] = [];
        // Backfill up to the join, so the subscription is live before the kick.
        for (let seq = 0; seq < 2;) {
          const { value } = await frames.next();
          seq = value.data.systemEvents.seq;
          kinds.push(value.data.systemEvents.kind);
        }
        await a.gql(`mutation($s: ID!) { startSession(id: $s) { status } }`, { s: id }, tutor.token);
        await a.gql(`mutation($s: ID!, $u: ID!) { kickParticipant(sessionId: $s, userId: $u) { status } }`, { s: id, u: student.id }, tutor.token);
        const error = await (async () => {
          try {
            for (;;) {
              const { value, done } = await frames.next();
              if (done) return undefined;
              kinds.push(value.data.systemEvents.kind);
            }
          } catch (err) {
            return err as Array<{ extensions?: { code?: string } }>;
          }
        })();
        assert.deepEqual(kinds, ["SESSION_STATUS", "PARTICIPANT_UPDATE", "SESSION_STATUS", "KICKED"]);
        assert.equal(error?.[0]?.extensions?.code, "FORBIDDEN");
      });

      it("delivers to a subscriber on A the profile changes made through B", T, async () => {
        const user = await registerUser(b);
        const frames = profileFrames(a, user.token);
        await nextProfile(frames);
        for (const name of ["made on B #1", "made on B #2", "made on B #3"]) {
          await updateDisplayName(b, user.token, name);
          assert.equal((await nextProfile(frames)).displayName, name);
        }
        await frames.return?.();
      });

      it("delivers dates intact across instances", T, async () => {
        const user = await registerUser(a);
        const me = await a.gql(`{ me { createdAt } }`, {}, user.token);
        const createdAt: string = me.body.data.me.createdAt;
        assert.equal(new Date(createdAt).toISOString(), createdAt);
        const frames = profileFrames(b, user.token);
        assert.equal((await nextProfile(frames)).createdAt, createdAt);
        await updateDisplayName(a, user.token, "dated");
        assert.deepEqual(await nextProfile(frames), { id: user.id, displayName: "dated", createdAt });
        await frames.return?.();
      });

      it("lets subscribers on both instances see the same changes", T, async () => {
        const user = await registerUser(a);
        const onA = profileFrames(a, user.token);
        const onB = profileFrames(b, user.token);
        await Promise.all([nextProfile(onA), nextProfile(onB)]);
        await updateDisplayName(b, user.token, "seen everywhere");
        const [fromA, fromB] = await Promise.all([nextProfile(onA), nextProfile(onB)]);
        assert.equal(fromA.displayName, "seen everywhere");
        assert.deepEqual(fromB, fromA);
        await Promise.all([onA.return?.(), onB.return?.()]);
      });
    },
  );
}
