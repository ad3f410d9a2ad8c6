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
  @Query(() => User, {
    description: "The signed-in user. UNAUTHENTICATED without a valid access token, or when the account no longer exists.",
  })
  me(@Ctx() ctx: RequestContext): Promise<UserEntity> {
    return ctx.services.users.me(ctx.auth);
  }

  @Query(() => User, { nullable: true, description: "Any user by id, for any signed-in user (UNAUTHENTICATED otherwise); null for an unknown id." })
  async user(@Arg("id", () => ID) id: string, @Ctx() ctx: RequestContext): Promise<UserEntity | undefined> {
    ctx.auth.requireUserId();
    return ctx.loaders.userById.load(id);
  }

  @Mutation(() => AuthPayload, {
    description:
      "Creates a TUTOR or STUDENT account and signs it in; needs no token. FORBIDDEN for role ADMIN; BAD_USER_INPUT for a malformed email, a display name outside 1–100 or a password outside 8–256 characters; CONFLICT when the email is taken; RATE_LIMITED (`retryAfterMs`) past REGISTER_RATE_PER_IP, 100 an hour per client address.",
  })
  async register(@Arg("input") input: RegisterInput, @Ctx() ctx: RequestContext): Promise<AuthPayload> {
    return authPayload(ctx, await ctx.services.users.register(input, ctx.clientIp));
  }

  @Mutation(() => AuthPayload, {
    description:
      "Signs in; needs no token. UNAUTHENTICATED for a wrong email or password (the same answer for both). RATE_LIMITED (`retryAfterMs`) past 100 attempts a minute from one client address, 10 for one email from one address, or 100 for one email from all addresses.",
  })
  async login(
    @Arg("email", { description: "The account's email; case and surrounding spaces do not matter." }) email: string,
    @Arg("password", { description: "The account's password." }) password: string,
    @Ctx() ctx: RequestContext,
  ): Promise<AuthPayload> {
    return authPayload(ctx, await ctx.services.users.login(email, password, ctx.clientIp));
  }

  @Mutation(() => AuthPayload, {
    description:
      "A new access token (a fresh ACCESS_TOKEN_TTL, 1 h) for the holder of a valid one. UNAUTHENTICATED without one, or once REFRESH_MAX_AGE (30 d) has passed since the login that started the chain: sign in again.",
  })
  async refreshAccessToken(@Ctx() ctx: RequestContext): Promise<AuthPayload> {
    return authPayload(ctx, await ctx.services.users.refresh(ctx.auth));
  }

  @Mutation(() => Boolean, {
    description:
      "Revokes the access token this request carries, on every instance (the user's other tokens stay valid); answers true. UNAUTHENTICATED without a valid one.",
  })
  logout(@Ctx() ctx: RequestContext): Promise<boolean> {
    return ctx.services.users.logout(ctx.auth);
  }

  @Mutation(() => AuthPayload, {
    description:
      "Changes the signed-in user's password and revokes every token of theirs issued before (sockets opened with them close 4401); answers a fresh token. UNAUTHENTICATED for a wrong currentPassword, BAD_USER_INPUT for a newPassword outside 8–256 characters, RATE_LIMITED past 100 attempts a minute per user.",
  })
  async changePassword(
    @Arg("currentPassword", { description: "The password in use now." }) currentPassword: string,
    @Arg("newPassword", { description: "8 to 256 characters." }) newPassword: string,
    @Ctx() ctx: RequestContext,
  ): Promise<AuthPayload> {
    return authPayload(ctx, await ctx.services.users.changePassword(ctx.auth, currentPassword, newPassword));
  }

  @Mutation(() => Boolean, {
    description:
      "Erases the account (password required): revokes its tokens on every instance (sockets close 4401), removes personal data (email, name, password, push subscriptions, solo workspaces and their storage), leaves the lessons you are seated in, keeps lessons' history anonymized as a deleted user; the email can register again. UNAUTHENTICATED without an access token or for a wrong password, INVALID_STATE while a lesson you host has not ended (SCHEDULED, WAITING, ACTIVE or PAUSED), RATE_LIMITED past 100 attempts a minute.",
  })
  deleteAccount(@Arg("password", { description: "The account's password." }) password: string, @Ctx() ctx: RequestContext): Promise<boolean> {
    return ctx.services.accounts.deleteAccount(ctx.auth, password);
  }

  @Mutation(() => User, {
    description:
      "Changes your own profile; your other devices see it through myProfile. UNAUTHENTICATED without an access token, BAD_USER_INPUT for a displayName outside 1–100 characters.",
  })
  updateProfile(@Arg("input") input: UpdateProfileInput, @Ctx() ctx: RequestContext): Promise<UserEntity> {
    return ctx.services.users.updateProfile(ctx.auth, input);
  }

  @Subscription(() => User, {
    description:
      "Your profile now, then again after every change made from any device (updateProfile). Any signed-in user; RESYNC_REQUIRED when the subscriber falls too far behind.",
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
