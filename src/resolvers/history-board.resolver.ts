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

/** History of a session's board (H2, H3): snapshots, replay, and the board's save/restore/import. */
@Resolver(() => ClassroomSession)
export class SessionReplayResolver {
  @FieldResolver(() => SnapshotConnection)
  async snapshots(
    @Root() session: SessionEntity,
    @Ctx() ctx: RequestContext,
    @Arg("first", () => Int, { nullable: true }) first?: number,
    @Arg("after", () => String, { nullable: true }) after?: string,
  ) {
    return toConnection(await ctx.services.snapshots.list(session, first, after));
  }

  @FieldResolver(() => BoardSnapshot, { nullable: true })
  snapshot(@Root() session: SessionEntity, @Arg("version", () => Int) version: number, @Ctx() ctx: RequestContext) {
    return ctx.services.snapshots.get(session, version);
  }

  @FieldResolver(() => ReplayManifest)
  @ViewerDependent()
  replayManifest(@Root() session: SessionEntity, @Ctx() ctx: RequestContext) {
    return ctx.services.replay.manifest(ctx.auth, session);
  }

  @FieldResolver(() => TimelineConnection, { description: "Events with fromMs <= timestampMs < toMs, in seq order." })
  @ViewerDependent()
  async replayEvents(
    @Root() session: SessionEntity,
    @Arg("fromMs", () => SafeIntScalar) fromMs: number,
    @Arg("toMs", () => SafeIntScalar) toMs: number,
    @Ctx() ctx: RequestContext,
    @Arg("first", () => Int, { nullable: true }) first?: number,
    @Arg("after", () => String, { nullable: true }) after?: string,
  ) {
    const page = toConnection(await ctx.services.replay.events(ctx.auth, session, fromMs, toMs, first, after));
    return { ...page, count: async () => page.totalCount }; // TimelineConnection counts through count()
  }

  @FieldResolver(() => BoardState, {
    description: "The board after every event with timestampMs <= the argument: nearest snapshot at or before it, plus the events after it.",
  })
  @ViewerDependent()
  async replayBoardAt(
    @Root() session: SessionEntity,
    @Arg("timestampMs", () => SafeIntScalar) timestampMs: number,
    @Ctx() ctx: RequestContext,
  ): Promise<BoardStateSource> {
    const replayed = await ctx.services.replay.boardAt(ctx.auth, session, timestampMs);
    return { version: replayed.version, lastSeq: replayed.lastSeq, replayed };
  }

  @Mutation(() => BoardSnapshot)
  saveBoard(@Arg("sessionId", () => ID) sessionId: string, @Ctx() ctx: RequestContext) {
    return ctx.services.snapshots.save(ctx.auth, sessionId);
  }

  @Mutation(() => ApplyBoardEventsPayload, { description: "Brings an exported board (BoardState JSON) into a session, as board events." })
  async importBoard(
    @Arg("sessionId", () => ID) sessionId: string,
    @Arg("board", () => JSONScalar) board: unknown,
    @Arg("mode", () => ImportMode) mode: ImportMode,
    @Ctx() ctx: RequestContext,
  ) {
    const result = await ctx.services.boardExport.importBoard(ctx.auth, sessionId, board, mode);
    return { ...result, accepted: result.accepted.map(toBoardEvent) };
  }

  @Mutation(() => BoardSnapshot, { description: "Sets the board to snapshot `version` as a new board version; answers the RESTORE snapshot it records." })
  restoreSnapshot(@Arg("sessionId", () => ID) sessionId: string, @Arg("version", () => Int) version: number, @Ctx() ctx: RequestContext) {
    return ctx.services.snapshots.restore(ctx.auth, sessionId, version);
  }

  @Mutation(() => BoardSnapshot, { description: "Solo workspace: store a snapshot under the owner's storage quota." })
  createSoloSnapshot(@Arg("sessionId", () => ID) sessionId: string, @Arg("board", () => JSONScalar) board: unknown, @Ctx() ctx: RequestContext) {
    return ctx.services.snapshots.createSolo(ctx.auth, sessionId, board);
  }

  @Query(() => StorageUsage)
  storageUsage(@Ctx() ctx: RequestContext) {
    return ctx.services.snapshots.usage(ctx.auth);
  }
}

/** A snapshot's author, board and picture; the board text is loaded once per request. */
@Resolver(() => BoardSnapshot)
export class BoardSnapshotResolver {
  @FieldResolver(() => User, { nullable: true })
  async createdBy(@Root() snapshot: BoardSnapshotEntity, @Ctx() ctx: RequestContext): Promise<UserEntity | null> {
    return snapshot.createdBy ? ((await ctx.loaders.userById.load(snapshot.createdBy)) ?? null) : null;
  }

  @FieldResolver(() => BoardState)
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
