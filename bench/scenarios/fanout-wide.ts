/**
 * fanout-wide: SESSIONS sessions × PER_SESSION graphql-ws subscribers to boardEvents (2 000
 * in all), on INSTANCES API server processes sharing one Postgres and one Redis: each
 * session's subscribers alternate between the instances, and its writer (the session's host)
 * publishes board events with applyBoardEvents over HTTP through one of them, so every event
 * reaches the other instance through Redis. Rates rise as in fanout (RATES are totals over
 * all sessions). Measured: frames delivered per second at the highest rate (saturation) and
 * publish→receive p99 at the lowest. Also reported: GraphQL executions per event, from the
 * instances' GET /metrics.
 *
 * Baseline: INSTANCES bare `ws` servers, each holding the same half of every session's
 * sockets, fed the same way (each writer's batch POSTed to both, standing in for the pub/sub
 * that tells every instance), broadcasting the same JSON frames to the sockets of the
 * session. Two rather than one: the project gets two processes, so one baseline process
 * would cap the baseline at one core and flatter the ratio. Posting to both skips the
 * Redis hop the project pays, which only makes the goal harder.
 *
 * Checked: every subscriber gets every event of its own session once and no other session's,
 * versions contiguous, seq increasing. BENCH_SCALE scales the subscribers per session (at
 * least one per instance); the 20 sessions, the writers and the rates stay.
 */
import http from "node:http";
import type WebSocket from "ws";
import { WebSocketServer } from "ws";
import { connectGraphqlWs, connectPlainWs, gql, pool, postJson } from "../lib/clients";
import { executionsFigure, perEvent, readExecutionsOf } from "../lib/executions";
import { check, percentile, scaled, scaledMs, sleep } from "../lib/measure";
import { alternate, med, row, type Scenario } from "../lib/scenario";
import { createSession, type ApiServer } from "../lib/stack";
import { APPLY, Receiver, SUBSCRIPTION } from "./fanout";
import { strokeBatch } from "./ingest";

const SESSIONS = 20;
const PER_SESSION = 100;
const INSTANCES = 2;
/** Events per second over all sessions, per step (each session a SESSIONS-th of it); the first is the latency step. */
const RATES = [200, 2000, 8000];
/** Per writer: its requests in flight, and how far it may run ahead of its slowest subscriber. */
const MAX_IN_FLIGHT = 2;
const MAX_LAG = 50;

interface WideSession {
  id: string;
  /** The host's token (project); "" for the baseline. */
  writerToken: string;
  /** One per subscriber, each its own user. */
  tokens: string[];
  startVersion: number;
  afterSeq: number;
}

interface RoundArgs {
  side: "project" | "baseline";
  /** The instances' base URLs (project) or the baseline servers' (baseline). */
  urls: string[];
  sessions: WideSession[];
  stepMs: number;
}

interface RoundResult {
  events: number;
  deliveredPerSec: number[];
  p50: number;
  p99: number;
  /** Project: executions per event summed over the instances, when they count them. */
  executionsPerEvent?: number;
  /** Where the round's time went, ms: connecting, warm-up, the steps, draining (information only). */
  phasesMs: { connect: number; warmUp: number; steps: number; drain: number };
}

interface BoardEvent {
  sessionId: string;
  seq: number;
  version: number;
  clientOpId: string;
}

/** What one subscriber has seen of its session. */
/** fanout's Receiver, of one of the sessions. */
class SessionReceiver extends Receiver {
  constructor(
    readonly session: number,
    startVersion: number,
  ) {
    super(startVersion);
  }
}

/** Session s's k-th event is due at (k + s / SESSIONS) / rate: writers out of step, as people are. */
function dueBy(elapsedMs: number, ratePerSession: number, phase: number): number {
  const x = (elapsedMs * ratePerSession) / 1000 - phase;
  return x < 0 ? 0 : Math.floor(x) + 1;
}

