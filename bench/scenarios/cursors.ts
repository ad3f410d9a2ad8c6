/**
 * cursors: SESSIONS sessions × USERS users, each user subscribed to presence and moving its
 * cursor at 20 Hz (moveCursor mutations over its graphql-ws socket). Baseline: a bare `ws`
 * relay that forwards every move to the other sockets of the session. Measured: frames per
 * second per subscriber (the project coalesces to one frame per CURSOR_TICK_MS) and CPU
 * seconds of the server process per delivered position: another user's position that is new
 * to the subscriber (differs from the last one it saw of that user), on both sides alike, so
 * a frame that repeats unchanged cursors delivers nothing. Measured after a second of the same
 * moves on both sides (each project round is a fresh process). Checked: no more than one frame
 * per tick per subscriber, and every subscriber ends with every user's last accepted
 * position.
 */
import http from "node:http";
import type WebSocket from "ws";
import { WebSocketServer } from "ws";
import { connectGraphqlWs, connectPlainWs, pool } from "../lib/clients";
import { check, cpuSeconds, scaled, scaledMs, sleep } from "../lib/measure";
import { alternate, med, row, type Scenario } from "../lib/scenario";
import { createSession } from "../lib/stack";

const SESSIONS = 10;
const USERS = 20;
const HZ = 20;
const TICK_MS = 50; // the server's CURSOR_TICK_MS default
/** How long after the last move every answer and every last position must have arrived. */
const SETTLE_MS = 3000;
const PRESENCE = `subscription($s: ID!) { presence(sessionId: $s) { kind cursors { userId x y } } }`;
const MOVE = `mutation($s: ID!, $x: Float!, $y: Float!) { moveCursor(sessionId: $s, x: $x, y: $y) }`;

interface RoundArgs {
  side: "project" | "baseline";
  url: string;
  /** The process whose CPU time counts: the API server, or the baseline relay. */
  pid: number;
  sessions: Array<{ id: string; users: Array<{ id: string; token: string }> }>;
  durationMs: number;
  /** Moves before the measured window (same rate), not counted. */
  warmUpMs: number;
}

interface RoundResult {
  /** Set when the positions did not end up the latest. */
  wrong?: string;
  moves: number;
  dropped: number;
  framesPerSecPerSubscriber: number;
  positions: number;
  cpuSeconds: number;
  usPerPosition: number;
}

interface Mover {
  sessionId: string;
  userId: string;
  frames: number[];
  /** Latest position seen per user (x is the move number). */
  seen: Map<string, number>;
  /** The last position of each other user this subscriber was shown, as "x,y". */
  shown: Map<string, string>;
  /** This user's last accepted move. */
  lastAccepted: number;
  send: (x: number) => void;
  close: () => void;
  error?: string;
}

