import type { GraphQLResolveInfo } from "graphql";
import { Arg, Ctx, FieldResolver, ID, Info, Int, Mutation, Resolver, Root, Subscription } from "type-graphql";
import type { SessionEntity } from "../entities/session.entity";
import type { UserEntity } from "../entities/user.entity";
import { ApplyBoardEventsPayload, BoardEvent, BoardEventInput, BoardState, ConflictStrategy } from "../schema/board.type";
import { ClassroomSession } from "../schema/session.type";
import { User } from "../schema/user.type";
import { boardEventStep } from "../services/board-events";
import { countBoardBatch } from "../services/lesson-metrics";
import { AFTER_SEQ_ARG } from "../schema/descriptions";
import type { RequestContext } from "./context";
import { userRef } from "./user-ref";
import type { TimelineMessage } from "../realtime/messages";

/** A stored board event in the shape of the BoardEvent type. */
interface BoardEventRow {
  id: string;
  sessionId: string;
  seq: number;
  type: string;
  clientOpId: string | null;
  boardVersion: number | null;
  userId: string | null;
  timestampMs: number;
  data: unknown;
}

/** A stored board event as the BoardEvent type (shared by applyBoardEvents, importBoard and the subscription). */
export function toBoardEvent(row: BoardEventRow) {
  return { ...row, type: row.type.replace(/^BOARD_/, ""), version: row.boardVersion };
}

@Resolver(() => BoardEvent)
export class BoardResolver {
  @Mutation(() => ApplyBoardEventsPayload, {
    description:
      "Applies board operations in order, atomically (an error applies none): each accepted op becomes a timeline event and a board version, delivered to every boardEvents subscriber; conflicts are reported, not errors. Needs a seat in an ACTIVE session (INVALID_STATE otherwise) and each op's permission (FORBIDDEN); NOT_FOUND without access, FORBIDDEN when kicked. BAD_USER_INPUT for no op or more than 500 (MAX_BOARD_OPS_PER_BATCH), a clientOpId outside 1–64 characters or repeated in the batch, a RESTORE, or malformed data.",
  })
  async applyBoardEvents(
    @Arg("sessionId", () => ID) sessionId: string,
    @Arg("events", () => [BoardEventInput], { description: "The operations, applied in this order." }) events: BoardEventInput[],
    @Ctx() ctx: RequestContext,
    @Arg("strategy", () => ConflictStrategy, { nullable: true, description: "What becomes of conflicting ops; LAST_WRITE_WINS when omitted." })
    strategy?: ConflictStrategy,
  ) {
    const result = await countBoardBatch(ctx.services.metrics, events.length, ctx.services.board.apply(ctx.auth, sessionId, events, strategy ?? undefined));
    return { ...result, accepted: result.accepted.map(toBoardEvent) };
  }

  @Subscription(() => BoardEvent, {
    description:
      "Every accepted board event of the session, in seq order, for anyone who can read it (NOT_FOUND otherwise, FORBIDDEN when kicked; a kick ends the stream with FORBIDDEN). With afterSeq, the persisted events after it come first, then live ones, with no gap and no duplicate. Ends after the session's final status. RESYNC_REQUIRED more than BACKFILL_MAX (10 000) events behind or when the subscriber falls behind: read the board again and resume from its lastSeq.",
    subscribe: ({ args, context }) => {
      const ctx = context as RequestContext;
      return ctx.services.feed.watch(ctx.auth, args.sessionId as string, args.afterSeq as number | null | undefined, { step: boardEventStep }, ctx.openStream);
    },
  })
  boardEvents(
    @Root() event: TimelineMessage,
    @Arg("sessionId", () => ID) _sessionId: string,
    @Arg("afterSeq", () => Int, { nullable: true, description: AFTER_SEQ_ARG }) _afterSeq?: number,
  ) {
    return toBoardEvent(event);
  }

  @FieldResolver(() => User, { description: "Who made it (for a restore or an import, the user who asked for it)." })
  async user(@Root() event: BoardEventRow, @Ctx() ctx: RequestContext, @Info() info: GraphQLResolveInfo): Promise<UserEntity> {
    return (await userRef(ctx, info, event.userId as string)) as UserEntity;
  }
}

@Resolver(() => ClassroomSession)
export class SessionBoardResolver {
  @FieldResolver(() => BoardState, { description: "The current board, reduced from every accepted board event." })
  async board(@Root() session: SessionEntity, @Ctx() ctx: RequestContext) {
    const { board, lastSeq } = await ctx.services.board.read(session);
    return { ...board, lastSeq };
  }
}
