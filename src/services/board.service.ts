import type { EntityManager } from "typeorm";
import type { AccessPolicy } from "../auth/access";
import type { AuthContext } from "../auth/auth-context";
import {
  BOARD_LIMITS,
  BoardPermissionError,
  BoardValidationError,
  applyOps,
  boardBytes,
  publicBoard,
  type PublicBoard,
  type AppliedBoardOp,
  type BoardConflict,
  type BoardOpInput,
  type BoardPermission,
  type BoardState,
  type ConflictStrategy,
} from "../board";
import { SessionEventEntity } from "../entities/session-event.entity";
import type { PermissionKey } from "../entities/participant.entity";
import { SerialByKey } from "../infra/serial-by-key";
import { BoardCache, estimateOpsBytes } from "./board-cache";
import { isUniqueViolation } from "../db/errors";
import { SessionEntity, SessionStatus } from "../entities/session.entity";
import { invalidInput } from "../domain/errors";
import { requireStatus } from "./session-lifecycle";
import type { SessionStore } from "./session-store";
import type { NewSessionEvent } from "./timeline";
import { checkClientBatch, toNewEvents, type KeyframeRecorder, type SerializedBoard } from "./board-events";
import { boardOpForbidden, holds, requireSeated, type SessionAccess } from "../auth/session-policy";

/**
 * Ops per call of the pure engine (its own bound, BOARD_LIMITS.maxOpsPerBatch): a longer batch
 * (a server-made one, or a client's under a raised MAX_BOARD_OPS_PER_BATCH) is applied in
 * steps of this many, in one transaction.
 */
const ENGINE_STEP = BOARD_LIMITS.maxOpsPerBatch;

export interface ApplyBoardResult {
  /** Accepted events in the order of the batch (repeats: the originally accepted event). */
  accepted: SessionEventEntity[];
  conflicts: BoardConflict[];
  version: number;
}

/** Options of BoardService.write for server-made ops and what they record beside the board events. */
export interface BoardWriteOptions<R> {
  /** Who may write (throws); replaces the per-op permission check and allows RESTORE ops. */
  authorize?: (access: SessionAccess) => void;
  /** Timeline events recorded after the board events (SNAPSHOT_RESTORE …). */
  extraEvents?: NewSessionEvent[];
  /** Runs in the transaction once the events are stored (with the batch's conflicts); its answer comes back as `extra`. */
  afterAppend?: (tx: EntityManager, session: SessionEntity, board: BoardState, saved: SessionEventEntity[], conflicts: BoardConflict[]) => Promise<R>;
}

/** A write's answer, and the announcement of its events it waits for (SessionStore.changeRecording). */
type Published<T> = T & { published: Promise<void> };

/** A session's board as a read sees it: the public board and the last timeline seq it reflects. */
export interface BoardRead {
  board: PublicBoard;
  lastSeq: number;
}

/**
 * The main data path (ARCHITECTURE.md): permissions per op, ACTIVE sessions and seated
 * writers only, one transaction under the session lock that applies the ops with the pure
 * board engine, inserts the accepted ones as timeline events (a repeated clientOpId answers
 * the original and changes nothing), advances the board version, then publishes after commit.
 */
export class BoardService {
  private readonly cache: BoardCache;
  /** A session's writes on this instance, one at a time: each may change the cached board in place. */
  private readonly writes = new SerialByKey();

  constructor(
    private readonly store: SessionStore,
    private readonly access: AccessPolicy,
    /** BOARD_CACHE_BYTES: the estimated size of the boards this instance keeps in memory. */
    cacheBytes: number,
    /** MAX_BOARD_OPS_PER_BATCH: board events per applyBoardEvents (HARDENING.md, 500); BAD_USER_INPUT beyond. */
    private readonly maxOpsPerCall: number,
    /** Records keyframes in the write transaction (SnapshotRecorder). */
    private readonly keyframes?: KeyframeRecorder,
  ) {
    this.cache = new BoardCache(cacheBytes, keyframes);
  }

  async apply(auth: AuthContext, sessionId: string, batch: BoardOpInput[], strategy: ConflictStrategy = "LAST_WRITE_WINS"): Promise<ApplyBoardResult> {
    const actorId = auth.requireUserIdFor(sessionId);
    return this.write(actorId, sessionId, this.checkBatch(batch), strategy);
  }

  /** A client's batch checked (checkClientBatch) against MAX_BOARD_OPS_PER_BATCH. */
  checkBatch(batch: readonly BoardOpInput[]): BoardOpInput[] {
    return checkClientBatch(batch, this.maxOpsPerCall);
  }