export const remote = {
  async round(a: RoundArgs): Promise<RoundResult> {
    const project = a.side === "project";
    if (!project) await Promise.all(a.urls.map((url) => postJson(`${url}/reset`, {})));
    const receivers = a.sessions.map((s, si) => s.tokens.map(() => new SessionReceiver(si, s.startVersion)));
    const all = receivers.flat();
    const sentAt = new Map<string, number>();
    const latencies: number[] = [];
    let delivered = 0;
    let latencyStep = true;
    const onEvent = (r: SessionReceiver, e: BoardEvent) => {
      const now = performance.now();
      if (e.sessionId !== a.sessions[r.session].id)
        return void (r.versions.error ??= `an event of session ${e.sessionId} on a subscriber of ${a.sessions[r.session].id}`);
      r.see(e);
      delivered++;
      if (latencyStep) {
        const t = sentAt.get(e.clientOpId);
        if (t !== undefined) latencies.push(now - t);
      }
    };

    // Subscriber j of a session on instance j mod INSTANCES: every session spans them all.
    const closers: Array<() => void> = [];
    const phase = { t: performance.now(), ms: [] as number[] };
    const lap = () => {
      const now = performance.now();
      phase.ms.push(Math.round(now - phase.t));
      phase.t = now;
    };
    const subscribers = a.sessions.flatMap((s, si) => s.tokens.map((token, j) => ({ si, j, token })));
    await pool(subscribers.length, 64, async (k) => {
      const { si, j, token } = subscribers[k];
      const session = a.sessions[si];
      const r = receivers[si][j];
      const url = a.urls[j % a.urls.length];
      if (project) {
        const conn = await connectGraphqlWs(url, token, {
          next: (_id, payload) => {
            if (payload.errors) r.versions.error ??= JSON.stringify(payload.errors);
            else onEvent(r, payload.data.boardEvents);
          },
          end: (_id, err) => (r.versions.error ??= `subscription ended ${JSON.stringify(err ?? "")}`),
          close: (code, reason) => (r.versions.error ??= `socket closed ${code} ${reason}`),
        });
        conn.subscribe("1", SUBSCRIPTION, { s: session.id, after: session.afterSeq });
        closers.push(() => conn.close());
      } else {
        const ws = await connectPlainWs(`${url.replace(/^http/, "ws")}/?session=${encodeURIComponent(session.id)}`);
        ws.on("message", (data) => onEvent(r, JSON.parse(String(data)).payload.data.boardEvents));
        closers.push(() => ws.terminate());
      }
    });

    const versions = a.sessions.map((s) => s.startVersion);
    const opNo = a.sessions.map(() => 0);
    // Client op ids unique over the run: the server answers a repeated one without applying it again.
    const roundTag = `${Date.now().toString(36)}${Math.floor(Math.random() * 1296).toString(36)}`;
    const sent = a.sessions.map(() => 0);
    /** One batch of `count` strokes from session si's writer; resolves once accepted. */
    const publish = async (si: number, count: number) => {
      const session = a.sessions[si];
      const ops = strokeBatch(0, count, versions[si]).map((op, i) => {
        const id = `${roundTag}-w${si}-${opNo[si] + i}`;
        return { ...op, clientOpId: id, data: { ...op.data, id } };
      });
      opNo[si] += count;
      const t = performance.now();
      for (const op of ops) sentAt.set(op.clientOpId, t);
      if (project) {
        const r = await gql(a.urls[si % a.urls.length], APPLY, { s: session.id, events: ops }, session.writerToken);
        check(r.applyBoardEvents.accepted.length === count, `fanout-wide: ${count} sent, ${r.applyBoardEvents.accepted.length} accepted`);
        versions[si] = Math.max(versions[si], r.applyBoardEvents.version);
      } else {
        await Promise.all(a.urls.map((url) => postJson(`${url}/publish`, { sessionId: session.id, events: ops })));
      }
    };
    const slowestOf = (si: number) => receivers[si].reduce((m, r) => Math.min(m, r.versions.count), Infinity);
    const waitAll = async (timeoutMs: number) => {
      const deadline = performance.now() + timeoutMs;
      while (all.some((r) => r.versions.count < sent[r.session] && !r.versions.error) && performance.now() < deadline) await sleep(20);
    };

    lap();
    // Warm-up: one event per session; every subscription is live once every subscriber has it.
    await Promise.all(a.sessions.map((_, si) => ((sent[si] = 1), publish(si, 1))));
    await waitAll(60_000);
    const missing = all.filter((r) => r.versions.count < 1);
    if (missing.length) {
      // Where they were: on the instance the writer wrote through, or on the other one.
      const local = missing.filter((r) => receivers[r.session].indexOf(r) % a.urls.length === r.session % a.urls.length).length;
      const failed = missing.find((r) => r.versions.error)?.versions.error;
      check(
        false,
        `fanout-wide: ${missing.length} subscribers never got their session's first event ` +
          `(${local} on the writer's instance, ${missing.length - local} on another; sessions ${new Set(missing.map((r) => r.session)).size} of ${a.sessions.length})` +
          (failed ? `, e.g. ${failed}` : ""),
      );
    }
    latencies.length = 0;
    lap();
    // Counted after the warm-up, whose event a late subscription may have backfilled on its own.
    const executions0 = project ? await readExecutionsOf(a.urls) : undefined;
    const warmUp = a.sessions.length;

    const deliveredPerSec: number[] = [];
    for (const [step, rate] of RATES.entries()) {
      latencyStep = step === 0;
      const perSession = rate / a.sessions.length;
      const t0 = performance.now();
      const d0 = delivered;
      const stepCount = a.sessions.map(() => 0);
      const inFlight = a.sessions.map(() => 0);
      const running: Array<Promise<void>> = [];
      let failure: unknown;
      while (performance.now() - t0 < a.stepMs && !failure) {
        const elapsed = performance.now() - t0;
        for (let si = 0; si < a.sessions.length; si++) {
          const due = dueBy(elapsed, perSession, si / a.sessions.length) - stepCount[si];
          if (due <= 0 || inFlight[si] >= MAX_IN_FLIGHT) continue;
          // Closed loop per session, as in fanout: never more than MAX_LAG events ahead of
          // its slowest subscriber, so the step measures what can be delivered.
          const room = MAX_LAG - (sent[si] - slowestOf(si));
          if (room <= 0) continue;
          const count = Math.min(due, room);
          stepCount[si] += count;
          sent[si] += count;
          inFlight[si]++;
          running.push(
            publish(si, count).then(
              () => void inFlight[si]--,
              (err) => void (failure = err),
            ),
          );
        }
        await sleep(1);
      }
      await Promise.all(running);
      if (failure) throw failure;
      deliveredPerSec.push(Math.round(((delivered - d0) * 1000) / (performance.now() - t0)));
    }
    lap();
    await waitAll(60_000);
    lap();
    const executions1 = project ? await readExecutionsOf(a.urls) : undefined;
    closers.forEach((close) => close());
    for (const r of all) {
      const j = receivers[r.session].indexOf(r);
      const where = `session ${r.session} subscriber ${j}`;
      check(!r.versions.error, `fanout-wide: ${where}: ${r.versions.error}`);
      check(r.versions.count === sent[r.session], `fanout-wide: ${where} got ${r.versions.count} of ${sent[r.session]} events`);
    }
    const events = sent.reduce((x, y) => x + y, 0);
    const executionsPerEvent = perEvent(executions0, executions1, events - warmUp);
    return {
      events,
      deliveredPerSec,
      p50: round2(percentile(latencies, 50)),
      p99: round2(percentile(latencies, 99)),
      ...(executionsPerEvent === undefined ? {} : { executionsPerEvent }),
      phasesMs: { connect: phase.ms[0], warmUp: phase.ms[1], steps: phase.ms[2], drain: phase.ms[3] },
    };
  },

  /**
   * One baseline server: POST /publish { sessionId, events } → one frame per event to every
   * socket of that session (`/?session=<id>`); POST /reset starts a round's numbering.
   */
  async serve(): Promise<{ url: string }> {
    const sessions = new Map<string, { seq: number; version: number; sockets: Set<WebSocket> }>();
    const sessionOf = (id: string) => {
      let s = sessions.get(id);
      if (!s) sessions.set(id, (s = { seq: 0, version: 0, sockets: new Set() }));
      return s;
    };
    const server = http.createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on("data", (c: Buffer) => chunks.push(c));
      req.on("end", () => {
        res.setHeader("content-type", "application/json");
        if (req.url === "/reset") {
          for (const s of sessions.values()) s.seq = s.version = 0;
          return void res.end("{}");
        }
        const body = JSON.parse(Buffer.concat(chunks).toString("utf8")) as {
          sessionId: string;
          events: Array<{ clientOpId: string; type: string; data: unknown }>;
        };
        const session = sessionOf(body.sessionId);
        for (const e of body.events) {
          session.seq++;
          session.version++;
          const frame = JSON.stringify({
            id: "1",
            type: "next",
            payload: {
              data: {
                boardEvents: {
                  id: `e${session.seq}`,
                  sessionId: body.sessionId,
                  seq: session.seq,
                  version: session.version,
                  type: e.type,
                  clientOpId: e.clientOpId,
                  timestampMs: Date.now(),
                  user: { id: "u" },
                  data: e.data,
                },
              },
            },
          });
          for (const socket of session.sockets) if (socket.readyState === 1) socket.send(frame);
        }
        res.end(JSON.stringify({ version: session.version }));
      });
    });
    const wss = new WebSocketServer({ server, perMessageDeflate: false });
    wss.on("connection", (socket, req) => {
      const { sockets } = sessionOf(new URL(req.url ?? "/", "http://x").searchParams.get("session") ?? "");
      sockets.add(socket);
      socket.on("close", () => sockets.delete(socket));
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    return { url: `http://127.0.0.1:${(server.address() as { port: number }).port}` };
  },
};

