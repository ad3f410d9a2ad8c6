import { LessThanOrEqual, MoreThan, type DataSource } from "typeorm";
import type { AccessPolicy } from "../auth/access";
import type { AuthContext } from "../auth/auth-context";
import { emptyBoard, publicBoard, replayOps, type BoardState, type PublicBoard } from "../board";
import { SessionEventEntity } from "../entities/session-event.entity";
import { SessionStatus, type SessionEntity } from "../entities/session.entity";
import type { ValueCache } from "../infra/cache";
import { toAppliedOp } from "./board.service";
import { invalidInput } from "./errors";
import { decodeIntCursor, encodeIntCursor, pageSize, type Page } from "./pagination";

export interface ReplayManifest {
  canReplay: boolean;
  durationMs: number;
  eventCount: number;
  snapshotCount: number;
  keyframesMs: number[];
}

/** The board at a moment: the public board and the seq of the last event it reflects. */
export interface BoardAt {
  board: PublicBoard;
  lastSeq: number;
}

/** What the last uncached seek read (for tests and metrics): its snapshot and how many events. */
export interface SeekStats {
  fromBoardVersion: number;
  eventsRead: number;
}

/** Replayed boards never change (history is never rewritten): kept an hour. */
const CACHE_TTL_SECONDS = 3600;

/** The cache key of the board after seq `seq` of a session (RULES.md "Time": keyed by session and seq). */
export const replayBoardKey = (sessionId: string, seq: number) => `replay-board:${sessionId}:${seq}`;

const FINISHED: readonly SessionStatus[] = [SessionStatus.COMPLETED, SessionStatus.TERMINATED, SessionStatus.EXPIRED];

/**
 * Replay (H3): the manifest, the events in half-open time windows, and the board at any
 * moment = the nearest stored snapshot at or before it + the board events after it, replayed
 * by the pure engine. Keyframes are at most `everyEvents` versions apart, so a seek reads at
 * most that many events; its answer is cached by (session, seq). With isRecorded false only
 * the host replays (AccessPolicy.canReplay).
 */
export class ReplayService {
  /** The last uncached seek's figures. */
  lastSeek: SeekStats | undefined;

  constructor(
    private readonly db: DataSource,
    private readonly access: AccessPolicy,
    private readonly cache: ValueCache,
    private readonly everyEvents: number,
    /** MAX_PAGE_SIZE: the largest `first`. */
    private readonly maxPageSize: number,
  ) {}

  /** The manifest; without replay rights canReplay is false and nothing else is told. */
  async manifest(auth: AuthContext, session: SessionEntity): Promise<ReplayManifest> {
    if (!(await this.mayReplay(auth, session))) return { canReplay: false, durationMs: 0, eventCount: 0, snapshotCount: 0, keyframesMs: [] };
    const [fresh] = (await this.db.query(
      `SELECT s.last_seq, s.last_event_ms, s.actual_start, s.actual_end, s.status,
              (SELECT COUNT(*) FROM board_snapshots b WHERE b.session_id = s.id) AS snapshots,
              (SELECT COALESCE(json_agg(t.ms ORDER BY t.ms), '[]') FROM (SELECT DISTINCT timestamp_ms AS ms FROM board_snapshots b WHERE b.session_id = s.id) t) AS keyframes
         FROM classroom_sessions s WHERE s.id = $1`,
      [session.id],
    )) as Array<{ last_seq: number; last_event_ms: string; actual_start: Date | null; actual_end: Date | null; status: SessionStatus; snapshots: string; keyframes: unknown }>;
    const lastEventMs = Number(fresh.last_event_ms);
    const ended = fresh.actual_start && fresh.actual_end && FINISHED.includes(fresh.status) ? new Date(fresh.actual_end).getTime() - new Date(fresh.actual_start).getTime() : 0;
    const keyframes = typeof fresh.keyframes === "string" ? JSON.parse(fresh.keyframes) : fresh.keyframes;
    return {
      canReplay: true,
      durationMs: Math.max(lastEventMs, ended),
      eventCount: fresh.last_seq,
      snapshotCount: Number(fresh.snapshots),
      keyframesMs: (keyframes as Array<string | number>).map(Number),
    };
  }

