/**
 * ingest: board ops through applyBoardEvents in batches of 50 over HTTP, against raw `pg`
 * multi-row INSERTs of the same rows in the same batches. 100 000 ops per side at scale 1,
 * spread over the rounds, written by CONCURRENCY clients each on its own session (one
 * session's writes are serialised by its lock, by design), after an unmeasured eighth of a
 * round on each side. Checked: each session's board version and its count of board events
 * equal the ops sent. The embedded column: the same rounds against a server on PGlite.
 */
import { Pool } from "pg";
import { gql } from "../lib/clients";
import { ROUNDS, check, median, scaled } from "../lib/measure";
import { alternate, embeddedRounds, med, row, type Scenario, type ScenarioContext } from "../lib/scenario";
import { createSession, registerUser } from "../lib/stack";

const BATCH = 50;
const CONCURRENCY = 4;

const APPLY = `mutation($s: ID!, $events: [BoardEventInput!]!) { applyBoardEvents(sessionId: $s, events: $events) { version conflicts { clientOpId } } }`;

/** The ops of batch `b` of a session: strokes with fresh ids. */
export function strokeBatch(b: number, size: number, baseVersion: number) {
  return Array.from({ length: size }, (_, i) => {
    const n = b * size + i;
    return {
      clientOpId: `op-${n}`,
      type: "STROKE",
      baseVersion,
      data: {
        id: `o${n}`,
        points: [
          [n % 800, n % 600],
          [(n % 800) + 10, (n % 600) + 5],
          [(n % 800) + 20, (n % 600) + 12],
        ],
        color: "#1e88e5",
        width: 2,
      },
    };
  });
}

interface Sample {
  ops: number;
  ms: number;
  opsPerSec: number;
}

export const remote = {
  /** Each session gets its batches in order, the sessions in parallel. */
  async project(a: { url: string; token: string; sessions: string[]; batches: number }): Promise<Sample> {
    const t0 = performance.now();
    await Promise.all(
      a.sessions.map(async (s) => {
        let version = 0;
        for (let b = 0; b < a.batches; b++) {
          const { applyBoardEvents: r } = await gql(a.url, APPLY, { s, events: strokeBatch(b, BATCH, version) }, a.token);
          check(r.version === version + BATCH && r.conflicts.length === 0, `session ${s}: batch ${b} answered version ${r.version} after ${version}`);
          version = r.version;
        }
      }),
    );
    return sample(a.sessions.length * a.batches * BATCH, performance.now() - t0);
  },

  /** The same rows as the server writes, one multi-row INSERT per batch. */
  async baseline(a: { databaseUrl: string; userId: string; sessions: string[]; batches: number }): Promise<Sample> {
    const db = new Pool({ connectionString: a.databaseUrl, max: a.sessions.length });
    await Promise.all(a.sessions.map(() => db.query("SELECT 1"))); // connections open before the clock starts
    const t0 = performance.now();
    await Promise.all(
      a.sessions.map(async (s) => {
        for (let b = 0; b < a.batches; b++) {
          const ops = strokeBatch(b, BATCH, b * BATCH);
          const values: unknown[] = [];
          const tuples = ops.map((op, i) => {
            const v = b * BATCH + i + 1;
            values.push(s, v, Date.now() % 1_000_000, "BOARD_STROKE", a.userId, JSON.stringify(op.data), op.clientOpId, v);
            const p = i * 8;
            return `($${p + 1}, $${p + 2}, $${p + 3}, $${p + 4}, $${p + 5}, $${p + 6}, $${p + 7}, $${p + 8})`;
          });
          await db.query(
            `INSERT INTO session_events (session_id, seq, timestamp_ms, type, user_id, data, client_op_id, board_version) VALUES ${tuples.join(", ")}`,
            values,
          );
        }
      }),
    );
    const ms = performance.now() - t0;
    await db.end();
    return sample(a.sessions.length * a.batches * BATCH, ms);
  },
};

function sample(ops: number, ms: number): Sample {
  return { ops, ms: Math.round(ms), opsPerSec: Math.round((ops * 1000) / ms) };
}