  /**
   * The write path shared by client ops and server-made ones (restore, import, solo
   * snapshots): under the session lock, `ops` (or `ops(board)`, computed from the locked
   * board) applied in steps of the engine's batch bound, stored as board events with `extraEvents`
   * after them, keyframes recorded, `afterAppend` run, committed, then published.
   * `authorize` replaces the per-op permission check for server-made ops. The session's next
   * write on this instance starts at this one's commit; this one answers once it is published.
   */
  async write<R = undefined>(
    actorId: string,
    sessionId: string,
    ops: BoardOpInput[] | ((board: BoardState) => BoardOpInput[]),
    strategy: ConflictStrategy,
    options: BoardWriteOptions<R> = {},
  ): Promise<ApplyBoardResult & { extra?: R }> {
    const { published, ...result } = await this.writes.run(sessionId, async () => {
      const plain = Array.isArray(ops) && !options.authorize && !options.extraEvents && !options.afterAppend;
      return (plain && (await this.writeOnCachedBoard(actorId, sessionId, ops, strategy))) || this.writeLocked(actorId, sessionId, ops, strategy, options);
    });
    await published;
    return result;
  }

  /**
   * A client batch in one statement, without a transaction: applied to the cached board, then
   * stored only if the session is ACTIVE at that very board version, the batch repeats no
   * stored op (the unique client op index refuses a repeat) and the actor holds every
   * permission the engine asked for (read by the same statement, SessionStore.appendIf). Undefined, with the cached board as it was, when the
   * locked path must decide instead: no cached board, a keyframe to take, an op the engine
   * refuses (the locked path answers access errors first), nothing to store, or a guard that
   * failed (another instance wrote, a repeat, a permission, the session's status).
   */
  private async writeOnCachedBoard(
    actorId: string,
    sessionId: string,
    ops: BoardOpInput[],
    strategy: ConflictStrategy,
  ): Promise<Published<ApplyBoardResult> | undefined> {
    const before = this.cache.get(sessionId);
    if (!before || this.reachesKeyframe(before.version, ops.length)) return undefined;
    const baseVersion = before.version;
    const asked = new Set<PermissionKey>();
    let step: ReturnType<typeof applyOps>;
    try {
      // Every permission is granted here and checked by the statement: the same answers.
      step = applyOps(before, ops, actorId, strategy, { can: (permission) => (asked.add(permission), true), inPlace: true });
    } catch {
      return undefined; // the engine put the board back
    }
    const undo = step.undo as () => void;
    if (step.applied.length === 0) {
      undo();
      return undefined;
    }
    const events = toNewEvents(step.applied, actorId);
    let appended: Awaited<ReturnType<SessionStore["appendIf"]>>;
    try {
      appended = await this.store.appendIf(sessionId, events, step.state.version, (param) => {
        return `s.status = ${param(SessionStatus.ACTIVE)} AND s.board_version = ${param(baseVersion)}
          AND ${this.access.holdsAllCondition(actorId, [...asked])(param)}`;
      });
    } catch (err) {
      // A repeat of a stored op (a client's retry, another instance's write): the unique index
      // refuses the whole statement, and the locked path answers the repeats.
      if (!isUniqueViolation(err, "session_events_client_op_key")) {
        undo();
        throw err;
      }
    }
    if (!appended) {
      undo();
      return undefined;
    }
    this.cache.grew(sessionId, step.state, step.applied);
    const byOpId = new Map(appended.saved.map((e) => [e.clientOpId as string, e]));
    return {
      accepted: ops.flatMap((op) => byOpId.get(op.clientOpId) ?? []),
      conflicts: step.conflicts,
      version: step.state.version,
      published: appended.published,
    };
  }

