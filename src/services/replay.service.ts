import { LessThanOrEqual, MoreThan, type DataSource } from "typeorm";
import type { AccessPolicy } from "../auth/access";
import type { AuthContext } from "../auth/auth-context";
import { emptyBoard, publicBoard, publicLayers, publicObjects, replayOps, type BoardObject, type BoardState, type PublicBoard } from "../board";
import { SessionEventEntity } from "../entities/session-event.entity";
import { SessionStatus, type SessionEntity } from "../entities/session.entity";
import { queryPrepared } from "../db/prepared";
import { ByteLru } from "../infra/byte-lru";
import type { Metrics } from "../infra/metrics";
import { estimateOpsBytes } from "./board-cache";
import { toAppliedOp } from "./board-events";
import { invalidInput } from "../domain/errors";
import { decodeIntCursor, encodeIntCursor, pageSize, type Page } from "./pagination";
import { canReplay, requireReplay } from "../auth/session-policy";

export interface ReplayManifest {
  canReplay: boolean;
  durationMs: number;
  eventCount: number;
  snapshotCount: number;
  keyframesMs: number[];
}

/**
 * The board at a moment: its version and the seq of the last event it reflects, read at once;
 * the board itself replayed on first use (and kept with the seek in the cache). A client that
 * asks for the version or lastSeq only never replays, one that asks for the layers, the object
 * count or a few objects never builds the public board.
 */
export interface BoardAt {
  version: number;
  lastSeq: number;
  /** The public board (publicBoard). */
  board(): Promise<PublicBoard>;
  /** Its layers, without the public board. */
  layers(): Promise<PublicBoard["layers"]>;
  objectCount(): Promise<number>;
  /** Those of `ids` that exist, keyed in id order (publicObjects), without the public board. */
  objects(ids: readonly string[]): Promise<Record<string, BoardObject>>;
}

/** A replayed board in the cache, with its public form once a client asked for it. */
interface Replayed {
  state: BoardState;
  public?: PublicBoard;
}

/** The cache key of the board after seq `seq` of a session (RULES.md "Time": keyed by session and seq). */
const replayBoardKey = (sessionId: string, seq: number) => `at ${sessionId} ${seq}`;

/** A parsed stored snapshot and the size of its JSON (a stored snapshot never changes). */
interface Keyframe {
  state: BoardState;
  bytes: number;
}

/** The cache key of a parsed keyframe. */
const keyframeKey = (sessionId: string, snapshotId: string) => `keyframe ${sessionId} ${snapshotId}`;

const FINISHED: readonly SessionStatus[] = [SessionStatus.COMPLETED, SessionStatus.TERMINATED, SessionStatus.EXPIRED];

/**
 * Replay (H3): the manifest, the events in half-open time windows, and the board at any
 * moment = the nearest stored snapshot at or before it + the board events after it, replayed
 * by the pure engine. Keyframes are at most `everyEvents` versions apart, so a seek reads at
 * most that many events; its answer is cached by (session, seq). With isRecorded false only
 * the host replays (AccessPolicy.canReplay).
 */
export class ReplayService {
  /**
   * Parsed keyframes and answered boards, both immutable (history is never rewritten), in
   * one budget of estimated bytes (REPLAY_CACHE_BYTES, their JSON size): a seek near a hot
   * keyframe parses nothing, and a repeated seek costs only its serialization (its public
   * board is built once too).
   */
  private readonly boards: ByteLru<Keyframe | Replayed>;

  constructor(
    private readonly db: DataSource,
    private readonly access: AccessPolicy,
    cacheBytes: number,
    private readonly everyEvents: number,
    /** MAX_PAGE_SIZE: the largest `first`. */
    private readonly maxPageSize: number,
    private readonly metrics: Pick<Metrics, "replaySeekEvents">,
  ) {
    this.boards = new ByteLru(cacheBytes);
  }

