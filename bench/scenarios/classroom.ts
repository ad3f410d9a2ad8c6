/**
 * classroom: a school's lessons in miniature. SESSIONS sessions × PER_SESSION participants
 * for DURATION_MS on INSTANCES API server processes sharing one Postgres and one Redis, each
 * participant on a graphql-ws socket to one of them (alternating), subscribed to its
 * session's board events and presence. The mix of a lesson, per session: DRAWERS
 * participants draw batches of 1–20 strokes about once a second and move their cursors at
 * 20 Hz; a chat message every 2 s and a hand raised or lowered every 5 s by someone; every
 * participant reads the session page every 10 s; one seek a minute to a random instant of
 * what the lesson has recorded so far. Measured: each operation's latency, request to
 * answer (p50/p95/p99), and the servers' CPU. Goal: p95 under 200 ms for every operation.
 *
 * Checked: no answer carries an error, and every participant's board subscription ends with
 * every board version of its session exactly once, in order.
 *
 * No baseline yet: the hand-written stand-ins of ingest, query and seek cover one operation
 * each; the mix against all of them at once is still to build.
 */
import { connectGraphqlWs, gql, pool, postJson } from "../lib/clients";
import { check, cpuSeconds, percentile, scaledMs, sleep } from "../lib/measure";
import { row, type Row, type Scenario } from "../lib/scenario";
import { createSession, type ApiServer } from "../lib/stack";

const SESSIONS = 20;
const PER_SESSION = 25;
const INSTANCES = 2;
const DRAWERS = 3;
const CURSOR_HZ = 20;
const P95_GOAL_MS = 200;

const BOARD = `subscription($s: ID!) { boardEvents(sessionId: $s) { version } }`;
const PRESENCE = `subscription($s: ID!) { presence(sessionId: $s) { kind } }`;
const MOVE = `mutation($s: ID!, $x: Float!, $y: Float!) { moveCursor(sessionId: $s, x: $x, y: $y) }`;
const APPLY = `mutation($s: ID!, $events: [BoardEventInput!]!) { applyBoardEvents(sessionId: $s, events: $events) { version } }`;
const CHAT = `mutation($s: ID!, $t: String!) { sendChatMessage(sessionId: $s, text: $t) { seq } }`;
const HAND = `mutation($s: ID!, $r: Boolean!) { raiseHand(sessionId: $s, raised: $r) { handRaised } }`;
const PAGE = `query($id: ID!) { session(id: $id) { participants { user { displayName } } timeline(first: 20) { edges { node { type } } } } }`;
const SEEK = `query($s: ID!, $t: SafeInt!) { session(id: $s) { replayBoardAt(timestampMs: $t) { version objectCount objects } } }`;

const OPERATIONS = ["strokes", "cursor", "chat", "hand", "page", "seek"] as const;
type Operation = (typeof OPERATIONS)[number];

interface ClassSession {
  id: string;
  /** The host's first, then the students'. */
  tokens: string[];
}

interface RunResult {
  /** Latencies in ms per operation. */
  latencies: Record<Operation, number[]>;
  /** The load generator's worst event-loop delay, ms: above a few ms, latencies include its own lag. */
  loopLagMs: number;
}

/** Uniform in [min, max). */
const between = (min: number, max: number) => min + Math.random() * (max - min);