const round2 = (n: number) => Math.round(n * 100) / 100;

export const fanoutWide: Scenario = {
  name: "fanout-wide",
  async run(ctx) {
    const perSession = scaled(PER_SESSION, INSTANCES);
    const stepMs = scaledMs(1000);
    // One host per session: createSession is limited per user (30/h), and a writer per session.
    const tutors = await ctx.stack.seedUsers("fanout-wide-tutor", SESSIONS, "TUTOR");
    const students = await ctx.stack.seedUsers("fanout-wide-student", SESSIONS * perSession, "STUDENT");
    const baselineUrls = await Promise.all(
      Array.from({ length: INSTANCES }, () =>
        ctx
          .startBaseline()
          .call<{ url: string }>("fanout-wide", "serve")
          .then((b) => b.url),
      ),
    );
    const servers: ApiServer[] = [];
    try {
      for (let i = 0; i < INSTANCES; i++) servers.push(await ctx.stack.startServer(ctx.profileName(`instance${i + 1}`)));
      const urls = servers.map((s) => s.url);
      const setup = Date.now();
      const sessions = await pool(SESSIONS, SESSIONS, async (si) => {
        const users = students.slice(si * perSession, (si + 1) * perSession);
        return { id: await createSession(urls[si % urls.length], tutors[si], []), writer: tutors[si], users };
      });
      // The students are seated straight in the database, as the users are seeded: 2 000
      // joins through the API would take most of the scenario's minute, and joining is not
      // what it measures. A seat as joinSessionByCode leaves it (JOINING, joined once).
      await ctx.stack.db.query(
        `INSERT INTO session_participants (session_id, user_id, role, status, joined_at, join_count)
         SELECT s, u, 'STUDENT', 'JOINING', now(), 1 FROM unnest($1::uuid[], $2::uuid[]) AS seat(s, u)`,
        [sessions.flatMap((s) => s.users.map(() => s.id)), sessions.flatMap((s) => s.users.map((u) => u.id))],
      );
      ctx.log(
        `created in ${((Date.now() - setup) / 1000).toFixed(1)} s; ${SESSIONS} sessions × ${perSession} subscribers on ${INSTANCES} instances, ` +
          `rates ${RATES.join("/")} events/s in all, ${stepMs} ms each`,
      );
      const samples = await alternate(
        ctx,
        async () => {
          const boards = await Promise.all(
            sessions.map((s, si) =>
              gql(urls[si % urls.length], `query($s: ID!) { session(id: $s) { board { version lastSeq } } }`, { s: s.id }, s.writer.token),
            ),
          );
          return ctx.load.call<RoundResult>("fanout-wide", "round", {
            side: "project",
            urls,
            sessions: sessions.map((s, si) => ({
              id: s.id,
              writerToken: s.writer.token,
              tokens: s.users.map((u) => u.token),
              startVersion: boards[si].session.board.version,
              afterSeq: boards[si].session.board.lastSeq,
            })),
            stepMs,
          } satisfies RoundArgs);
        },
        () =>
          ctx.load.call<RoundResult>("fanout-wide", "round", {
            side: "baseline",
            urls: baselineUrls,
            sessions: sessions.map((s) => ({ id: s.id, writerToken: "", tokens: s.users.map(() => ""), startVersion: 0, afterSeq: 0 })),
            stepMs,
          } satisfies RoundArgs),
      );
      const top = (s: RoundResult) => Math.max(...s.deliveredPerSec);
      // An event meets one distinct operation on each instance that holds subscribers of its
      // session (every subscriber of a session runs the same document and variables).
      const executions = executionsFigure(
        samples.project.map((s) => s.executionsPerEvent),
        Math.min(INSTANCES, perSession),
      );
      const shape = `${SESSIONS * perSession} subscribers, ${INSTANCES} instances vs ${INSTANCES} bare ws servers`;
      return [
        {
          ...row("fanout-wide", "delivered/s", med(samples.project, top), med(samples.baseline, top), { op: ">=", value: 0.5 }, `${shape}; ${executions.note}`),
          executions: executions.figure,
          wrong: executions.wrong,
        },
        row(
          "fanout-wide p99",
          "ms",
          med(samples.project, (s) => s.p99),
          med(samples.baseline, (s) => s.p99),
          { op: "<=", value: 3 },
          `at ${RATES[0]} events/s over ${SESSIONS} sessions, from the publishing request's send; p50 ${med(samples.project, (s) => s.p50)} vs ${med(samples.baseline, (s) => s.p50)} ms`,
        ),
      ];
    } finally {
      await Promise.all(servers.map((s) => s.stop()));
    }
  },
};
