import { Arg, Ctx, ID, Int, Mutation, Query, Resolver } from "type-graphql";
import { ApplyBoardEventsPayload } from "../schema/board.type";
import { SyncPullPayload, SyncPushInput } from "../schema/sync.type";
import { countBoardBatch } from "../services/lesson-metrics";
import { toBoardEvent } from "./board.resolver";
import type { RequestContext } from "./context";

/** Offline sync (W4): pull the timeline after a device's checkpoint, push board ops made offline. */
@Resolver()
export class SyncResolver {
  @Query(() => SyncPullPayload, {
    description:
      "The session's changes after a checkpoint, in seq order, one page at a time; the answered checkpoint is stored for the device. Anyone who may read the session's timeline (NOT_FOUND otherwise). BAD_USER_INPUT for a checkpoint ahead of the session's latest seq, a limit outside 1–100 (MAX_PAGE_SIZE) or a deviceId that is not 1–128 printable characters.",
  })
  syncPull(
    @Arg("deviceId", { description: "The pulling device (1 to 128 printable characters); its checkpoint is kept per user, device and session." })
    deviceId: string,
    @Arg("sessionId", () => ID) sessionId: string,
    @Ctx() ctx: RequestContext,
    @Arg("since", () => Int, {
      nullable: true,
      description: "The checkpoint (a timeline seq) to pull after; the device's stored checkpoint (else 0) when omitted.",
    })
    since?: number,
    @Arg("limit", () => Int, { nullable: true, description: "Changes per page: 1 to 100 (MAX_PAGE_SIZE), 100 when omitted." }) limit?: number,
  ) {
    return ctx.services.sync.pull(ctx.auth, { deviceId, sessionId, since, limit });
  }

  @Mutation(() => ApplyBoardEventsPayload, {
    description:
      "Board ops made offline, applied as applyBoardEvents applies them (permissions per op, the strategy, conflicts reported, all or nothing, stamped on arrival). Needs a seat in an ACTIVE session (INVALID_STATE otherwise: join again first); NOT_FOUND without access, FORBIDDEN when kicked or without an op's permission. The same ops pushed again (the same clientOpIds, by the same user) answer the first push's payload and change nothing.",
  })
  async syncPush(@Arg("input") input: SyncPushInput, @Ctx() ctx: RequestContext) {
    const { deviceId, sessionId, strategy, events } = input;
    const result = await countBoardBatch(ctx.services.metrics, events.length, ctx.services.sync.push(ctx.auth, { deviceId, sessionId, strategy, events }));
    return { ...result, accepted: result.accepted.map(toBoardEvent) };
  }
}
