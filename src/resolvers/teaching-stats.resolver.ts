import { Arg, Ctx, FieldResolver, Query, Resolver, Root } from "type-graphql";
import type { UserEntity } from "../entities/user.entity";
import { DateTimeScalar } from "../schema/scalars";
import { StudentStats, TeachingStats } from "../schema/teaching-stats.type";
import { User } from "../schema/user.type";
import type { TeachingStatsResult } from "../services/teaching-stats.service";
import type { RequestContext } from "./context";

/** Teaching statistics (issue 18): thin over TeachingStatsService. */
@Resolver(() => StudentStats)
export class TeachingStatsResolver {
  @Query(() => TeachingStats, {
    description:
      "Tutors (and admins): statistics of the lessons they hosted. FORBIDDEN for a student; BAD_USER_INPUT when `from` is not before `to` or the period is over 366 days.",
  })
  teachingStats(
    @Ctx() ctx: RequestContext,
    @Arg("from", () => DateTimeScalar, { nullable: true, description: "Lessons whose actual start is at or after it; default 30 days before `to`." })
    from?: Date | null,
    @Arg("to", () => DateTimeScalar, { nullable: true, description: "Lessons whose actual start is before it; default now." }) to?: Date | null,
  ): Promise<TeachingStatsResult> {
    return ctx.services.teachingStats.stats(ctx.auth, from, to);
  }

  @FieldResolver(() => User, { description: "The student." })
  async user(@Root() row: StudentStats, @Ctx() ctx: RequestContext): Promise<UserEntity> {
    return (await ctx.loaders.userById.load(row.userId)) as UserEntity;
  }
}
