import { Arg, Ctx, FieldResolver, ID, Int, Mutation, Query, Resolver, Root } from "type-graphql";
import type { ClassroomEntity } from "../entities/classroom.entity";
import type { UserEntity } from "../entities/user.entity";
import { Classroom } from "../schema/classroom.type";
import { toConnection } from "../schema/page.type";
import { SessionConnection } from "../schema/session.type";
import { User } from "../schema/user.type";
import type { RequestContext } from "./context";

/** Classrooms: thin over ClassroomService; members batch through the request's loaders. */
@Resolver(() => Classroom)
export class ClassroomResolver {
  @Query(() => Classroom, { nullable: true })
  classroom(@Arg("id", () => ID) id: string, @Ctx() ctx: RequestContext): Promise<ClassroomEntity | null> {
    return ctx.services.classrooms.get(ctx.auth, id);
  }

  @Query(() => [Classroom])
  myClassrooms(@Ctx() ctx: RequestContext): Promise<ClassroomEntity[]> {
    return ctx.services.classrooms.mine(ctx.auth);
  }

  @Mutation(() => Classroom)
  createClassroom(@Arg("name") name: string, @Ctx() ctx: RequestContext): Promise<ClassroomEntity> {
    return ctx.services.classrooms.create(ctx.auth, name);
  }

  @Mutation(() => Classroom)
  addClassroomMember(
    @Arg("classroomId", () => ID) classroomId: string,
    @Arg("userId", () => ID) userId: string,
    @Ctx() ctx: RequestContext,
  ): Promise<ClassroomEntity> {
    return ctx.services.classrooms.addMember(ctx.auth, classroomId, userId);
  }

  @FieldResolver(() => User)
  async tutor(@Root() classroom: ClassroomEntity, @Ctx() ctx: RequestContext): Promise<UserEntity> {
    return (await ctx.loaders.userById.load(classroom.tutorId)) as UserEntity;
  }

  @FieldResolver(() => [User])
  members(@Root() classroom: ClassroomEntity, @Ctx() ctx: RequestContext): Promise<UserEntity[]> {
    return ctx.loaders.membersByClassroom.load(classroom.id);
  }

  @FieldResolver(() => SessionConnection)
  async sessions(
    @Root() classroom: ClassroomEntity,
    @Ctx() ctx: RequestContext,
    @Arg("first", () => Int, { nullable: true }) first?: number,
    @Arg("after", () => String, { nullable: true }) after?: string,
  ) {
    return toConnection(await ctx.services.classrooms.sessionsOf(ctx.auth, classroom, first, after));
  }
}