export const remote = {
  async run(a: { urls: string[]; sessions: ClassSession[]; durationMs: number }): Promise<RunResult> {
    const latencies = Object.fromEntries(OPERATIONS.map((op) => [op, [] as number[]])) as Record<Operation, number[]>;
    const failures: string[] = [];
    const fail = (message: string) => failures.length < 5 && failures.push(message);
    /** Times one request; an error in its answer is a failure, its latency is counted either way. */
    const timed = async (op: Operation, request: () => Promise<unknown>) => {
      const t0 = performance.now();
      try {
        await request();
      } catch (err) {
        const { code, reusedSocket } = err as { code?: string; reusedSocket?: boolean };
        fail(`${op}: ${err instanceof Error ? err.message : String(err)}${code ? ` (${code}${reusedSocket ? ", on a kept-alive socket" : ""})` : ""}`);
      }
      latencies[op].push(performance.now() - t0);
    };

    // Every participant's socket, subscribed to its session's board events and presence.
    const seen = a.sessions.map((s) => s.tokens.map(() => [] as number[]));
    const sockets: Array<{ move: (x: number, y: number) => void; close: () => void }[]> = a.sessions.map(() => []);
    await pool(a.sessions.length * PER_SESSION, 20, async (k) => {
      const s = Math.floor(k / PER_SESSION);
      const p = k % PER_SESSION;
      const session = a.sessions[s];
      const sentAt = new Map<string, number>();
      let ready: () => void = () => undefined;
      const subscribed = new Promise<void>((resolve) => (ready = resolve));
      const conn = await connectGraphqlWs(a.urls[k % a.urls.length], session.tokens[p], {
        next: (id, payload) => {
          if (payload.errors) return void fail(`${id}: ${JSON.stringify(payload.errors).slice(0, 300)}`);
          if (id === "b") seen[s][p].push(payload.data.boardEvents.version);
          else if (id === "p") ready();
          else {
            latencies.cursor.push(performance.now() - (sentAt.get(id) as number));
            sentAt.delete(id);
          }
        },
        end: (id, err) => (id === "b" || id === "p" || err) && fail(`operation ${id} ended: ${JSON.stringify(err ?? "")}`),
        close: (code, reason) => fail(`socket closed ${code} ${reason}`),
      });
      conn.subscribe("b", BOARD, { s: session.id });
      conn.subscribe("p", PRESENCE, { s: session.id });
      await subscribed;
      let n = 0;
      sockets[s][p] = {
        move: (x, y) => {
          const id = `m${n++}`;
          sentAt.set(id, performance.now());
          conn.subscribe(id, MOVE, { s: session.id, x, y });
        },
        close: () => conn.close(),
      };
    });

    const t0 = performance.now();
    const running = () => performance.now() - t0 < a.durationMs;
    const url = (s: number, p: number) => a.urls[(s * PER_SESSION + p) % a.urls.length];
    const finalVersions: number[] = a.sessions.map(() => 0);
    let loopLagMs = 0;
    let lastTick = performance.now();
    const lag = setInterval(() => {
      const now = performance.now();
      loopLagMs = Math.max(loopLagMs, now - lastTick - 100);
      lastTick = now;
    }, 100);

    const loops: Array<Promise<void>> = [];
    /** `body` every `everyMs` (jittered ±50%) from a random phase, while the run lasts. */
    const every = (everyMs: number, body: () => Promise<void> | void) =>
      loops.push(
        (async () => {
          await sleep(between(0, everyMs));
          while (running()) {
            const next = performance.now() + between(everyMs / 2, (everyMs * 3) / 2);
            await body();
            await sleep(Math.max(0, next - performance.now()));
          }
        })(),
      );

    a.sessions.forEach((session, s) => {
      for (let d = 0; d < DRAWERS; d++) {
        let strokes = 0;
        every(1000, () =>
          timed("strokes", async () => {
            const size = 1 + Math.floor(Math.random() * 20);
            const events = Array.from({ length: size }, () => {
              const n = strokes++;
              return { clientOpId: `c${d}-${n}`, type: "STROKE", baseVersion: 0, data: { id: `s${d}-${n}`, points: [[n % 800, d * 100], [(n % 800) + 5, d * 100 + 5]], color: "#1e88e5" } };
            });
            const { applyBoardEvents } = await gql(url(s, d), APPLY, { s: session.id, events }, session.tokens[d]);
            finalVersions[s] = Math.max(finalVersions[s], applyBoardEvents.version);
          }),
        );
        let x = 0;
        every(1000 / CURSOR_HZ, () => sockets[s][d].move((x = (x + 7) % 800), d * 100));
      }
      every(2000, () => {
        const p = Math.floor(Math.random() * PER_SESSION);
        return timed("chat", () => gql(url(s, p), CHAT, { s: session.id, t: `question ${Math.random().toString(36).slice(2, 8)}` }, session.tokens[p]));
      });
      const raised = new Set<number>();
      every(5000, () => {
        const p = 1 + Math.floor(Math.random() * (PER_SESSION - 1));
        const r = !raised.has(p);
        if (r) raised.add(p);
        else raised.delete(p);
        return timed("hand", () => gql(url(s, p), HAND, { s: session.id, r }, session.tokens[p]));
      });
      for (let p = 0; p < PER_SESSION; p++) {
        every(10_000, () =>
          timed("page", async () => {
            const answer = await postJson(`${url(s, p)}/graphql`, { query: PAGE, variables: { id: session.id } }, { authorization: `Bearer ${session.tokens[p]}` });
            if (answer.errors) throw new Error(JSON.stringify(answer.errors).slice(0, 300));
            check(answer.data.session.participants.length === PER_SESSION, `page: ${answer.data.session.participants.length} participants, expected ${PER_SESSION}`);
          }),
        );
      }
      // One seek a minute, at a random moment of the run, to a random instant recorded so far.
      loops.push(
        (async () => {
          await sleep(between(a.durationMs / 6, (a.durationMs * 5) / 6));
          const sinceStart = performance.now() - t0;
          await timed("seek", () => gql(url(s, 0), SEEK, { s: session.id, t: Math.floor(between(0, sinceStart)) }, session.tokens[0]));
        })(),
      );
    });
    await Promise.all(loops);
    clearInterval(lag);

    // Every subscriber must end with every version of its session's board, once and in order.
    const drained = performance.now() + 10_000;
    const complete = () => seen.every((subs, s) => subs.every((versions) => versions.at(-1) === finalVersions[s]));
    while (!complete() && performance.now() < drained) await sleep(50);
    seen.forEach((subs, s) =>
      subs.forEach((versions, p) => {
        const gap = versions.findIndex((v, i) => v !== i + 1);
        if (gap !== -1 || versions.length !== finalVersions[s]) fail(`session ${s} participant ${p}: saw ${versions.length} board versions of ${finalVersions[s]}, first out of order at ${gap}`);
      }),
    );
    sockets.flat().forEach((socket) => socket.close());
    check(failures.length === 0, `classroom: ${failures.join("; ")}`);
    return { latencies, loopLagMs: Math.round(loopLagMs) };
  },
};

