import type { GraphQLResolveInfo } from "graphql";
import { Arg, Ctx, FieldResolver, Float, ID, Info, Mutation, Resolver, Root, Subscription } from "type-graphql";
import type { UserEntity } from "../entities/user.entity";
import { PresenceUpdate } from "../schema/presence.type";
import { Signal, SignalInput } from "../schema/signal.type";
import { User } from "../schema/user.type";
import type { PresenceFrame } from "../services/presence-hub";
import type { DirectHandler } from "../realtime/direct-mutations";
import type { Services } from "../services";
import type { RequestContext } from "./context";
import { userRef } from "./user-ref";
import type { SignalMessage } from "../realtime/messages";

/**
 * The mutations the realtime socket answers without graphql-js (DirectMutations, issue 10):
 * the same service call as their resolver below, with the arguments graphql-js would pass.
 */
export const directMutations = (services: Services): Record<string, DirectHandler> => ({
  moveCursor: (auth, { sessionId, x, y, tool, color }) =>
    services.presence.moveCursor(auth, sessionId as string, {
      x: x as number,
      y: y as number,
      tool: tool as string | null | undefined,
      color: color as string | null | undefined,
    }),
});

/** Presence, live cursors and WebRTC signaling (R2, R3): thin over PresenceService and SignalService. */
@Resolver(() => PresenceUpdate)
export class RealtimeResolver {
  @Mutation(() => Boolean, {
    description:
      "Shares your cursor with the session's presence subscribers. Needs a seat in an ACTIVE session (INVALID_STATE otherwise); NOT_FOUND without access, FORBIDDEN when kicked; PAYLOAD_TOO_LARGE over 2 KiB as JSON. At most 20 accepted per second per user and session; false when this one was dropped, and sustained dropping (over 100 in 10 s) closes your sockets with 4429.",
  })
  moveCursor(
    @Arg("sessionId", () => ID) sessionId: string,
    @Arg("x", () => Float, { description: "Horizontal board coordinate." }) x: number,
    @Arg("y", () => Float, { description: "Vertical board coordinate." }) y: number,
    @Ctx() ctx: RequestContext,
    @Arg("tool", () => String, { nullable: true, description: "The tool in use, for the others to show." }) tool?: string | null,
    @Arg("color", () => String, { nullable: true, description: "The cursor's colour, for the others to show." }) color?: string | null,
  ): Promise<boolean> {
    return ctx.services.presence.moveCursor(ctx.auth, sessionId, { x, y, tool, color });
  }

  @Mutation(() => Boolean, {
    description:
      "Relays a WebRTC signal to one participant or to every other one; answers true. Needs a seat in an ACTIVE session (INVALID_STATE otherwise); NOT_FOUND without access, FORBIDDEN when kicked; PAYLOAD_TOO_LARGE over 64 KiB; BAD_USER_INPUT when toUserId holds no seat. MUTE_*, UNMUTE_* and SCREEN_SHARE_* set your media state first: FORBIDDEN without its permission, CONFLICT for a second screen sharer, and then nothing is relayed.",
  })
  sendSignal(@Arg("sessionId", () => ID) sessionId: string, @Arg("input", () => SignalInput) input: SignalInput, @Ctx() ctx: RequestContext): Promise<boolean> {
    return ctx.services.signals.send(ctx.auth, sessionId, input);
  }

  @Subscription(() => PresenceUpdate, {
    description:
      "Who is online in the session and where their cursors are: the first frame is the full state (online users and their last cursors); then changes. For participants holding a seat (INVALID_STATE otherwise; NOT_FOUND without access, FORBIDDEN when kicked). Completes when you leave, are disconnected or the session ends; ends with FORBIDDEN when you are kicked; RESYNC_REQUIRED when the subscriber falls behind.",
    subscribe: ({ args, context }) => {
      const ctx = context as RequestContext;
      return ctx.services.presence.watch(ctx.auth, args.sessionId as string, ctx.openStream);
    },
  })
  presence(@Root() frame: PresenceFrame, @Arg("sessionId", () => ID) _sessionId: string): PresenceFrame {
    return frame;
  }

  @Subscription(() => Signal, {
    description:
      "WebRTC signaling: only signals addressed to the subscriber or to everyone, never your own. For participants holding a seat (INVALID_STATE otherwise; NOT_FOUND without access, FORBIDDEN when kicked). Completes when you leave, are disconnected or the session ends; ends with FORBIDDEN when you are kicked; RESYNC_REQUIRED when the subscriber falls behind.",
    subscribe: ({ args, context }) => {
      const ctx = context as RequestContext;
      return ctx.services.signals.watch(ctx.auth, args.sessionId as string, ctx.openStream);
    },
  })
  signals(@Root() signal: SignalMessage, @Arg("sessionId", () => ID) _sessionId: string): SignalMessage {
    return signal;
  }

  @FieldResolver(() => User, { nullable: true, description: "Who JOINED or LEFT; null for STATUS and CURSORS frames." })
  async user(@Root() frame: PresenceFrame, @Ctx() ctx: RequestContext, @Info() info: GraphQLResolveInfo): Promise<UserEntity | null> {
    if (!frame.userId) return null;
    return (await userRef(ctx, info, frame.userId)) ?? null;
  }
}