  /** Events with fromMs <= timestampMs < toMs, in seq order, a page at a time. */
  async events(auth: AuthContext, session: SessionEntity, fromMs: number, toMs: number, first?: number | null, after?: string | null): Promise<Page<SessionEventEntity>> {
    await this.requireReplay(auth, session);
    if (toMs < fromMs) throw invalidInput("toMs must not be before fromMs.", { field: "toMs" });
    const size = pageSize(first, this.maxPageSize);
    const afterSeq = decodeIntCursor(after, "seq", session.id);
    const window = this.db
      .getRepository(SessionEventEntity)
      .createQueryBuilder("e")
      .where("e.session_id = :id AND e.timestamp_ms >= :fromMs AND e.timestamp_ms < :toMs", { id: session.id, fromMs, toMs });
    const rows = await window.clone().andWhere("e.seq > :afterSeq", { afterSeq }).orderBy("e.seq", "ASC").limit(size + 1).getMany();
    const totalCount = await window.getCount();
    return {
      nodes: rows.slice(0, size).map((node) => ({ node, cursor: encodeIntCursor(session.id, "seq", node.seq) })),
      hasNextPage: rows.length > size,
      hasPreviousPage: afterSeq > 0,
      totalCount,
    };
  }

  /** The board after every event with timestampMs <= `timestampMs`. */
  async boardAt(auth: AuthContext, session: SessionEntity, timestampMs: number): Promise<BoardAt> {
    await this.requireReplay(auth, session);
    return this.boardAtTime(session.id, timestampMs);
  }

  /** boardAt without the access check (the caller checked). */
  async boardAtTime(sessionId: string, timestampMs: number): Promise<BoardAt> {
    const [{ seq }] = (await this.db.query(
      `SELECT COALESCE(MAX(seq), 0) AS seq FROM session_events
        WHERE session_id = $1
          AND timestamp_ms = (SELECT MAX(timestamp_ms) FROM session_events WHERE session_id = $1 AND timestamp_ms <= $2)`,
      [sessionId, timestampMs],
    )) as Array<{ seq: number }>;
    return this.boardAfterSeq(sessionId, Number(seq));
  }

  /** The board after timeline event `seq`: cached, else the nearest snapshot + the events after it. */
  async boardAfterSeq(sessionId: string, seq: number): Promise<BoardAt> {
    if (seq === 0) return { board: publicBoard(emptyBoard()), lastSeq: 0 };
    const key = replayBoardKey(sessionId, seq);
    const cached = await this.cache.get(key);
    if (cached) return JSON.parse(cached) as BoardAt;
    const state = await this.replayTo(sessionId, seq);
    const answer: BoardAt = { board: publicBoard(state), lastSeq: seq };
    await this.cache.set(key, JSON.stringify(answer), CACHE_TTL_SECONDS);
    return answer;
  }

  /** Nearest snapshot at or before `seq`, then the board events after it up to `seq`. */
  private async replayTo(sessionId: string, seq: number): Promise<BoardState> {
    const [snapshot] = (await this.db.query(
      `SELECT board FROM board_snapshots WHERE session_id = $1 AND seq <= $2 ORDER BY seq DESC, board_version DESC LIMIT 1`,
      [sessionId, seq],
    )) as Array<{ board: string }>;
    let state = snapshot ? (JSON.parse(snapshot.board) as BoardState) : emptyBoard();
    const fromBoardVersion = state.version;
    let eventsRead = 0;
    // Keyframes keep this to one page; more only if SNAPSHOT_EVERY_EVENTS was raised since they were taken.
    for (;;) {
      const events = await this.db.getRepository(SessionEventEntity).find({
        select: { clientOpId: true, type: true, userId: true, boardVersion: true, data: true },
        where: { sessionId, boardVersion: MoreThan(state.version), seq: LessThanOrEqual(seq) },
        order: { boardVersion: "ASC" },
        take: this.everyEvents,
      });
      eventsRead += events.length;
      state = replayOps(state, events.map(toAppliedOp), { inPlace: true });
      if (events.length < this.everyEvents) break;
    }
    this.lastSeek = { fromBoardVersion, eventsRead };
    return state;
  }

  private async mayReplay(auth: AuthContext, session: SessionEntity): Promise<boolean> {
    return this.access.canReplay(await this.accessTo(auth, session));
  }

  private async requireReplay(auth: AuthContext, session: SessionEntity): Promise<void> {
    this.access.requireReplay(await this.accessTo(auth, session));
  }

  /** The viewer's access to `session`, the row the request already read (not read again). */
  private accessTo(auth: AuthContext, session: SessionEntity) {
    return this.access.require(auth.requireUserIdFor(session.id), session.id, undefined, session);
  }
}
