/**
 * fanout: one session, SUBSCRIBERS graphql-ws subscribers to boardEvents, board events
 * published (applyBoardEvents over HTTP) at rising rates. Measured: frames delivered per
 * second at the highest rate (saturation), and publish→receive latency (from the moment
 * the publishing request is sent) at 100 events/s. Baseline: a bare `ws` server that
 * broadcasts the same JSON frames to the same number of sockets, fed by HTTP POSTs.
 * Checked: every subscriber gets every event once, versions contiguous, seq increasing.
 * Also reported: GraphQL executions per event (GET /metrics around the measured steps),
 * which must not exceed the one distinct operation all the subscribers share.
 */
import http from "node:http";
import type WebSocket from "ws";
import { WebSocketServer } from "ws";
import { connectGraphqlWs, connectPlainWs, gql, pool, postJson } from "../lib/clients";
import { executionsFigure, perEvent, readExecutionsOf } from "../lib/executions";
import { Sequence, check, percentile, scaled, scaledMs, sleep } from "../lib/measure";
import { alternate, med, row, type Scenario, type ScenarioContext } from "../lib/scenario";
import { createSession, type ApiServer, type SeededUser } from "../lib/stack";
import { strokeBatch } from "./ingest";

const SUBSCRIBERS = 200;
/** Events per second per step; the first is the latency step. */
const RATES = [100, 1000, 4000];
const MAX_IN_FLIGHT = 4;
const MAX_LAG = 50;
const FIELDS = "id sessionId seq version type clientOpId timestampMs user { id } data";
export const SUBSCRIPTION = `subscription($s: ID!, $after: Int) { boardEvents(sessionId: $s, afterSeq: $after) { ${FIELDS} } }`;
export const APPLY = `mutation($s: ID!, $events: [BoardEventInput!]!) { applyBoardEvents(sessionId: $s, events: $events) { version accepted { seq } } }`;

interface RoundArgs {
  side: "project" | "baseline";
  /** project: the API's base URL; baseline: the baseline server's. */
  url: string;
  sessionId: string;
  tutorToken: string;
  tokens: string[];
  startVersion: number;
  afterSeq: number;
  stepMs: number;
}

export interface RoundResult {
  events: number;
  deliveredPerSec: number[];
  p50: number;
  p99: number;
  /** Project: GraphQL executions per event over the measured steps, when the server counts them. */
  executionsPerEvent?: number;
}

/** What one subscriber has seen: every board version once and in order, seq increasing. */
export class Receiver {
  readonly versions: Sequence;
  lastSeq = 0;
  constructor(startVersion: number) {
    this.versions = new Sequence(startVersion);
  }

  /** Checks `e` against the events before it (the first problem is kept in versions.error). */
  see(e: { seq: number; version: number }): void {
    this.versions.see(e.version, "version");
    if (e.seq <= this.lastSeq && !this.versions.error) this.versions.error = `seq ${e.seq} after ${this.lastSeq}`;
    this.lastSeq = e.seq;
  }
}