/** Every session holds exactly `ops` board events, versions 1..ops, and its board says so. */
async function verify(ctx: ScenarioContext, sessions: string[], ops: number, checkVersion: boolean): Promise<void> {
  const { rows } = await ctx.stack.db.query<{ id: string; board_version: number; events: string; max: number | null }>(
    `SELECT s.id, s.board_version, count(e.id) AS events, max(e.board_version) AS max
     FROM classroom_sessions s LEFT JOIN session_events e ON e.session_id = s.id AND e.board_version IS NOT NULL
     WHERE s.id = ANY($1) GROUP BY s.id`,
    [sessions],
  );
  check(rows.length === sessions.length, "ingest: a session is missing");
  for (const r of rows) {
    check(Number(r.events) === ops && r.max === ops, `ingest: session ${r.id} holds ${r.events} board events (max version ${r.max}), sent ${ops}`);
    if (checkVersion) check(r.board_version === ops, `ingest: session ${r.id} is at board version ${r.board_version}, sent ${ops}`);
  }
}

export const ingest: Scenario = {
  name: "ingest",
  async run(ctx) {
    const batches = Math.max(1, Math.round(scaled(100_000) / ROUNDS / CONCURRENCY / BATCH));
    return ctx.withServer(async (server) => {
      const [tutor] = await ctx.stack.seedUsers("ingest-tutor", 1, "TUTOR");
      const projectRound = async (n: number) => {
        const sessions = await Promise.all(Array.from({ length: CONCURRENCY }, () => createSession(server.url, tutor, [])));
        const s = await ctx.load.call<Sample>("ingest", "project", { url: server.url, token: tutor.token, sessions, batches: n });
        await verify(ctx, sessions, n * BATCH, true);
        return s;
      };
      const baselineRound = async (n: number) => {
        const { rows } = await ctx.stack.db.query<{ id: string }>(
          `INSERT INTO classroom_sessions (type, status, host_id) SELECT 'GROUP', 'ACTIVE', $1 FROM generate_series(1, $2) RETURNING id`,
          [tutor.id, CONCURRENCY],
        );
        const sessions = rows.map((r) => r.id);
        const s = await ctx.load.call<Sample>("ingest", "baseline", { databaseUrl: ctx.stack.databaseUrl, userId: tutor.id, sessions, batches: n });
        await verify(ctx, sessions, n * BATCH, false);
        return s;
      };
      // Both sides first write an eighth of a round, unmeasured, as query warms up: a server's
      // steady state is what is compared, not its first seconds of compiling code.
      const warmUp = Math.max(1, Math.round(batches / 8));
      await projectRound(warmUp);
      await baselineRound(warmUp);
      ctx.log(`${ROUNDS} rounds × ${CONCURRENCY} sessions × ${batches} batches of ${BATCH}, after ${warmUp} batches of warm-up`);
      const samples = await alternate(
        ctx,
        () => projectRound(batches),
        () => baselineRound(batches),
      );
      const project = med(samples.project, (s) => s.opsPerSec);
      const baseline = med(samples.baseline, (s) => s.opsPerSec);
      const ms = median(samples.project.map((s) => s.ms / (s.ops / BATCH / CONCURRENCY)));
      const embedded = await ctx.withEmbeddedServer(async (server) => {
        const owner = await registerUser(server.url, "ingest-tutor", 1, "TUTOR");
        const embeddedRound = async (n: number) => {
          const sessions = await Promise.all(Array.from({ length: CONCURRENCY }, () => createSession(server.url, owner, [])));
          const s = await ctx.load.call<Sample>("ingest", "project", { url: server.url, token: owner.token, sessions, batches: n });
          await verifyBoards(server.url, owner.token, sessions, n * BATCH);
          return s;
        };
        await embeddedRound(warmUp);
        return embeddedRounds(ctx, () => embeddedRound(batches));
      });
      return [
        {
          ...row("ingest", "ops/s", project, baseline, { op: ">=", value: 0.4 }, `project ${ms.toFixed(1)} ms per batch of ${BATCH} per client`),
          embedded: med(embedded, (s) => s.opsPerSec),
        },
      ];
    });
  },
};

/** Over the API (the embedded server's database is inside its process): every session's board holds exactly `ops` strokes at version `ops`. */
async function verifyBoards(url: string, token: string, sessions: string[], ops: number): Promise<void> {
  for (const s of sessions) {
    const { session } = await gql(url, `query($s: ID!) { session(id: $s) { board { version objectCount } } }`, { s }, token);
    check(
      session.board.version === ops && session.board.objectCount === ops,
      `ingest: session ${s} has board version ${session.board.version} with ${session.board.objectCount} objects, sent ${ops} strokes`,
    );
  }
}
