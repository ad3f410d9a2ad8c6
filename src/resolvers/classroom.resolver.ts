import { Arg, Ctx, FieldResolver, ID, Int, Mutation, Query, Resolver, Root } from "type-graphql";
import type { ClassroomEntity } from "../entities/classroom.entity";
import type { UserEntity } from "../entities/user.entity";
import { Classroom } from "../schema/classroom.type";
import { toConnection } from "../schema/page.type";
import { SessionConnection } from "../schema/session.type";
import { User } from "../schema/user.type";
import { AFTER_ARG, FIRST_ARG } from "../schema/descriptions";
import type { RequestContext } from "./context";

/** Classrooms: thin over ClassroomService; members batch through the request's loaders. */
@Resolver(() => Classroom)
export class ClassroomResolver {
  @Query(() => Classroom, {
    nullable: true,
    description: "A classroom by id, for its tutor, its members and admins; null for anyone else and for an unknown id.",
  })
  classroom(@Arg("id", () => ID) id: string, @Ctx() ctx: RequestContext): Promise<ClassroomEntity | null> {
    return ctx.services.classrooms.get(ctx.auth, id);
  }

  @Query(() => [Classroom], { description: "The classrooms you tutor or are a member of, oldest first." })
  myClassrooms(@Ctx() ctx: RequestContext): Promise<ClassroomEntity[]> {
    return ctx.services.classrooms.mine(ctx.auth);
  }

  @Mutation(() => Classroom, {
    description:
      "Creates a classroom you tutor. Tutors and admins only (FORBIDDEN); BAD_USER_INPUT for a name outside 1–200 characters; RATE_LIMITED past CLASSROOM_RATE_PER_USER (20 an hour).",
  })
  createClassroom(@Arg("name", { description: "1 to 200 characters after trimming." }) name: string, @Ctx() ctx: RequestContext): Promise<ClassroomEntity> {
    return ctx.services.classrooms.create(ctx.auth, name);
  }

  @Mutation(() => Classroom, {
    description:
      "Adds a user to a classroom, so they reach its sessions. Its tutor or an admin (FORBIDDEN for a member); NOT_FOUND when you cannot see the classroom; BAD_USER_INPUT for an unknown user. Adding a member again, or the tutor, changes nothing.",
  })
  addClassroomMember(
    @Arg("classroomId", () => ID, { description: "The classroom to add to." }) classroomId: string,
    @Arg("userId", () => ID, { description: "The user to add." }) userId: string,
    @Ctx() ctx: RequestContext,
  ): Promise<ClassroomEntity> {
    return ctx.services.classrooms.addMember(ctx.auth, classroomId, userId);
  }

  @FieldResolver(() => User, { description: "The tutor who created the classroom and manages it." })
  async tutor(@Root() classroom: ClassroomEntity, @Ctx() ctx: RequestContext): Promise<UserEntity> {
    return (await ctx.loaders.userById.load(classroom.tutorId)) as UserEntity;
  }

  @FieldResolver(() => [User], { description: "The users added to it (addClassroomMember), in the order they were added; the tutor is not one of them." })
  members(@Root() classroom: ClassroomEntity, @Ctx() ctx: RequestContext): Promise<UserEntity[]> {
    return ctx.loaders.membersByClassroom.load(classroom.id);
  }

  @FieldResolver(() => SessionConnection, {
    description:
      "Its sessions, newest first, each only if you can read it (a member kicked from one does not see it). BAD_USER_INPUT for a page over 100 or a forged cursor.",
  })
  async sessions(
    @Root() classroom: ClassroomEntity,
    @Ctx() ctx: RequestContext,
    @Arg("first", () => Int, { nullable: true, description: FIRST_ARG }) first?: number,
    @Arg("after", () => String, { nullable: true, description: AFTER_ARG }) after?: string,
  ) {
    return toConnection(await ctx.services.classrooms.sessionsOf(ctx.auth, classroom, first, after));
  }
}