export const classroom: Scenario = {
  name: "classroom",
  async run(ctx) {
    const servers: ApiServer[] = [];
    try {
      for (let i = 0; i < INSTANCES; i++) servers.push(await ctx.stack.startServer(ctx.profileName(`instance${i + 1}`)));
      const urls = servers.map((s) => s.url);
      const tutors = await ctx.stack.seedUsers("classroom-tutor", SESSIONS, "TUTOR");
      const students = await ctx.stack.seedUsers("classroom-student", SESSIONS * (PER_SESSION - 1), "STUDENT");
      const sessions: ClassSession[] = [];
      for (let s = 0; s < SESSIONS; s++) {
        const joined = students.slice(s * (PER_SESSION - 1), (s + 1) * (PER_SESSION - 1));
        const id = await createSession(urls[s % urls.length], tutors[s], joined);
        sessions.push({ id, tokens: [tutors[s], ...joined].map((u) => u.token) });
      }
      const durationMs = scaledMs(60_000);
      ctx.log(`${SESSIONS} sessions × ${PER_SESSION} participants on ${INSTANCES} instances for ${durationMs / 1000} s`);
      const cpuBefore = servers.map((s) => cpuSeconds(s.pid));
      const t0 = performance.now();
      const result = await ctx.load.call<RunResult>("classroom", "run", { urls, sessions, durationMs });
      const cpu = servers.reduce((sum, s, i) => sum + cpuSeconds(s.pid) - cpuBefore[i], 0);
      const wallSeconds = (performance.now() - t0) / 1000;
      const cpuNote = `servers ${Math.round((cpu / wallSeconds) * 100)}% of one core over the run (setup and drain included); load generator's worst loop delay ${result.loopLagMs} ms`;
      ctx.log(cpuNote);
      return OPERATIONS.map((op): Row => {
        const times = result.latencies[op];
        const p = (q: number) => Math.round(percentile(times, q) * 10) / 10;
        return row(`classroom ${op}`, "p95 ms", p(95), NaN, { op: "<=", value: P95_GOAL_MS, absolute: true }, `${times.length} calls, p50 ${p(50)} ms, p99 ${p(99)} ms${op === "seek" ? `; ${cpuNote}` : ""}`);
      });
    } finally {
      await Promise.all(servers.map((s) => s.stop()));
    }
  },
};
