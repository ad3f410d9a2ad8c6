/**
 * seek: replayBoardAt at INSTANTS random instants of the long lesson (lib/lesson.ts),
 * latency per call. Baseline: raw SQL through `pg`, the nearest snapshot row at or before
 * the instant plus the range of events after it (no apply). Checked: every board answered
 * equals the board rebuilt from scratch with the board engine from the stored events: the
 * whole board (a hash of its canonical JSON) at FULL_CHECKS instants per round, its version
 * and object count at the others (hashing a 40 000-object board costs more than seeking it).
 */
import { createHash } from "node:crypto";
import { Pool } from "pg";
import { emptyBoard, publicBoard, replayOps, type BoardState } from "../../src/board";
import { toAppliedOp } from "../../src/services/board-events";
import { gql } from "../lib/clients";
import { lessonOf } from "../lib/lesson";
import { ROUNDS, check, percentile, scaled } from "../lib/measure";
import { alternate, med, row, type Scenario } from "../lib/scenario";

const INSTANTS = 200;
const REPLAY = `query($s: ID!, $t: SafeInt!) { session(id: $s) { replayBoardAt(timestampMs: $t) { version layers objects } } }`;

/** JSON with object keys sorted, so equal boards hash equal whatever their key order. */
function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(",")}]`;
  if (value && typeof value === "object") {
    const o = value as Record<string, unknown>;
    return `{${Object.keys(o)
      .sort()
      .filter((k) => o[k] !== undefined)
      .map((k) => `${JSON.stringify(k)}:${canonical(o[k])}`)
      .join(",")}}`;
  }
  return JSON.stringify(value);
}

/** Boards whose whole content is compared per round; the others by version and object count. */
const FULL_CHECKS = 4;

/** The whole board's hash for every `fullEvery`-th instant, else its version and object count. */
function fingerprint(b: { version: number; layers: unknown; objects: object }, k: number, fullEvery: number): string {
  if (k % fullEvery !== 0) return `version ${b.version}, ${Object.keys(b.objects).length} objects`;
  return createHash("sha1")
    .update(canonical({ version: b.version, layers: b.layers, objects: b.objects }))
    .digest("hex");
}

interface Sample {
  p50: number;
  hashes?: string[];
}

/** A table of board snapshots: its name, and the column of the board version each holds, if any. */
export interface SnapshotTable {
  table: string;
  versionColumn?: string;
}

/** The snapshot table issue #5 adds, found by its columns; undefined while there is none. */
export async function snapshotTable(db: Pool): Promise<SnapshotTable | undefined> {
  const { rows } = await db.query<{ table_name: string; columns: string[] }>(
    `SELECT table_name, array_agg(column_name::text) AS columns FROM information_schema.columns
     WHERE table_schema = 'public' AND table_name LIKE '%snapshot%' GROUP BY table_name`,
  );
  const found = rows.find((r) => r.columns.includes("session_id") && r.columns.includes("timestamp_ms"));
  return found && { table: found.table_name, versionColumn: found.columns.includes("board_version") ? "board_version" : undefined };
}

export const remote = {
  async project(a: { url: string; token: string; sessionId: string; instants: number[]; fullEvery: number }): Promise<Sample> {
    const times: number[] = [];
    const hashes: string[] = [];
    for (const [k, t] of a.instants.entries()) {
      const t0 = performance.now();
      const { session } = await gql(a.url, REPLAY, { s: a.sessionId, t }, a.token);
      times.push(performance.now() - t0);
      hashes.push(fingerprint(session.replayBoardAt, k, a.fullEvery));
    }
    return { p50: percentile(times, 50), hashes };
  },

  async baseline(a: { databaseUrl: string; sessionId: string; instants: number[] }): Promise<Sample> {
    const db = new Pool({ connectionString: a.databaseUrl, max: 1 });
    const snapshots = await snapshotTable(db);
    const times: number[] = [];
    for (const t of a.instants) {
      const t0 = performance.now();
      await seekRows(db, snapshots, a.sessionId, t);
      times.push(performance.now() - t0);
    }
    await db.end();
    return { p50: percentile(times, 50) };
  },
};

/**
 * The baseline's seek to instant `t` of a session: the nearest snapshot row at or before it,
 * then the board events after that snapshot up to `t` (from version 0 without one), fetched
 * and not applied. Shared with classroom's stand-in servers.
 */
export async function seekRows(db: Pool, snapshots: SnapshotTable | undefined, sessionId: string, t: number): Promise<void> {
  let from = 0;
  if (snapshots) {
    const { rows } = await db.query(`SELECT * FROM ${snapshots.table} WHERE session_id = $1 AND timestamp_ms <= $2 ORDER BY timestamp_ms DESC LIMIT 1`, [
      sessionId,
      t,
    ]);
    from = snapshots.versionColumn ? Number(rows[0]?.[snapshots.versionColumn] ?? 0) : 0;
  }
  await db.query(`SELECT * FROM session_events WHERE session_id = $1 AND board_version > $2 AND timestamp_ms <= $3 ORDER BY seq`, [sessionId, from, t]);
}

/** The board at each instant (ascending), rebuilt from scratch from every stored board event. */
async function rebuiltBoards(db: Pool, sessionId: string, instants: number[], look: (t: number, board: ReturnType<typeof publicBoard>) => void): Promise<void> {
  const { rows } = await db.query(
    `SELECT type, user_id, client_op_id, board_version, data, timestamp_ms FROM session_events
     WHERE session_id = $1 AND board_version IS NOT NULL ORDER BY seq`,
    [sessionId],
  );
  const wanted = [...new Set(instants)].sort((x, y) => x - y);
  // replayOps in place: replayOp copies the whole board per op, O(events × board size).
  let state: BoardState = emptyBoard();
  let i = 0;
  for (const t of wanted) {
    const ops = [];
    for (; i < rows.length && Number(rows[i].timestamp_ms) <= t; i++) {
      const r = rows[i];
      ops.push(toAppliedOp({ type: r.type, userId: r.user_id, clientOpId: r.client_op_id, boardVersion: r.board_version, data: r.data }));
    }
    state = replayOps(state, ops, { inPlace: true });
    look(t, publicBoard(state));
  }
}

export const seek: Scenario = {
  name: "seek",
  async run(ctx) {
    return ctx.withServer(async (server) => {
      const lesson = await lessonOf(ctx.stack, server.url, ctx.log);
      const perRound = Math.max(4, Math.round(scaled(INSTANTS, 12) / ROUNDS));
      // Random instants (a fixed seed: every run asks the same), the same ones for both sides.
      let seed = 42;
      const random = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
      const instants = Array.from({ length: ROUNDS }, () => Array.from({ length: perRound }, () => Math.floor(random() * (lesson.lastEventMs + 1))));
      // What each round's answers must be, from boards rebuilt from scratch.
      const fullEvery = Math.max(1, Math.ceil(perRound / FULL_CHECKS));
      const expected = instants.map((ts) => ts.map(() => ""));
      await rebuiltBoards(ctx.stack.db, lesson.sessionId, instants.flat(), (t, board) =>
        instants.forEach((ts, r) => ts.forEach((u, k) => u === t && (expected[r][k] = fingerprint(board, k, fullEvery)))),
      );
      ctx.log(`${lesson.events} events over ${lesson.lastEventMs} ms, ${perRound} instants per round`);
      const samples = await alternate(
        ctx,
        async (round) => {
          const s = await ctx.load.call<Sample>("seek", "project", {
            url: server.url,
            token: lesson.tutor.token,
            sessionId: lesson.sessionId,
            instants: instants[round],
            fullEvery,
          });
          instants[round].forEach((t, k) =>
            check(
              s.hashes![k] === expected[round][k],
              `seek: replayBoardAt(${t}) differs from the board rebuilt from scratch (${s.hashes![k]} instead of ${expected[round][k]})`,
            ),
          );
          return { p50: Math.round(s.p50 * 100) / 100 };
        },
        async (round) => {
          const s = await ctx.load.call<Sample>("seek", "baseline", {
            databaseUrl: ctx.stack.databaseUrl,
            sessionId: lesson.sessionId,
            instants: instants[round],
          });
          return { p50: Math.round(s.p50 * 100) / 100 };
        },
      );
      const snapshots = await snapshotTable(ctx.stack.db);
      return [
        row(
          "seek",
          "p50 ms",
          med(samples.project, (s) => s.p50),
          med(samples.baseline, (s) => s.p50),
          { op: "<=", value: 3 },
          snapshots ? `baseline reads ${snapshots.table}` : "no snapshot table found: the baseline fetches events from version 0",
        ),
      ];
    }, "replayBoardAt");
  },
};
