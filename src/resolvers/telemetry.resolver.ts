import { Arg, Ctx, Int, Query, Resolver } from "type-graphql";
import { AFTER_ARG, FIRST_ARG } from "../schema/descriptions";
import { toConnection } from "../schema/page.type";
import { TelemetryEvent, TelemetryEventConnection, TelemetryEventFilter } from "../schema/telemetry.type";
import type { RequestContext } from "./context";

/** Telemetry (W3), read side: thin over TelemetryService. Clients send events over HTTP, not GraphQL. */
@Resolver(() => TelemetryEvent)
export class TelemetryResolver {
  @Query(() => TelemetryEventConnection, {
    description:
      "The telemetry events clients sent (POST /api/v1/logs/telemetry), newest first, for the last TELEMETRY_RETENTION_DAYS (14). Admins only (FORBIDDEN). BAD_USER_INPUT for a page over 100 or a forged cursor.",
  })
  async telemetryEvents(
    @Ctx() ctx: RequestContext,
    @Arg("filter", () => TelemetryEventFilter, { nullable: true, description: "Only the events matching it." }) filter?: TelemetryEventFilter,
    @Arg("first", () => Int, { nullable: true, description: FIRST_ARG }) first?: number,
    @Arg("after", () => String, { nullable: true, description: AFTER_ARG }) after?: string,
  ) {
    return toConnection(await ctx.services.telemetry.list(ctx.auth, filter ?? {}, first, after));
  }
}
