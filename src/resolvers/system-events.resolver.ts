import { Arg, Ctx, FieldResolver, ID, Int, Resolver, Root, Subscription } from "type-graphql";
import type { ParticipantEntity } from "../entities/participant.entity";
import { AFTER_SEQ_ARG } from "../schema/descriptions";
import { Participant } from "../schema/participant.type";
import { SystemEvent } from "../schema/system-event.type";
import { systemEventReader, type SystemEventView } from "../services/system-events";
import type { RequestContext } from "./context";

/** The systemEvents subscription and a system event's fields. */
@Resolver(() => SystemEvent)
export class SystemEventsResolver {
  @Subscription(() => SystemEvent, {
    description:
      "What happens in a session, for anyone who can read it: status changes, participant updates, grants and roles, chat, KICKED to a kicked user (whose stream then ends with FORBIDDEN), and in-app NOTIFICATIONs (a lesson starting in 10 minutes; the report ready, to the host and admins, after COMPLETED). With afterSeq, the recorded events after it come first, like boardEvents. Ends after the session's final status (COMPLETED, TERMINATED, EXPIRED). NOT_FOUND without access, FORBIDDEN when kicked, RESYNC_REQUIRED more than BACKFILL_MAX (10 000) events behind or when the subscriber falls behind.",
    subscribe: ({ args, context }) => {
      const ctx = context as RequestContext;
      return ctx.services.feed.watch(ctx.auth, args.sessionId as string, args.afterSeq as number | null | undefined, systemEventReader, ctx.openStream);
    },
  })
  systemEvents(
    @Root() event: SystemEventView,
    @Arg("sessionId", () => ID) _sessionId: string,
    @Arg("afterSeq", () => Int, { nullable: true, description: AFTER_SEQ_ARG }) _afterSeq?: number,
  ): SystemEventView {
    return event;
  }

  @FieldResolver(() => Participant, {
    nullable: true,
    description: "The participant the event is about (joins, media, hands, grants, kicks, chat); null for status changes.",
  })
  async participant(@Root() event: SystemEventView, @Ctx() ctx: RequestContext): Promise<ParticipantEntity | null> {
    if (!event.participantId) return null;
    return (await ctx.loaders.participantById.load(event.participantId)) ?? null;
  }
}
