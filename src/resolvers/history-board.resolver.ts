import { Arg, Ctx, FieldResolver, ID, Int, Mutation, Query, Resolver, Root } from "type-graphql";
import { publicBoard, renderSvg, type BoardState as EngineBoard } from "../board";
import type { BoardSnapshotEntity } from "../entities/board-snapshot.entity";
import type { SessionEntity } from "../entities/session.entity";
import type { UserEntity } from "../entities/user.entity";
import { ApplyBoardEventsPayload, BoardState } from "../schema/board.type";
import { toConnection } from "../schema/page.type";
import { JSONScalar, SafeIntScalar } from "../schema/scalars";
import { ClassroomSession } from "../schema/session.type";
import { BoardSnapshot, ImportMode, ReplayManifest, SnapshotConnection, StorageUsage } from "../schema/snapshot.type";
import { TimelineConnection } from "../schema/history.type";
import { User } from "../schema/user.type";
import { toBoardEvent } from "./board.resolver";
import type { BoardStateSource } from "./board-state.resolver";
import type { RequestContext } from "./context";
import { ViewerDependent } from "../schema/viewer-dependent";
import { AFTER_ARG, FIRST_ARG } from "../schema/descriptions";

const BOARD_ARG = "A JSON object with BoardState's `layers` and `objects` (what the export routes give).";
const REPLAY_RIGHTS = "FORBIDDEN without replay rights (isRecorded false, and you neither host it nor are an admin).";

/** History of a session's board (H2, H3): snapshots, replay, and the board's save/restore/import. */
@Resolver(() => ClassroomSession)
export class SessionReplayResolver {
  @FieldResolver(() => SnapshotConnection, {
    description: "The session's stored board snapshots, oldest first, for anyone who can read it. BAD_USER_INPUT for a page over 100 or a forged cursor.",
  })
  async snapshots(
    @Root() session: SessionEntity,
    @Ctx() ctx: RequestContext,
    @Arg("first", () => Int, { nullable: true, description: FIRST_ARG }) first?: number,
    @Arg("after", () => String, { nullable: true, description: AFTER_ARG }) after?: string,
  ) {
    return toConnection(await ctx.services.snapshots.list(session, first, after));
  }

  @FieldResolver(() => BoardSnapshot, { nullable: true, description: "One of the session's snapshots by its number; null when there is none." })
  snapshot(
    @Root() session: SessionEntity,
    @Arg("version", () => Int, { description: "The snapshot's number (BoardSnapshot.version)." }) version: number,
    @Ctx() ctx: RequestContext,
  ) {
    return ctx.services.snapshots.get(session, version);
  }

  @FieldResolver(() => ReplayManifest, {
    description: "What a replay needs to start: duration, counts and keyframes. Without replay rights canReplay is false and nothing else is told.",
  })
  @ViewerDependent()
  replayManifest(@Root() session: SessionEntity, @Ctx() ctx: RequestContext) {
    return ctx.services.replay.manifest(ctx.auth, session);
  }

  @FieldResolver(() => TimelineConnection, {
    description: `Events with fromMs <= timestampMs < toMs, in seq order. ${REPLAY_RIGHTS} BAD_USER_INPUT when toMs is before fromMs, for a page over 100 or a forged cursor.`,
  })
  @ViewerDependent()
  async replayEvents(
    @Root() session: SessionEntity,
    @Arg("fromMs", () => SafeIntScalar, { description: "Start of the window, in ms since the session's actual start (inclusive)." }) fromMs: number,
    @Arg("toMs", () => SafeIntScalar, { description: "End of the window (exclusive)." }) toMs: number,
    @Ctx() ctx: RequestContext,
    @Arg("first", () => Int, { nullable: true, description: FIRST_ARG }) first?: number,
    @Arg("after", () => String, { nullable: true, description: AFTER_ARG }) after?: string,
  ) {
    const page = toConnection(await ctx.services.replay.events(ctx.auth, session, fromMs, toMs, first, after));
    return { ...page, count: async () => page.totalCount }; // TimelineConnection counts through count()
  }

  @FieldResolver(() => BoardState, {
    description: `The board after every event with timestampMs <= the argument: nearest snapshot at or before it, plus the events after it. ${REPLAY_RIGHTS}`,
  })
  @ViewerDependent()
  async replayBoardAt(
    @Root() session: SessionEntity,
    @Arg("timestampMs", () => SafeIntScalar, { description: "The moment, in ms since the session's actual start." }) timestampMs: number,
    @Ctx() ctx: RequestContext,
  ): Promise<BoardStateSource> {
    const replayed = await ctx.services.replay.boardAt(ctx.auth, session, timestampMs);
    return { version: replayed.version, lastSeq: replayed.lastSeq, replayed };
  }