  /** The manifest; without replay rights canReplay is false and nothing else is told. */
  async manifest(auth: AuthContext, session: SessionEntity): Promise<ReplayManifest> {
    if (!(await this.mayReplay(auth, session))) return { canReplay: false, durationMs: 0, eventCount: 0, snapshotCount: 0, keyframesMs: [] };
    const [fresh] = (await this.db.query(
      `SELECT s.last_seq, s.last_event_ms, s.actual_start, s.actual_end, s.status,
              (SELECT COUNT(*) FROM board_snapshots b WHERE b.session_id = s.id) AS snapshots,
              (SELECT COALESCE(json_agg(t.ms ORDER BY t.ms), '[]') FROM (SELECT DISTINCT timestamp_ms AS ms FROM board_snapshots b WHERE b.session_id = s.id) t) AS keyframes
         FROM classroom_sessions s WHERE s.id = $1`,
      [session.id],
    )) as Array<{
      last_seq: number;
      last_event_ms: string;
      actual_start: Date | null;
      actual_end: Date | null;
      status: SessionStatus;
      snapshots: string;
      keyframes: unknown;
    }>;
    const lastEventMs = Number(fresh.last_event_ms);
    const ended =
      fresh.actual_start && fresh.actual_end && FINISHED.includes(fresh.status)
        ? new Date(fresh.actual_end).getTime() - new Date(fresh.actual_start).getTime()
        : 0;
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
  async events(
    auth: AuthContext,
    session: SessionEntity,
    fromMs: number,
    toMs: number,
    first?: number | null,
    after?: string | null,
  ): Promise<Page<SessionEventEntity>> {
    await this.requireReplay(auth, session);
    if (toMs < fromMs) throw invalidInput("toMs must not be before fromMs.", { field: "toMs" });
    const size = pageSize(first, this.maxPageSize);
    const afterSeq = decodeIntCursor(after, "seq", session.id);
    const window = this.db
      .getRepository(SessionEventEntity)
      .createQueryBuilder("e")
      .where("e.session_id = :id AND e.timestamp_ms >= :fromMs AND e.timestamp_ms < :toMs", { id: session.id, fromMs, toMs });
    const rows = await window
      .clone()
      .andWhere("e.seq > :afterSeq", { afterSeq })
      .orderBy("e.seq", "ASC")
      .limit(size + 1)
      .getMany();
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
    // The last event at or before the instant, and the board version of the last board event
    // up to it (versions grow with seq): what the replay would reach, without replaying.
    const [row] = await queryPrepared<{ seq: number; version: number }>(
      this.db,
      `WITH at AS (
         SELECT COALESCE(MAX(seq), 0) AS seq FROM session_events
          WHERE session_id = $1
            AND timestamp_ms = (SELECT MAX(timestamp_ms) FROM session_events WHERE session_id = $1 AND timestamp_ms <= $2))
       SELECT at.seq,
              COALESCE((SELECT e.board_version FROM session_events e
                         WHERE e.session_id = $1 AND e.seq <= at.seq AND e.board_version IS NOT NULL
                         ORDER BY e.seq DESC LIMIT 1), 0) AS version
         FROM at`,
      [sessionId, timestampMs],
    );
    const seq = Number(row.seq);
    let replayed: Promise<Replayed> | undefined;
    const replay = () => (replayed ??= this.replayedAfterSeq(sessionId, seq));
    return {
      version: Number(row.version),
      lastSeq: seq,
      board: async () => {
        const entry = await replay();
        return (entry.public ??= publicBoard(entry.state));
      },
      layers: async () => publicLayers((await replay()).state),
      objectCount: async () => Object.keys((await replay()).state.objects).length,
      objects: async (ids) => publicObjects((await replay()).state.objects, ids),
    };
  }

  /** The board after timeline event `seq`: cached, else the nearest keyframe + the events after it. */
  private async replayedAfterSeq(sessionId: string, seq: number): Promise<Replayed> {
    if (seq === 0) return { state: emptyBoard() };
    const key = replayBoardKey(sessionId, seq);
    const cached = this.boards.get(key) as Replayed | undefined;
    if (cached) return cached;
    const { state, bytes } = await this.replayTo(sessionId, seq);
    const entry: Replayed = { state };
    this.boards.set(key, entry, bytes);
    return entry;
  }

  /**
   * The nearest snapshot at or before `seq` (parsed once while it stays in the cache), then the
   * board events after it up to `seq`, applied to a copy-on-write view of it; with the
   * estimated bytes of the result.
   */
  private async replayTo(sessionId: string, seq: number): Promise<{ state: BoardState; bytes: number }> {
    const keyframe = await this.keyframeAt(sessionId, seq);
    let state = keyframe.state;
    let bytes = keyframe.bytes;
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
      const ops = events.map(toAppliedOp);
      // Never in place: the keyframe is shared by every seek near it.
      state = replayOps(state, ops);
      bytes += estimateOpsBytes(ops);
      if (events.length < this.everyEvents) break;
    }
    this.metrics.replaySeekEvents.observe(eventsRead);
    return { state, bytes };
  }

  /** The stored snapshot nearest before `seq`, parsed (or from the cache); the empty board before the first. */
  private async keyframeAt(sessionId: string, seq: number): Promise<Keyframe> {
    const [found] = await queryPrepared<{ id: string }>(
      this.db,
      `SELECT id FROM board_snapshots WHERE session_id = $1 AND seq <= $2 ORDER BY seq DESC, board_version DESC LIMIT 1`,
      [sessionId, seq],
    );
    if (!found) return { state: emptyBoard(), bytes: 0 };
    const key = keyframeKey(sessionId, found.id);
    const cached = this.boards.get(key) as Keyframe | undefined;
    if (cached) return cached;
    const [{ board }] = await queryPrepared<{ board: string }>(this.db, `SELECT board FROM board_snapshots WHERE id = $1`, [found.id]);
    const keyframe: Keyframe = { state: JSON.parse(board) as BoardState, bytes: board.length };
    this.boards.set(key, keyframe, keyframe.bytes);
    return keyframe;
  }

  private async mayReplay(auth: AuthContext, session: SessionEntity): Promise<boolean> {
    return canReplay(await this.accessTo(auth, session));
  }

  private async requireReplay(auth: AuthContext, session: SessionEntity): Promise<void> {
    requireReplay(await this.accessTo(auth, session));
  }

  /** The viewer's access to `session`, the row the request already read (not read again). */
  private accessTo(auth: AuthContext, session: SessionEntity) {
    return this.access.require(auth.requireUserIdFor(session.id), session.id, undefined, session);
  }
}