export const remote = {
  async round(a: RoundArgs): Promise<RoundResult> {
    const n = a.tokens.length;
    const receivers = Array.from({ length: n }, () => new Receiver(a.startVersion));
    const sentAt = new Map<string, number>();
    const latencies: number[] = [];
    let delivered = 0;
    let latencyStep = true;
    const onEvent = (r: Receiver, e: { seq: number; version: number; clientOpId: string }) => {
      const now = performance.now();
      r.see(e);
      delivered++;
      if (latencyStep) {
        const t = sentAt.get(e.clientOpId);
        if (t !== undefined) latencies.push(now - t);
      }
    };
    const closers: Array<() => void> = [];
    await pool(n, 20, async (i) => {
      if (a.side === "project") {
        const conn = await connectGraphqlWs(a.url, a.tokens[i], {
          next: (_id, payload) => {
            if (payload.errors) receivers[i].versions.error ??= JSON.stringify(payload.errors);
            else onEvent(receivers[i], payload.data.boardEvents);
          },
          end: (_id, err) => (receivers[i].versions.error ??= `subscription ended ${JSON.stringify(err ?? "")}`),
        });
        conn.subscribe("1", SUBSCRIPTION, { s: a.sessionId, after: a.afterSeq });
        closers.push(() => conn.close());
      } else {
        const ws = await connectPlainWs(a.url.replace(/^http/, "ws"));
        ws.on("message", (data) => onEvent(receivers[i], JSON.parse(String(data)).payload.data.boardEvents));
        closers.push(() => ws.terminate());
      }
    });

    let version = a.startVersion;
    let opNo = a.startVersion;
    const publish = async (count: number) => {
      const ops = strokeBatch(0, count, version).map((op, i) => ({ ...op, clientOpId: `f${opNo + i}`, data: { ...op.data, id: `f${opNo + i}` } }));
      opNo += count;
      const t = performance.now();
      for (const op of ops) sentAt.set(op.clientOpId, t);
      if (a.side === "project") {
        const r = await gql(a.url, APPLY, { s: a.sessionId, events: ops }, a.tutorToken);
        check(r.applyBoardEvents.accepted.length === count, `fanout: ${count} sent, ${r.applyBoardEvents.accepted.length} accepted`);
        version = Math.max(version, r.applyBoardEvents.version);
      } else {
        await postJson(`${a.url}/publish`, { events: ops });
      }
    };
    const waitAll = async (events: number, timeoutMs: number) => {
      const deadline = performance.now() + timeoutMs;
      while (receivers.some((r) => r.versions.count < events && !r.versions.error) && performance.now() < deadline) await sleep(20);
    };

    // Warm-up: every subscription is live once every subscriber has this one.
    await publish(1);
    await waitAll(1, 15_000);
    check(
      receivers.every((r) => r.versions.count === 1),
      `fanout: ${receivers.filter((r) => r.versions.count < 1).length} subscribers never got the first event`,
    );
    latencies.length = 0;
    // Counted from here, after the warm-up: a subscriber whose subscription started after the
    // first event backfilled it on its own, which is per subscriber by design.
    const executions0 = a.side === "project" ? await readExecutionsOf([a.url]) : undefined;

    let sent = 1;
    const deliveredPerSec: number[] = [];
    for (const [step, rate] of RATES.entries()) {
      latencyStep = step === 0;
      const t0 = performance.now();
      const d0 = delivered;
      let stepCount = 0;
      let inFlight = 0;
      const running: Array<Promise<void>> = [];
      let failure: unknown;
      while (performance.now() - t0 < a.stepMs && !failure) {
        const due = Math.floor(((performance.now() - t0) * rate) / 1000) + 1 - stepCount;
        // Closed loop: no more than MAX_LAG events ahead of the slowest subscriber, so the
        // step measures what can be delivered, and the round never drains for minutes.
        const slowest = receivers.reduce((m, r) => Math.min(m, r.versions.count), Infinity);
        if (due > 0 && inFlight < MAX_IN_FLIGHT && sent - slowest < MAX_LAG) {
          const count = Math.min(due, MAX_LAG - (sent - slowest));
          stepCount += count;
          sent += count;
          inFlight++;
          running.push(
            publish(count).then(
              () => void inFlight--,
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
    await waitAll(sent, 60_000);
    const executions1 = a.side === "project" ? await readExecutionsOf([a.url]) : undefined;
    closers.forEach((close) => close());
    for (const [i, r] of receivers.entries()) {
      check(!r.versions.error, `fanout: subscriber ${i}: ${r.versions.error}`);
      check(r.versions.count === sent, `fanout: subscriber ${i} got ${r.versions.count} of ${sent} events`);
    }
    const executionsPerEvent = perEvent(executions0, executions1, sent - 1);
    return {
      events: sent,
      deliveredPerSec,
      p50: round2(percentile(latencies, 50)),
      p99: round2(percentile(latencies, 99)),
      ...(executionsPerEvent === undefined ? {} : { executionsPerEvent }),
    };
  },

  /** The baseline server: POST /publish { events } → one frame per event to every socket. */
  async serve(): Promise<{ url: string }> {
    let seq = 0;
    let version = 0;
    const server = http.createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on("data", (c: Buffer) => chunks.push(c));
      req.on("end", () => {
        const { events } = JSON.parse(Buffer.concat(chunks).toString("utf8")) as { events: Array<{ clientOpId: string; type: string; data: unknown }> };
        for (const e of events) {
          seq++;
          version++;
          const frame = JSON.stringify({
            id: "1",
            type: "next",
            payload: {
              data: {
                boardEvents: {
                  id: `e${seq}`,
                  sessionId: "baseline",
                  seq,
                  version,
                  type: e.type,
                  clientOpId: e.clientOpId,
                  timestampMs: Date.now(),
                  user: { id: "u" },
                  data: e.data,
                },
              },
            },
          });
          for (const socket of wss.clients) if (socket.readyState === 1) (socket as WebSocket).send(frame);
        }
        res.setHeader("content-type", "application/json");
        res.end(JSON.stringify({ version }));
      });
    });
    const wss = new WebSocketServer({ server, perMessageDeflate: false });
    wss.on("connection", () => {
      if (wss.clients.size === 1) version = seq = 0; // a new round
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    return { url: `http://127.0.0.1:${(server.address() as { port: number }).port}` };
  },
};

const round2 = (n: number) => Math.round(n * 100) / 100;

/** One round on the API: every student subscribes from the session's latest seq, the tutor publishes. */
export async function projectRound(
  ctx: ScenarioContext,
  server: ApiServer,
  sessionId: string,
  tutor: SeededUser,
  students: SeededUser[],
  stepMs: number,
): Promise<RoundResult> {
  const { session } = await gql(server.url, `query($s: ID!) { session(id: $s) { board { version lastSeq } } }`, { s: sessionId }, tutor.token);
  return ctx.load.call<RoundResult>("fanout", "round", {
    side: "project",
    url: server.url,
    sessionId,
    tutorToken: tutor.token,
    tokens: students.map((s) => s.token),
    startVersion: session.board.version,
    afterSeq: session.board.lastSeq,
    stepMs,
  } satisfies RoundArgs);
}

export const fanout: Scenario = {
  name: "fanout",
  async run(ctx) {
    const subscribers = scaled(SUBSCRIBERS, 10);
    const stepMs = scaledMs(1500);
    const baselineWorker = ctx.startBaseline();
    return ctx.withServer(async (server) => {
      const [tutor] = await ctx.stack.seedUsers("fanout-tutor", 1, "TUTOR");
      const students = await ctx.stack.seedUsers("fanout-student", subscribers, "STUDENT");
      const sessionId = await createSession(server.url, tutor, students);
      const baseline = await baselineWorker.call<{ url: string }>("fanout", "serve");
      ctx.log(`${subscribers} subscribers, rates ${RATES.join("/")} events/s, ${stepMs} ms each`);
      const samples = await alternate(
        ctx,
        () => projectRound(ctx, server, sessionId, tutor, students, stepMs),
        () =>
          ctx.load.call<RoundResult>("fanout", "round", {
            side: "baseline",
            url: baseline.url,
            sessionId: "",
            tutorToken: "",
            tokens: students.map(() => ""),
            startVersion: 0,
            afterSeq: 0,
            stepMs,
          } satisfies RoundArgs),
      );
      const top = (s: RoundResult) => Math.max(...s.deliveredPerSec);
      // Every subscriber runs the same document with the same variables: one distinct operation.
      const executions = executionsFigure(
        samples.project.map((s) => s.executionsPerEvent),
        1,
      );
      return [
        {
          ...row("fanout", "delivered/s", med(samples.project, top), med(samples.baseline, top), { op: ">=", value: 0.5 }, executions.note),
          executions: executions.figure,
          wrong: executions.wrong,
        },
        row(
          "fanout p99",
          "ms",
          med(samples.project, (s) => s.p99),
          med(samples.baseline, (s) => s.p99),
          { op: "<=", value: 3 },
          `at ${RATES[0]} events/s, from the publishing request's send; p50 ${med(samples.project, (s) => s.p50)} vs ${med(samples.baseline, (s) => s.p50)} ms`,
        ),
      ];
    });
  },
};