  /** The locked path of `write`: one transaction under the session lock. */
  private async writeLocked<R>(
    actorId: string,
    sessionId: string,
    ops: BoardOpInput[] | ((board: BoardState) => BoardOpInput[]),
    strategy: ConflictStrategy,
    options: BoardWriteOptions<R>,
  ): Promise<Published<ApplyBoardResult & { extra?: R }>> {
    const ids = Array.isArray(ops) ? ops.map((op) => op.clientOpId) : [];
    let newState: BoardState | undefined;
    let extra: R | undefined;
    const applied: AppliedBoardOp[] = [];
    const keyframes: SerializedBoard[] = [];
    const recording = this.store.changeRecording(sessionId, async (tx, session) => {
      // Access and the batch's repeats in one statement: every round trip here holds the lock.
      const { access, repeats } = await this.access.requireForBoardWrite(actorId, session, tx, ids);
      options.authorize?.(access);
      requireStatus(session.status, [SessionStatus.ACTIVE], "change the board");
      // A board write is a participant action: it needs a seat, the host's too (RULES.md "Participants").
      requireSeated(access);
      const repeated = new Map(repeats.map((e) => [e.clientOpId as string, e]));
      const before = await this.cache.at(tx, session, (state) => state);
      const fresh = (Array.isArray(ops) ? ops : ops(before)).filter((op) => !repeated.has(op.clientOpId));
      // The cached board is changed in place (copying it per batch made a write O(board)):
      // no one else writes it while the session is locked, and read() copies what it shows
      // before anything else runs. A failed transaction drops it from the cache.
      let state = before;
      const conflicts: BoardConflict[] = [];
      const every = this.keyframes?.everyEvents ?? Infinity;
      try {
        let done = 0;
        do {
          // Never past the next keyframe in one engine call (an op adds at most one version),
          // so the board is serialized exactly as it stands at the keyframe's version.
          const chunk = fresh.slice(done, done + Math.min(ENGINE_STEP, every - (state.version % every)));
          done += chunk.length;
          const step = applyOps(state, chunk, actorId, strategy, {
            // The engine asks for each op's permission in the state the batch has reached, so
            // an UNDO needs the permission of the op it undoes.
            can: options.authorize ? undefined : (permission: BoardPermission) => holds(access, permission),
            allowRestore: options.authorize !== undefined,
            inPlace: true,
          });
          state = step.state;
          applied.push(...step.applied);
          conflicts.push(...step.conflicts);
          if (step.applied.length > 0 && state.version % every === 0) keyframes.push({ version: state.version, bytes: boardBytes(state) });
        } while (done < fresh.length);
      } catch (err) {
        if (err instanceof BoardValidationError) throw invalidInput(err.message, { field: "events" });
        if (err instanceof BoardPermissionError) throw boardOpForbidden(err.permission, err.clientOpId);
        throw err;
      }
      // Stored with the session's other counters by the statement that appends the events.
      session.boardVersion = state.version;
      newState = state;
      return {
        result: { repeated, conflicts, version: state.version },
        events: [...toNewEvents(applied, actorId), ...(options.extraEvents ?? [])],
        afterAppend: async (saved) => {
          if (keyframes.length > 0) await this.keyframes?.record(tx, session, keyframes, saved);
          if (options.afterAppend) extra = await options.afterAppend(tx, session, state, saved, conflicts);
        },
      };
    });
    const { result, events, published } = await recording.catch((err: unknown) => {
      // The cached board may hold changes that were never committed.
      this.cache.delete(sessionId);
      throw err;
    });
    if (newState) {
      // The cached object is `newState` already: only its estimate changes, measured by the
      // last keyframe's text when there is one.
      const last = keyframes.at(-1);
      if (last) this.cache.measured(sessionId, newState, last.bytes.length + estimateOpsBytes(applied.filter((op) => op.version > last.version)));
      else this.cache.grew(sessionId, newState, applied);
      this.cache.offer(sessionId, newState);
    }
    const byOpId = new Map(events.filter((e) => e.boardVersion !== null).map((e) => [e.clientOpId as string, e]));
    const accepted = (ids.length > 0 ? ids : [...byOpId.keys()]).flatMap((id) => {
      const event = result.repeated.get(id) ?? byOpId.get(id);
      return event ? [event] : [];
    });
    return { accepted, conflicts: result.conflicts, version: result.version, extra, published };
  }

  /** Whether `count` ops from `version` reach a keyframe (SNAPSHOT_EVERY_EVENTS), which is replayed from the board before them. */
  private reachesKeyframe(version: number, count: number): boolean {
    const every = this.keyframes?.everyEvents ?? Infinity;
    return Math.floor((version + count) / every) !== Math.floor(version / every);
  }

  /** The board at the locked `session`'s current version, inside the caller's transaction. */
  boardIn(tx: EntityManager, session: SessionEntity): Promise<BoardState> {
    return this.cache.at(tx, session, (state) => state);
  }

  /** The board of a session the caller may read, with the last seq it reflects. */
  async read(session: SessionEntity): Promise<BoardRead> {
    return this.store.db.transaction("REPEATABLE READ", async (tx) => {
      // One snapshot: the board at the version recorded with the seq it is read with.
      const fresh = await tx.findOneByOrFail(SessionEntity, { id: session.id });
      return { board: await this.cache.at(tx, fresh, publicBoard), lastSeq: fresh.lastSeq };
    });
  }
}