export const remote = {
  async round(a: RoundArgs): Promise<RoundResult> {
    const movers: Mover[] = [];
    let positions = 0;
    let dropped = 0;
    let pendingMoves = 0;
    const flat = a.sessions.flatMap((s) => s.users.map((u) => ({ sessionId: s.id, ...u })));
    await pool(flat.length, 20, async (i) => {
      const { sessionId, id: userId, token } = flat[i];
      const m: Mover = { sessionId, userId, frames: [], seen: new Map(), shown: new Map(), lastAccepted: -1, send: () => undefined, close: () => undefined };
      const onCursors = (cursors: Array<{ userId: string; x: number; y: number }>) => {
        m.frames.push(performance.now());
        for (const c of cursors) {
          m.seen.set(c.userId, Math.max(m.seen.get(c.userId) ?? -1, c.x));
          // Delivered = news to this subscriber: its own cursor, or one it already shows
          // where it is, is not (issue 10).
          if (c.userId === userId) continue;
          const position = `${c.x},${c.y}`;
          if (m.shown.get(c.userId) === position) continue;
          m.shown.set(c.userId, position);
          positions++;
        }
      };
      if (a.side === "project") {
        const sent = new Map<string, number>();
        let ready: () => void = () => undefined;
        const subscribed = new Promise<void>((resolve) => (ready = resolve));
        const conn = await connectGraphqlWs(a.url, token, {
          next: (id, payload) => {
            if (id === "p") {
              if (payload.errors) return void (m.error ??= JSON.stringify(payload.errors));
              const frame = payload.data.presence;
              if (frame.kind === "STATUS") ready();
              if (frame.kind === "CURSORS") onCursors(frame.cursors);
              return;
            }
            pendingMoves--;
            const x = sent.get(id) as number;
            sent.delete(id);
            if (payload.errors) m.error ??= `moveCursor: ${JSON.stringify(payload.errors)}`;
            else if (payload.data.moveCursor) m.lastAccepted = Math.max(m.lastAccepted, x);
            else dropped++;
          },
          end: (id, err) => {
            if (id === "p" || err) m.error ??= `operation ${id} ended: ${JSON.stringify(err ?? "")}`;
          },
          close: (code, reason) => (m.error ??= `socket closed ${code} ${reason}`),
        });
        conn.subscribe("p", PRESENCE, { s: sessionId });
        await subscribed;
        let n = 0;
        m.send = (x) => {
          const id = `m${n++}`;
          sent.set(id, x);
          pendingMoves++;
          conn.subscribe(id, MOVE, { s: sessionId, x, y: i });
        };
        m.close = () => conn.close();
      } else {
        const ws = await connectPlainWs(`${a.url.replace(/^http/, "ws")}/?session=${sessionId}&user=${userId}`);
        ws.on("message", (data) => onCursors([JSON.parse(String(data))]));
        m.send = (x) => {
          ws.send(JSON.stringify({ userId, x, y: i }));
          m.lastAccepted = x;
        };
        m.close = () => ws.terminate();
      }
      movers.push(m);
    });

    // Every user moves every 1000/HZ ms, their phases spread over the period. The first
    // WARM_UP_MS of moves are not measured, on either side: a fresh server process compiles
    // its hot paths then, while the baseline relay, one process for every round, is warm
    // from its first round on.
    const period = 1000 / HZ;
    const start = performance.now();
    const next = movers.map((_, i) => start + (i * period) / movers.length);
    let sent = 0;
    let cpu0 = 0;
    let t0 = Infinity;
    let moves = 0;
    while (performance.now() - t0 < a.durationMs) {
      const now = performance.now();
      if (t0 === Infinity && now - start >= a.warmUpMs) {
        cpu0 = cpuSeconds(a.pid);
        t0 = now;
        positions = 0;
        dropped = 0;
      }
      for (const [i, m] of movers.entries()) {
        while (next[i] <= now) {
          m.send(sent++);
          if (t0 !== Infinity) moves++;
          next[i] += period;
        }
      }
      await sleep(2);
    }
    // Frames are counted in [t0, t0 + durationMs): a whole number of ticks.
    const windowMs = a.durationMs;
    const framesInWindow = movers.map((m) => m.frames.filter((t) => t >= t0 && t < t0 + windowMs).length);
    // Eventually every subscriber shows every user's last accepted position.
    const deadline = performance.now() + SETTLE_MS;
    const behind = () =>
      movers.filter((m) => movers.some((o) => o.sessionId === m.sessionId && o !== m && o.lastAccepted >= 0 && (m.seen.get(o.userId) ?? -1) < o.lastAccepted));
    while ((pendingMoves > 0 || behind().length > 0) && performance.now() < deadline) await sleep(50);
    const cpu = cpuSeconds(a.pid) - cpu0;

    // Under overload the project's answers are wrong rather than slow (moves unanswered,
    // sockets closed, stale positions): reported with the numbers, not thrown.
    const problems: string[] = [];
    const failed = movers.filter((m) => m.error);
    if (failed.length) problems.push(`${failed.length} users' operations failed, e.g. ${failed[0].error}`);
    if (pendingMoves > 0) problems.push(`${pendingMoves} of ${sent} moves still unanswered ${SETTLE_MS / 1000} s after the last one was sent`);
    const late = behind();
    if (late.length > 0) {
      // Which side lost it: the position the server keeps (a fresh subscriber's STATUS frame,
      // while the movers are still online: it shows online users only) against each user's
      // last accepted move.
      const kept = a.side === "project" && pendingMoves === 0 ? await keptPositions(a.url, flat) : new Map<string, number>();
      const stale = movers.filter((m) => kept.has(m.userId) && kept.get(m.userId) !== m.lastAccepted);
      const m = late[0];
      const o = movers.find((u) => u.sessionId === m.sessionId && u !== m && (m.seen.get(u.userId) ?? -1) < u.lastAccepted)!;
      const lastFrame = m.frames.length ? (m.frames[m.frames.length - 1] - t0 - windowMs).toFixed(0) : "-";
      problems.push(
        `${late.length} subscribers never saw some user's last accepted position ` +
          `(e.g. user ${o.userId}: last seen x=${m.seen.get(o.userId)}, last accepted x=${o.lastAccepted}; ` +
          `that subscriber's last frame came ${lastFrame} ms after the moves ended)` +
          (stale.length
            ? `; the server keeps an older position than the last accepted move for ${stale.length} users (e.g. x=${kept.get(stale[0].userId)} after x=${stale[0].lastAccepted} was accepted: moves applied out of order)`
            : ""),
      );
    }
    const wrong = problems.length ? `cursors: ${problems.join("; ")}` : undefined;
    movers.forEach((m) => m.close());
    if (a.side === "project") {
      // At most one frame per tick. Counted over the window, not from gaps between arrivals:
      // a frame delayed on the way arrives close to the next one.
      const allowed = Math.ceil(windowMs / TICK_MS) + 1;
      const worst = Math.max(...framesInWindow);
      check(worst <= allowed, `cursors: a subscriber got ${worst} frames in ${windowMs.toFixed(0)} ms, more than one per ${TICK_MS} ms tick`);
    }
    const framesPerSec = framesInWindow.reduce((x, y) => x + y, 0) / movers.length / (windowMs / 1000);
    return {
      wrong,
      moves,
      dropped,
      framesPerSecPerSubscriber: Math.round(framesPerSec * 10) / 10,
      positions,
      cpuSeconds: cpu,
      usPerPosition: Math.round((cpu * 1e6 * 100) / Math.max(1, positions)) / 100,
    };
  },

  /** The baseline relay: each move goes to every other socket of its session, as sent. */
  async serve(): Promise<{ url: string; pid: number }> {
    const server = http.createServer();
    const wss = new WebSocketServer({ server, perMessageDeflate: false });
    const sessions = new Map<string, Set<WebSocket>>();
    wss.on("connection", (socket, req) => {
      const session = new URL(req.url ?? "/", "http://x").searchParams.get("session") ?? "";
      const peers = sessions.get(session) ?? new Set<WebSocket>();
      sessions.set(session, peers.add(socket));
      socket.on("message", (data, isBinary) => {
        for (const peer of peers) if (peer !== socket && peer.readyState === 1) peer.send(data, { binary: isBinary });
      });
      socket.on("close", () => peers.delete(socket));
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    return { url: `http://127.0.0.1:${(server.address() as { port: number }).port}`, pid: process.pid };
  },
};

/** x of each session's users as the server keeps them: the STATUS frame of a fresh subscriber per session. */
async function keptPositions(url: string, users: Array<{ sessionId: string; token: string }>): Promise<Map<string, number>> {
  const kept = new Map<string, number>();
  const firstOfSession = users.filter((u, i) => users.findIndex((v) => v.sessionId === u.sessionId) === i);
  for (const u of firstOfSession) {
    await new Promise<void>((resolve, reject) => {
      void connectGraphqlWs(url, u.token, {
        next: (_id, payload) => {
          for (const c of payload.data?.presence?.cursors ?? []) kept.set(c.userId, c.x);
          resolve();
        },
      }).then((conn) => {
        conn.subscribe("s", PRESENCE, { s: u.sessionId });
        setTimeout(() => (conn.close(), resolve()), 5000).unref();
      }, reject);
    });
  }
  return kept;
}

export const cursors: Scenario = {
  name: "cursors",
  async run(ctx) {
    const sessionCount = scaled(SESSIONS, 1);
    const durationMs = scaledMs(3000);
    const warmUpMs = scaledMs(1000);
    const [tutor] = await ctx.stack.seedUsers("cursors-tutor", 1, "TUTOR");
    const students = await ctx.stack.seedUsers("cursors-student", sessionCount * USERS, "STUDENT");
    const sessions = await ctx.withServer((server) =>
      Promise.all(
        Array.from({ length: sessionCount }, async (_, s) => {
          const users = students.slice(s * USERS, (s + 1) * USERS);
          return { id: await createSession(server.url, tutor, users), users: users.map(({ id, token }) => ({ id, token })) };
        }),
      ),
    );
    const baseline = await ctx.startBaseline().call<{ url: string; pid: number }>("cursors", "serve");
    ctx.log(`${sessionCount} sessions × ${USERS} users at ${HZ} Hz for ${durationMs} ms after ${warmUpMs} ms of warm-up; a fresh server process per round`);
    const samples = await alternate(
      ctx,
      async (round) => {
        // A server that fell behind keeps working off its backlog: not into the next rounds.
        const server = await ctx.stack.startServer(ctx.profileName(`round${round + 1}`));
        try {
          return await ctx.load.call<RoundResult>("cursors", "round", {
            side: "project",
            url: server.url,
            pid: server.pid,
            sessions,
            durationMs,
            warmUpMs,
          } satisfies RoundArgs);
        } finally {
          await server.stop(3000);
        }
      },
      () =>
        ctx.load.call<RoundResult>("cursors", "round", {
          side: "baseline",
          url: baseline.url,
          pid: baseline.pid,
          sessions,
          durationMs,
          warmUpMs,
        } satisfies RoundArgs),
    );
    const wrong = [...samples.project, ...samples.baseline].find((s) => s.wrong)?.wrong;
    const dropped = med(samples.project, (s) => s.dropped);
    const moves = med(samples.project, (s) => s.moves);
    return [
      row(
        "cursors frames",
        "frames/s/subscriber",
        med(samples.project, (s) => s.framesPerSecPerSubscriber),
        med(samples.baseline, (s) => s.framesPerSecPerSubscriber),
        {
          op: "<=",
          value: 1000 / TICK_MS,
          absolute: true,
        },
        `${moves} moves per round, ${dropped} dropped by the 20/s limit (median)`,
      ),
      row(
        "cursors CPU",
        "µs CPU/position",
        med(samples.project, (s) => s.usPerPosition),
        med(samples.baseline, (s) => s.usPerPosition),
        { op: "<=", value: 1 },
        "server process only (Redis excluded); a position counts once, when it is another user's and new to its subscriber",
      ),
    ].map((r) => ({ ...r, wrong }));
  },
};
