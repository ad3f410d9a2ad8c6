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
 * Baseline: the same mix, after the project's, against INSTANCES hand-written stand-ins
 * (each its own process: node:http + `ws`, raw SQL through `pg` on the same tables, Redis
 * pub/sub between them) on sessions of their own with the same participants: a stroke batch
 * is one statement that advances the board version and inserts the events, then every
 * version goes to the session's sockets; chat one INSERT and hand one UPDATE, each
 * broadcast; a cursor move relayed to the session's other sockets; the page query's
 * baseline (query.ts) and the seek's (seek.ts, no apply). No auth, no rate limits, no
 * keyframes. Its p95 is shown beside the project's; the goal stays the project's own p95.
 *
 * Checked on both sides: no answer carries an error, and every participant's board stream
 * ends with every board version of its session exactly once (on the project's, in order).
 */
import http from "node:http";
import { Redis } from "ioredis";
import { Pool } from "pg";
import WebSocket, { WebSocketServer } from "ws";
import { connectGraphqlWs, connectPlainWs, gql, pool, postJson } from "../lib/clients";
import { check, cpuSeconds, percentile, scaledMs, sleep } from "../lib/measure";
import { row, type Row, type Scenario } from "../lib/scenario";
import { createSession, type ApiServer } from "../lib/stack";
import { sessionPageHandler } from "./query";
import { seekRows, snapshotTable } from "./seek";

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

/** The stand-ins' one Redis channel: every instance hears every session's broadcasts and keeps its own sockets'. */
const STAND_IN_CHANNEL = "bench:classroom:stand-in";

/**
 * Milliseconds since the session started by the database's clock, never going back: how the
 * project stamps its timeline (timeline.ts), so that a seek's instant means the same on both sides.
 */
const ELAPSED_MS = `GREATEST(last_event_ms, floor(extract(epoch FROM clock_timestamp()) * 1000)::bigint - floor(extract(epoch FROM actual_start) * 1000)::bigint)`;

/**
 * A stroke batch in one statement: the session row's lock (the UPDATE) orders the batches of
 * one session, as the project's board write does, so its versions stay contiguous.
 */
const STROKES_SQL = `
  WITH clock AS (
    UPDATE classroom_sessions
       SET board_version = board_version + $2, last_seq = last_seq + $2, last_event_ms = ${ELAPSED_MS}, updated_at = CURRENT_TIMESTAMP
     WHERE id = $1
     RETURNING board_version - $2 AS version, last_seq - $2 AS seq, last_event_ms AS ms)
  INSERT INTO session_events (session_id, seq, timestamp_ms, type, user_id, data, client_op_id, board_version)
  SELECT $1, clock.seq + e.n, clock.ms, 'BOARD_STROKE', $3, e.op -> 'data', e.op ->> 'clientOpId', clock.version + e.n
    FROM clock, jsonb_array_elements($4::jsonb) WITH ORDINALITY AS e(op, n)
  RETURNING board_version`;

const CHAT_SQL = `
  WITH clock AS (
    UPDATE classroom_sessions SET last_seq = last_seq + 1, last_event_ms = ${ELAPSED_MS}, updated_at = CURRENT_TIMESTAMP
     WHERE id = $1
     RETURNING last_seq AS seq, last_event_ms AS ms)
  INSERT INTO session_events (session_id, seq, timestamp_ms, type, user_id, data)
  SELECT $1, clock.seq, clock.ms, 'CHAT_MESSAGE', $2, $3 FROM clock
  RETURNING seq`;

const HAND_SQL = `UPDATE session_participants SET hand_raised = $3, updated_at = CURRENT_TIMESTAMP WHERE session_id = $1 AND user_id = $2 RETURNING hand_raised`;

interface ClassSession {
  id: string;
  /** The host's first, then the students'; `userIds` in the same order. */
  tokens: string[];
  userIds: string[];
}

interface RunResult {
  /** Latencies in ms per operation. */
  latencies: Record<Operation, number[]>;
  /** The load generator's worst event-loop delay, ms: above a few ms, latencies include its own lag. */
  loopLagMs: number;
}

/** What a participant's socket reports to the mix. */
interface SocketEvents {
  /** A board version of the participant's session. */
  version(v: number): void;
  /** The answer to the participant's move `id`. */
  moved(id: string): void;
  fail(message: string): void;
}

/**
 * One side as the mix drives it: participant `p` of session `s` (p = 0 is the host, the
 * drawers are the first DRAWERS). Every operation answers once its answer has arrived and
 * throws on an error in it.
 */
interface Side {
  /** Whether a socket gets its session's board versions in order. */
  ordered: boolean;
  /** The participant's socket, once it is ready to receive its session's board versions. */
  connect(s: number, p: number, on: SocketEvents): Promise<{ move(id: string, x: number, y: number): void; close(): void }>;
  /** Answers the batch's last board version. */
  strokes(s: number, p: number, events: StrokeOp[]): Promise<number>;
  chat(s: number, p: number, text: string): Promise<unknown>;
  hand(s: number, p: number, raised: boolean): Promise<unknown>;
  /** Answers the number of participants the page lists. */
  page(s: number, p: number): Promise<number>;
  seek(s: number, timestampMs: number): Promise<unknown>;
}

interface StrokeOp {
  clientOpId: string;
  type: "STROKE";
  baseVersion: number;
  data: { id: string; points: number[][]; color: string };
}

/** Participant k of the run (session-major) talks to instance k mod INSTANCES, on both sides. */
const instanceOf = (urls: string[], s: number, p: number) => urls[(s * PER_SESSION + p) % urls.length];

/** The project: graphql-ws sockets and GraphQL over HTTP, with each participant's token. */
function projectSide(urls: string[], sessions: ClassSession[]): Side {
  const url = (s: number, p: number) => instanceOf(urls, s, p);
  return {
    ordered: true,
    async connect(s, p, on) {
      const session = sessions[s];
      let ready: () => void = () => undefined;
      const subscribed = new Promise<void>((resolve) => (ready = resolve));
      const conn = await connectGraphqlWs(url(s, p), session.tokens[p], {
        next: (id, payload) => {
          if (payload.errors) return void on.fail(`${id}: ${JSON.stringify(payload.errors).slice(0, 300)}`);
          if (id === "b") on.version(payload.data.boardEvents.version);
          else if (id === "p") ready();
          else on.moved(id);
        },
        end: (id, err) => void ((id === "b" || id === "p" || err) && on.fail(`operation ${id} ended: ${JSON.stringify(err ?? "")}`)),
        close: (code, reason) => on.fail(`socket closed ${code} ${reason}`),
      });
      conn.subscribe("b", BOARD, { s: session.id });
      conn.subscribe("p", PRESENCE, { s: session.id });
      await subscribed;
      return { move: (id, x, y) => conn.subscribe(id, MOVE, { s: session.id, x, y }), close: () => conn.close() };
    },
    async strokes(s, p, events) {
      const { applyBoardEvents } = await gql(url(s, p), APPLY, { s: sessions[s].id, events }, sessions[s].tokens[p]);
      return applyBoardEvents.version;
    },
    chat: (s, p, text) => gql(url(s, p), CHAT, { s: sessions[s].id, t: text }, sessions[s].tokens[p]),
    hand: (s, p, raised) => gql(url(s, p), HAND, { s: sessions[s].id, r: raised }, sessions[s].tokens[p]),
    async page(s, p) {
      const answer = await postJson(
        `${url(s, p)}/graphql`,
        { query: PAGE, variables: { id: sessions[s].id } },
        { authorization: `Bearer ${sessions[s].tokens[p]}` },
      );
      if (answer.errors) throw new Error(JSON.stringify(answer.errors).slice(0, 300));
      return answer.data.session.participants.length;
    },
    seek: (s, t) => gql(url(s, 0), SEEK, { s: sessions[s].id, t }, sessions[s].tokens[0]),
  };
}

/** The stand-ins: plain JSON on their sockets, JSON POSTs for the rest (serve's protocol). */
function standInSide(urls: string[], sessions: ClassSession[]): Side {
  const url = (s: number, p: number) => instanceOf(urls, s, p);
  return {
    ordered: false,
    async connect(s, p, on) {
      // Open is ready: the stand-in files the socket under its session before its handshake answer leaves.
      const ws = await connectPlainWs(`${url(s, p).replace(/^http/, "ws")}/?session=${sessions[s].id}`);
      ws.on("message", (data) => {
        const message = JSON.parse(String(data));
        if (message.v !== undefined) on.version(message.v);
        else if (message.error !== undefined) on.fail(`socket: ${message.error}`);
        else if (message.m !== undefined) on.moved(message.m);
      });
      ws.on("error", () => undefined); // its close follows, and reports it
      ws.on("close", (code, reason) => on.fail(`socket closed ${code} ${reason}`));
      return { move: (id, x, y) => ws.send(JSON.stringify({ m: id, x, y })), close: () => ws.terminate() };
    },
    async strokes(s, p, events) {
      const { version } = await postJson(`${url(s, p)}/strokes`, { s: sessions[s].id, u: sessions[s].userIds[p], events });
      return version;
    },
    chat: (s, p, text) => postJson(`${url(s, p)}/chat`, { s: sessions[s].id, u: sessions[s].userIds[p], text }),
    hand: (s, p, raised) => postJson(`${url(s, p)}/hand`, { s: sessions[s].id, u: sessions[s].userIds[p], raised }),
    async page(s, p) {
      const answer = await postJson(`${url(s, p)}/graphql`, { query: PAGE, variables: { id: sessions[s].id } });
      if (answer.errors) throw new Error(JSON.stringify(answer.errors).slice(0, 300));
      return answer.data.session.participants.length;
    },
    seek: (s, t) => postJson(`${url(s, 0)}/seek`, { s: sessions[s].id, t }),
  };
}

/** What a stand-in publishes: frames for the sockets of session `s` on every instance, but socket `except`. */
interface Broadcast {
  s: string;
  frames: string[];
  except?: string;
}

/** Uniform in [min, max). */
const between = (min: number, max: number) => min + Math.random() * (max - min);

export const remote = {
  /** The lesson mix for `durationMs` against one side; throws a wrong answer at its end. */
  async run(a: { side: "project" | "stand-in"; urls: string[]; sessions: ClassSession[]; durationMs: number }): Promise<RunResult> {
    const side = (a.side === "project" ? projectSide : standInSide)(a.urls, a.sessions);
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

    // Every participant's socket, receiving its session's board versions.
    const seen = a.sessions.map((s) => s.tokens.map(() => [] as number[]));
    const sockets: Array<{ move: (x: number, y: number) => void; close: () => void }[]> = a.sessions.map(() => []);
    await pool(a.sessions.length * PER_SESSION, 20, async (k) => {
      const s = Math.floor(k / PER_SESSION);
      const p = k % PER_SESSION;
      const sentAt = new Map<string, number>();
      const socket = await side.connect(s, p, {
        version: (v) => seen[s][p].push(v),
        moved: (id) => {
          latencies.cursor.push(performance.now() - (sentAt.get(id) as number));
          sentAt.delete(id);
        },
        fail,
      });
      let n = 0;
      sockets[s][p] = {
        move: (x, y) => {
          const id = `m${n++}`;
          sentAt.set(id, performance.now());
          socket.move(id, x, y);
        },
        close: () => socket.close(),
      };
    });

    const t0 = performance.now();
    const running = () => performance.now() - t0 < a.durationMs;
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

    a.sessions.forEach((_, s) => {
      for (let d = 0; d < DRAWERS; d++) {
        let strokes = 0;
        every(1000, () =>
          timed("strokes", async () => {
            const size = 1 + Math.floor(Math.random() * 20);
            const events = Array.from({ length: size }, (): StrokeOp => {
              const n = strokes++;
              return {
                clientOpId: `c${d}-${n}`,
                type: "STROKE",
                baseVersion: 0,
                data: {
                  id: `s${d}-${n}`,
                  points: [
                    [n % 800, d * 100],
                    [(n % 800) + 5, d * 100 + 5],
                  ],
                  color: "#1e88e5",
                },
              };
            });
            const version = await side.strokes(s, d, events);
            finalVersions[s] = Math.max(finalVersions[s], version); // read after the await: the other drawers' answers land meanwhile
          }),
        );
        let x = 0;
        every(1000 / CURSOR_HZ, () => sockets[s][d].move((x = (x + 7) % 800), d * 100));
      }
      every(2000, () => {
        const p = Math.floor(Math.random() * PER_SESSION);
        return timed("chat", () => side.chat(s, p, `question ${Math.random().toString(36).slice(2, 8)}`));
      });
      const raised = new Set<number>();
      every(5000, () => {
        const p = 1 + Math.floor(Math.random() * (PER_SESSION - 1));
        const r = !raised.has(p);
        if (r) raised.add(p);
        else raised.delete(p);
        return timed("hand", () => side.hand(s, p, r));
      });
      for (let p = 0; p < PER_SESSION; p++) {
        every(10_000, () =>
          timed("page", async () => {
            const participants = await side.page(s, p);
            check(participants === PER_SESSION, `page: ${participants} participants, expected ${PER_SESSION}`);
          }),
        );
      }
      // One seek a minute, at a random moment of the run, to a random instant recorded so far.
      loops.push(
        (async () => {
          await sleep(between(a.durationMs / 6, (a.durationMs * 5) / 6));
          const sinceStart = performance.now() - t0;
          await timed("seek", () => side.seek(s, Math.floor(between(0, sinceStart))));
        })(),
      );
    });
    await Promise.all(loops);
    clearInterval(lag);

    // Every socket must end with every version of its session's board, once. In order on the
    // project's side; not on the stand-ins': each instance publishes a batch once its own
    // statement has committed, so two batches of a session committed by the two instances (or
    // by two requests on one) can reach Redis in either order. There the set is checked.
    const drained = performance.now() + 10_000;
    const complete = () => seen.every((subs, s) => subs.every((versions) => versions.length >= finalVersions[s]));
    while (!complete() && performance.now() < drained) await sleep(50);
    seen.forEach((subs, s) =>
      subs.forEach((versions, p) => {
        const got = side.ordered ? versions : [...versions].sort((x, y) => x - y);
        const gap = got.findIndex((v, i) => v !== i + 1);
        if (gap !== -1 || got.length !== finalVersions[s]) {
          fail(
            `session ${s} participant ${p}: saw ${versions.length} board versions of ${finalVersions[s]}, first ${side.ordered ? "out of order" : "missing or repeated"} at ${gap}`,
          );
        }
      }),
    );
    sockets.flat().forEach((socket) => socket.close());
    check(failures.length === 0, `classroom (${a.side}): ${failures.join("; ")}`);
    return { latencies, loopLagMs: Math.round(loopLagMs) };
  },

  /**
   * One stand-in instance: node:http + `ws` on the bench's Postgres, its broadcasts through
   * Redis so that the sockets on the other instance get them too. No auth: the requests name
   * their session and user.
   */
  async serve(a: { databaseUrl: string; redisUrl: string; instance: number }): Promise<{ url: string; pid: number }> {
    const db = new Pool({ connectionString: a.databaseUrl, max: 10 }); // the API server's DATABASE_POOL_SIZE default
    const publisher = new Redis(a.redisUrl);
    // Connected before it subscribes: a SUBSCRIBE queued before the connection is ready can
    // race ioredis's ready check (an INFO, refused in subscriber mode) and leave it deaf.
    const subscriber = new Redis(a.redisUrl, { lazyConnect: true });
    await subscriber.connect();
    const snapshots = await snapshotTable(db);
    /** Per session, its sockets on this instance by id. */
    const sessions = new Map<string, Map<string, WebSocket>>();
    subscriber.on("message", (_channel, text: string) => {
      const { s, frames, except } = JSON.parse(text) as Broadcast;
      for (const [id, socket] of sessions.get(s) ?? []) {
        if (id === except || socket.readyState !== WebSocket.OPEN) continue;
        for (const frame of frames) socket.send(frame);
      }
    });
    // Subscribed before the instance answers its url: no broadcast can go unheard.
    await subscriber.subscribe(STAND_IN_CHANNEL);
    const broadcast = (b: Broadcast) => publisher.publish(STAND_IN_CHANNEL, JSON.stringify(b));

    // Each answers once its broadcast is in Redis: the project's mutations answer after publishing too.
    const operations: Record<string, (body: any) => Promise<unknown>> = {
      async strokes(b: { s: string; u: string; events: StrokeOp[] }) {
        const { rows } = await db.query<{ board_version: number }>(STROKES_SQL, [b.s, b.events.length, b.u, JSON.stringify(b.events)]);
        if (rows.length !== b.events.length) throw new Error(`session ${b.s}: ${rows.length} of ${b.events.length} strokes written`);
        const versions = rows.map((r) => r.board_version).sort((x, y) => x - y);
        await broadcast({ s: b.s, frames: versions.map((v) => `{"v":${v}}`) });
        return { version: versions[versions.length - 1] };
      },
      async chat(b: { s: string; u: string; text: string }) {
        const { rows } = await db.query<{ seq: number }>(CHAT_SQL, [b.s, b.u, JSON.stringify({ text: b.text })]);
        if (!rows[0]) throw new Error(`no session ${b.s}`);
        await broadcast({ s: b.s, frames: [JSON.stringify({ chat: rows[0].seq, u: b.u, text: b.text })] });
        return { seq: rows[0].seq };
      },
      async hand(b: { s: string; u: string; raised: boolean }) {
        const { rows } = await db.query<{ hand_raised: boolean }>(HAND_SQL, [b.s, b.u, b.raised]);
        if (!rows[0]) throw new Error(`user ${b.u} is not in session ${b.s}`);
        await broadcast({ s: b.s, frames: [JSON.stringify({ hand: b.u, raised: rows[0].hand_raised })] });
        return { handRaised: rows[0].hand_raised };
      },
      async seek(b: { s: string; t: number }) {
        await seekRows(db, snapshots, b.s, b.t);
        return {};
      },
    };
    const page = sessionPageHandler(db);
    const server = http.createServer((req, res) => {
      if (req.url === "/graphql") return page(req, res);
      const operation = operations[(req.url ?? "").slice(1)];
      const chunks: Buffer[] = [];
      req.on("data", (c: Buffer) => chunks.push(c));
      req.on("end", () => {
        const answer = (status: number, body: unknown) => res.writeHead(status, { "content-type": "application/json" }).end(JSON.stringify(body));
        if (!operation) return answer(404, { error: `no operation ${req.url}` });
        Promise.resolve(Buffer.concat(chunks).toString("utf8"))
          .then((text) => operation(JSON.parse(text)))
          .then(
            (result) => answer(200, result),
            (err: unknown) => answer(500, { error: err instanceof Error ? err.message : String(err) }),
          );
      });
    });

    const wss = new WebSocketServer({ server, perMessageDeflate: false });
    let sockets = 0;
    wss.on("connection", (socket, req) => {
      const s = new URL(req.url ?? "/", "http://x").searchParams.get("session") ?? "";
      const id = `${a.instance}:${sockets++}`;
      const peers = sessions.get(s) ?? new Map<string, WebSocket>();
      sessions.set(s, peers.set(id, socket));
      // A move goes to every other socket of the session, on either instance; the mover's
      // answer once it is in Redis, on its way to them.
      socket.on("message", (data) => {
        const { m, x, y } = JSON.parse(String(data));
        broadcast({ s, frames: [JSON.stringify({ c: [x, y], u: id })], except: id }).then(
          () => socket.send(JSON.stringify({ m })),
          (err: unknown) => socket.send(JSON.stringify({ m, error: String(err) })),
        );
      });
      socket.on("error", () => undefined); // its close follows
      socket.on("close", () => peers.delete(id));
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    return { url: `http://127.0.0.1:${(server.address() as { port: number }).port}`, pid: process.pid };
  },
};

/**
 * The stand-ins' sessions: one per project session, ACTIVE and started now, with the same
 * participants joined in the same order (so the page lists the same names). Their own, not
 * the project's: both sides then start from an empty board and an empty timeline, and seek
 * through lessons of the same length.
 */
async function standInSessions(db: Pool, sessions: ClassSession[]): Promise<ClassSession[]> {
  return Promise.all(
    sessions.map(async (session) => {
      const { rows } = await db.query<{ id: string }>(
        `INSERT INTO classroom_sessions (type, status, host_id, title, max_participants, actual_start, active_since)
         VALUES ('GROUP', 'ACTIVE', $1, 'bench stand-in', 500, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP) RETURNING id`,
        [session.userIds[0]],
      );
      await db.query(
        `INSERT INTO session_participants (session_id, user_id, role, status, joined_at, created_at)
         SELECT $1, user_id, role, status, joined_at, created_at FROM session_participants WHERE session_id = $2`,
        [rows[0].id, session.id],
      );
      return { ...session, id: rows[0].id };
    }),
  );
}

/** `fn`'s result, and the CPU the processes `pids` used meanwhile, in % of one core. */
async function withCpu<T>(pids: number[], fn: () => Promise<T>): Promise<{ result: T; cpuPercent: number }> {
  const before = pids.map((pid) => cpuSeconds(pid));
  const t0 = performance.now();
  const result = await fn();
  const cpu = pids.reduce((sum, pid, i) => sum + cpuSeconds(pid) - before[i], 0);
  return { result, cpuPercent: Math.round((cpu / ((performance.now() - t0) / 1000)) * 100) };
}

export const classroom: Scenario = {
  name: "classroom",
  async run(ctx) {
    const durationMs = scaledMs(60_000);
    const servers: ApiServer[] = [];
    const sessions: ClassSession[] = [];
    let project: { result: RunResult; cpuPercent: number };
    try {
      for (let i = 0; i < INSTANCES; i++) servers.push(await ctx.stack.startServer(ctx.profileName(`instance${i + 1}`)));
      const urls = servers.map((s) => s.url);
      const tutors = await ctx.stack.seedUsers("classroom-tutor", SESSIONS, "TUTOR");
      const students = await ctx.stack.seedUsers("classroom-student", SESSIONS * (PER_SESSION - 1), "STUDENT");
      for (let s = 0; s < SESSIONS; s++) {
        const joined = students.slice(s * (PER_SESSION - 1), (s + 1) * (PER_SESSION - 1));
        const id = await createSession(urls[s % urls.length], tutors[s], joined);
        const users = [tutors[s], ...joined];
        sessions.push({ id, tokens: users.map((u) => u.token), userIds: users.map((u) => u.id) });
      }
      ctx.log(`${SESSIONS} sessions × ${PER_SESSION} participants on ${INSTANCES} instances for ${durationMs / 1000} s, project then stand-ins`);
      project = await withCpu(
        servers.map((s) => s.pid),
        () => ctx.load.call<RunResult>("classroom", "run", { side: "project", urls, sessions, durationMs }),
      );
      ctx.log(`project: servers ${project.cpuPercent}% of one core, load generator's worst loop delay ${project.result.loopLagMs} ms`);
    } finally {
      // Stopped before the stand-ins run: neither side shares the machine with the other's servers.
      await Promise.all(servers.map((s) => s.stop()));
    }

    const standIns = await Promise.all(
      Array.from({ length: INSTANCES }, (_, instance) =>
        ctx
          .startBaseline()
          .call<{ url: string; pid: number }>("classroom", "serve", { databaseUrl: ctx.stack.databaseUrl, redisUrl: ctx.stack.redisUrl, instance }),
      ),
    );
    const standInUrls = standIns.map((s) => s.url);
    const standInSessionList = await standInSessions(ctx.stack.db, sessions);
    const baseline = await withCpu(
      standIns.map((s) => s.pid),
      () => ctx.load.call<RunResult>("classroom", "run", { side: "stand-in", urls: standInUrls, sessions: standInSessionList, durationMs }),
    );
    ctx.log(`stand-ins: ${baseline.cpuPercent}% of one core, load generator's worst loop delay ${baseline.result.loopLagMs} ms`);

    const cpuNote =
      `servers ${project.cpuPercent}% of one core over the run (setup and drain included), stand-ins ${baseline.cpuPercent}%; ` +
      `load generator's worst loop delay ${project.result.loopLagMs} ms (stand-ins' run ${baseline.result.loopLagMs} ms)`;
    return OPERATIONS.map((op): Row => {
      const p = (times: number[], q: number) => Math.round(percentile(times, q) * 10) / 10;
      const mine = project.result.latencies[op];
      const theirs = baseline.result.latencies[op];
      return row(
        `classroom ${op}`,
        "p95 ms",
        p(mine, 95),
        p(theirs, 95),
        { op: "<=", value: P95_GOAL_MS, absolute: true },
        `${mine.length} calls, p50 ${p(mine, 50)} ms, p99 ${p(mine, 99)} ms; baseline ${theirs.length} calls, p50 ${p(theirs, 50)} ms, p99 ${p(theirs, 99)} ms${op === "seek" ? `; ${cpuNote}` : ""}`,
      );
    });
  },
};
