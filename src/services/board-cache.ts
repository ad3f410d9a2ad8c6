import { MoreThan, type EntityManager } from "typeorm";
import { emptyBoard, replayOps, type AppliedBoardOp, type BoardState } from "../board";
import { SessionEventEntity } from "../entities/session-event.entity";
import type { SessionEntity } from "../entities/session.entity";
import { toAppliedOp, type KeyframeRecorder } from "./board-events";
import { ByteLru } from "../infra/byte-lru";

/** What an op written into a cached board adds beyond its data: change marks, its undo entry, keys. */
const OP_OVERHEAD_BYTES = 300;

/** The estimate of a board: its JSON size, measured once when a new board object is stored. */
export function estimateBoardBytes(state: BoardState): number {
  return JSON.stringify(state).length;
}

/** What `applied`, written into a board in place, adds to its estimate (deletes count as growth: a bound from above). */
export function estimateOpsBytes(applied: readonly AppliedBoardOp[]): number {
  let bytes = 0;
  for (const op of applied) bytes += JSON.stringify(op.data).length + OP_OVERHEAD_BYTES;
  return bytes;
}

/**
 * Per-instance cache of boards by session: the state at some version, caught up from the
 * timeline when another instance wrote in between. Bounded by an estimate of bytes
 * (BOARD_CACHE_BYTES), not by a count: one 10 000-stroke board weighs as much as thousands
 * of small ones. Least recently used out; a board larger than the whole budget is not kept.
 * Writes change a cached board in place (no copy per batch), so they report what they added
 * (`grew`) instead of having the board measured again, which would make a write O(board).
 * The estimate drifts (an update's undo entry holds the old object) until the board is
 * measured again: at every keyframe, whose JSON text the write path has at hand (`measured`).
 * A board that took keyframes also keeps their text in blocks (boardBytes) while it lives,
 * about its JSON size again, which the estimate does not count twice.
 */
export class BoardCache {
  private readonly boards: ByteLru<BoardState>;

  constructor(
    readonly budgetBytes: number,
    /** Where a board not cached (or ahead of the version asked) starts from: the latest keyframe. */
    private readonly keyframes?: Pick<KeyframeRecorder, "latest">,
  ) {
    this.boards = new ByteLru(budgetBytes);
  }

  /** The estimate of every board held, for tests and metrics. */
  get bytes(): number {
    return this.boards.bytes;
  }

  get size(): number {
    return this.boards.size;
  }

  get(sessionId: string): BoardState | undefined {
    return this.boards.get(sessionId);
  }

  /** Forgets the session's board (a write that changed it in place did not commit). */
  delete(sessionId: string): void {
    this.boards.delete(sessionId);
  }

  /** Keeps `state` unless a newer one (or this very object) is cached already. */
  offer(sessionId: string, state: BoardState): void {
    const cached = this.boards.peek(sessionId);
    if (cached && cached.value.version >= state.version) return;
    this.boards.set(sessionId, state, estimateBoardBytes(state));
  }

  /** The cached `state` was changed in place by `applied`: its estimate grows by what they add. */
  grew(sessionId: string, state: BoardState, applied: readonly AppliedBoardOp[]): void {
    const cached = this.boards.peek(sessionId);
    if (cached) this.measured(sessionId, state, cached.bytes + estimateOpsBytes(applied));
  }

  /** The cached `state` now weighs `bytes` (its JSON text, measured by the caller). */
  measured(sessionId: string, state: BoardState, bytes: number): void {
    if (this.boards.peek(sessionId)?.value !== state) return;
    this.boards.set(sessionId, state, bytes);
  }

  /**
   * `use` of the board at the session's current version: the cache, caught up from the
   * timeline. `use` runs at once, before any other work: a write under the session lock may
   * change the cached board in place, so a reader without the lock copies what it needs here.
   */
  async at<T>(tx: EntityManager, session: SessionEntity, use: (state: BoardState) => T): Promise<T> {
    let state = this.get(session.id);
    if (!state || state.version > session.boardVersion) state = (await this.keyframes?.latest(tx, session.id, session.boardVersion)) ?? emptyBoard();
    if (state.version < session.boardVersion) {
      const missing = await tx.find(SessionEventEntity, {
        where: { sessionId: session.id, boardVersion: MoreThan(state.version) },
        order: { boardVersion: "ASC" },
      });
      const ops = missing.filter((event) => (event.boardVersion as number) <= session.boardVersion).map(toAppliedOp);
      state = replayOps(state, ops);
    }
    // Cached even at version 0, so the next write changes this very board.
    this.offer(session.id, state);
    return use(state);
  }
}