  @Mutation(() => BoardSnapshot, {
    description:
      "Stores the current board as a MANUAL snapshot, recorded as SNAPSHOT_MANUAL; in a solo workspace it counts against the owner's storage quota (QUOTA_EXCEEDED, nothing stored). Needs canDraw (FORBIDDEN) and a seat in an ACTIVE or PAUSED session (INVALID_STATE); NOT_FOUND without access, FORBIDDEN when kicked.",
  })
  saveBoard(@Arg("sessionId", () => ID) sessionId: string, @Ctx() ctx: RequestContext) {
    return ctx.services.snapshots.save(ctx.auth, sessionId);
  }

  @Mutation(() => ApplyBoardEventsPayload, {
    description:
      "Brings an exported board (BoardState JSON) into a session, as board events; id clashes are settled by `mode` and reported as conflicts. The host or a participant holding canClearBoard (FORBIDDEN), with a seat in an ACTIVE session (INVALID_STATE); BAD_USER_INPUT for a board the board engine refuses; NOT_FOUND without access, FORBIDDEN when kicked.",
  })
  async importBoard(
    @Arg("sessionId", () => ID) sessionId: string,
    @Arg("board", () => JSONScalar, { description: BOARD_ARG }) board: unknown,
    @Arg("mode", () => ImportMode, { description: "Replace the board, or merge into it." }) mode: ImportMode,
    @Ctx() ctx: RequestContext,
  ) {
    const result = await ctx.services.boardExport.importBoard(ctx.auth, sessionId, board, mode);
    return { ...result, accepted: result.accepted.map(toBoardEvent) };
  }

  @Mutation(() => BoardSnapshot, {
    description:
      "Sets the board to snapshot `version` as a new board version; answers the RESTORE snapshot it records (a RESTORE board event, then SNAPSHOT_RESTORE, on the timeline). The host or a participant holding canClearBoard (FORBIDDEN), with a seat in an ACTIVE session (INVALID_STATE); NOT_FOUND without access or for an unknown snapshot.",
  })
  restoreSnapshot(
    @Arg("sessionId", () => ID) sessionId: string,
    @Arg("version", () => Int, { description: "The number of the snapshot to restore (BoardSnapshot.version)." }) version: number,
    @Ctx() ctx: RequestContext,
  ) {
    return ctx.services.snapshots.restore(ctx.auth, sessionId, version);
  }

  @Mutation(() => BoardSnapshot, {
    description:
      "Solo workspace: store a snapshot under the owner's storage quota. The board becomes the workspace's board (a RESTORE board event) and a MANUAL snapshot; past SOLO_QUOTA_BYTES (50 MiB) it is QUOTA_EXCEEDED (`usedBytes`, `quotaBytes`, `remainingBytes`) and nothing is stored. The workspace's owner only (FORBIDDEN), seated in it while ACTIVE (INVALID_STATE); BAD_USER_INPUT for a session that is not SOLO or a board the engine refuses; NOT_FOUND without access.",
  })
  createSoloSnapshot(
    @Arg("sessionId", () => ID) sessionId: string,
    @Arg("board", () => JSONScalar, { description: BOARD_ARG }) board: unknown,
    @Ctx() ctx: RequestContext,
  ) {
    return ctx.services.snapshots.createSolo(ctx.auth, sessionId, board);
  }

  @Query(() => StorageUsage, {
    description: "Your solo snapshots' storage: bytes used and left under SOLO_QUOTA_BYTES (50 MiB). Any signed-in user.",
  })
  storageUsage(@Ctx() ctx: RequestContext) {
    return ctx.services.snapshots.usage(ctx.auth);
  }
}

/** A snapshot's author, board and picture; the board text is loaded once per request. */
@Resolver(() => BoardSnapshot)
export class BoardSnapshotResolver {
  @FieldResolver(() => User, {
    nullable: true,
    description: "Who caused it (saved, restored, joined, left or ended); null when the server took it on its own.",
  })
  async createdBy(@Root() snapshot: BoardSnapshotEntity, @Ctx() ctx: RequestContext): Promise<UserEntity | null> {
    return snapshot.createdBy ? ((await ctx.loaders.userById.load(snapshot.createdBy)) ?? null) : null;
  }

  @FieldResolver(() => BoardState, { description: "The board it holds; lastSeq is the timeline seq it reflects." })
  async board(@Root() snapshot: BoardSnapshotEntity, @Ctx() ctx: RequestContext) {
    return { ...publicBoard(await storedBoard(snapshot, ctx)), lastSeq: snapshot.seq };
  }

  @FieldResolver(() => String, { description: "A picture of the board as an SVG document." })
  async thumbnailSvg(@Root() snapshot: BoardSnapshotEntity, @Ctx() ctx: RequestContext): Promise<string> {
    return renderSvg(await storedBoard(snapshot, ctx));
  }
}

async function storedBoard(snapshot: BoardSnapshotEntity, ctx: RequestContext): Promise<EngineBoard> {
  const board = await ctx.loaders.snapshotBoardById.load(snapshot.id);
  if (!board) throw new Error(`snapshot ${snapshot.id} has no stored board`);
  return board;
}
