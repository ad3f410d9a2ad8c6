import { Arg, Ctx, FieldResolver, ID, Mutation, Query, Resolver, Root, Subscription } from "type-graphql";
import { AuthContext } from "../auth/auth-context";
import type { UserEntity } from "../entities/user.entity";
import { AuthPayload, RegisterInput, UpdateProfileInput, User } from "../schema/user.type";
import { ViewerDependent } from "../schema/viewer-dependent";
import type { AuthResult } from "../services/user.service";
import type { RequestContext } from "./context";

/**
 * The payload of register, login, refresh and changePassword. The caller has just proved to be this user,
 * so the rest of the operation runs signed in as them (they see their own email, say),
 * although a register or login request carries no token.
 */
function authPayload(ctx: RequestContext, result: AuthResult): AuthPayload {
  ctx.auth = AuthContext.of(result.token.claims);
  return { accessToken: result.token.token, expiresAt: result.token.expiresAt, user: result.user };
}

@Resolver(() => User)
export class UserResolver {
  @Query(() => User)
  me(@Ctx() ctx: RequestContext): Promise<UserEntity> {
    return ctx.services.users.me(ctx.auth);
  }

  @Query(() => User, { nullable: true })
  async user(@Arg("id", () => ID) id: string, @Ctx() ctx: RequestContext): Promise<UserEntity | undefined> {
    ctx.auth.requireUserId();
    return ctx.loaders.userById.load(id);
  }

  @Mutation(() => AuthPayload)
  async register(@Arg("input") input: RegisterInput, @Ctx() ctx: RequestContext): Promise<AuthPayload> {
    return authPayload(ctx, await ctx.services.users.register(input, ctx.clientIp));
  }

  @Mutation(() => AuthPayload)
  async login(@Arg("email") email: string, @Arg("password") password: string, @Ctx() ctx: RequestContext): Promise<AuthPayload> {
    return authPayload(ctx, await ctx.services.users.login(email, password, ctx.clientIp));
  }

  @Mutation(() => AuthPayload)
  async refreshAccessToken(@Ctx() ctx: RequestContext): Promise<AuthPayload> {
    return authPayload(ctx, await ctx.services.users.refresh(ctx.auth));
  }

  @Mutation(() => Boolean, { description: "Revokes the token this request carries." })
  logout(@Ctx() ctx: RequestContext): Promise<boolean> {
    return ctx.services.users.logout(ctx.auth);
  }

  @Mutation(() => AuthPayload, { description: "Revokes every earlier token of the user; answers a fresh one." })
  async changePassword(
    @Arg("currentPassword") currentPassword: string,
    @Arg("newPassword") newPassword: string,
    @Ctx() ctx: RequestContext,
  ): Promise<AuthPayload> {
    return authPayload(ctx, await ctx.services.users.changePassword(ctx.auth, currentPassword, newPassword));
  }

  @Mutation(() => User, { description: "Change your own profile; your other devices see it through myProfile." })
  updateProfile(@Arg("input") input: UpdateProfileInput, @Ctx() ctx: RequestContext): Promise<UserEntity> {
    return ctx.services.users.updateProfile(ctx.auth, input);
  }

  @Subscription(() => User, {
    description: "Your profile now, then again after every change made from any device.",
    subscribe: ({ context }) => {
      const ctx = context as RequestContext;
      return ctx.services.users.watchProfile(ctx.auth, ctx.openStream);
    },
  })
  myProfile(@Root() user: UserEntity): UserEntity {
    return user;
  }

  @FieldResolver(() => String, {
    nullable: true,
    description: "Visible to the user, to admins, and to the host of a session the user joined; null for anyone else.",
  })
  @ViewerDependent()
  async email(@Root() user: UserEntity, @Ctx() ctx: RequestContext): Promise<string | null> {
    // Decided by AccessPolicy.emailVisibleIds, batched over every user of the response.
    return (await ctx.loaders.emailVisible.load({ viewerId: ctx.auth.userId, userId: user.id })) ? user.email : null;
  }
}
