import { In, type DataSource, type Repository } from "typeorm";
import { isUniqueViolation } from "../db/errors";
import { isUuid } from "../auth/access";
import type { AuthContext } from "../auth/auth-context";
import type { PasswordHasher } from "../auth/passwords";
import type { SignedToken, TokenService } from "../auth/tokens";
import type { Config } from "../config";
import { UserEntity, UserRole } from "../entities/user.entity";
import type { RateLimiter } from "../infra/rate-limiter";
import type { EventBus } from "../realtime/event-bus";
import type { LiveStream, OpenLiveStream, SubscriberBuffer } from "../realtime/live-stream";
import { topics } from "../realtime/topics";
import { DomainError, DomainErrorReason, invalidInput, rateLimited, unauthenticated } from "../domain/errors";
import { ProfileFeed } from "./profile-feed";
import type { TokenRevoked } from "../realtime/messages";
import { requireRegistrableRole } from "../auth/account-policy";

export interface RegisterInput {
  email: string;
  password: string;
  displayName: string;
  role: UserRole;
}

export interface AuthResult {
  token: SignedToken;
  user: UserEntity;
}

const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;
const MIN_PASSWORD = 8;
const MAX_PASSWORD = 256;
const MINUTE = 60_000;
const HOUR = 3_600_000;

/** Users and their sign-in: registration, login, tokens, profile. */
export class UserService {
  private readonly users: Repository<UserEntity>;
  private readonly profiles: ProfileFeed;

  constructor(
    db: DataSource,
    private readonly hasher: PasswordHasher,
    private readonly tokens: TokenService,
    private readonly limiter: RateLimiter,
    private readonly bus: EventBus,
    private readonly limits: Config["rateLimits"],
    /** SUBSCRIBER_BUFFER_FRAMES/BYTES of the myProfile streams. */
    subscriberBuffer: SubscriberBuffer,
  ) {
    this.users = db.getRepository(UserEntity);
    this.profiles = new ProfileFeed(bus, (id) => this.users.findOneBy({ id }), subscriberBuffer);
    tokens.revocations.followFrom(db, bus, tokens.maxTokenTtlMs);
  }

  /**
   * Creates a TUTOR or STUDENT and signs them in; ADMIN is FORBIDDEN, a taken email CONFLICT.
   * Attempts that get as far as hashing are limited per client address (REGISTER_RATE_PER_IP).
   */
  async register(input: RegisterInput, clientIp: string | undefined): Promise<AuthResult> {
    requireRegistrableRole(input.role);
    const email = normalizeEmail(input.email);
    const displayName = normalizeDisplayName(input.displayName);
    checkPassword(input.password);
    const limit = await this.limiter.hit(`register:ip:${clientIp ?? "unknown"}`, this.limits.registerPerIpPerHour, HOUR);
    if (!limit.allowed) throw rateLimited(limit.retryAfterMs);
    const passwordHash = await this.hasher.hash(input.password);
    let user: UserEntity;
    try {
      user = await this.users.save(this.users.create({ email, displayName, role: input.role, passwordHash }));
    } catch (err) {
      if (isUniqueViolation(err)) {
        throw new DomainError(DomainErrorReason.EMAIL_TAKEN, "An account with this email already exists.");
      }
      throw err;
    }
    return { user, token: this.tokens.signAccess(user) };
  }

  /**
   * Signs a user in. Attempts are limited (RATE_LIMITED) per client address, per email from
   * that address, and per email from all addresses with a much higher ceiling, in that order:
   * someone else's wrong passwords for the owner's email fill their own address's buckets,
   * not the owner's (Config["rateLimits"]). A wrong email and a wrong password get the same
   * answer in the same time.
   */
  async login(emailInput: string, password: string, clientIp: string | undefined): Promise<AuthResult> {
    const email = emailInput.trim().toLowerCase();
    for (const [key, limit] of [
      [`login:ip:${clientIp ?? "unknown"}`, this.limits.loginPerIpPerMinute],
      // The address first: it never contains "|", so the key is unambiguous.
      [`login:email-ip:${clientIp ?? "unknown"}|${email}`, this.limits.loginPerEmailAndIpPerMinute],
      [`login:email:${email}`, this.limits.loginPerEmailPerMinute],
    ] as const) {
      const decision = await this.limiter.hit(key, limit, MINUTE);
      if (!decision.allowed) throw rateLimited(decision.retryAfterMs);
    }
    const user = await this.users.findOneBy({ email });
    const ok = await this.hasher.verify(user?.passwordHash ?? undefined, password);
    if (!user || !ok) {
      throw new DomainError(DomainErrorReason.INVALID_CREDENTIALS, "Wrong email or password.");
    }
    return { user, token: this.tokens.signAccess(user) };
  }

  /** A new access token for the holder of a valid one, within REFRESH_MAX_AGE of the login that started the chain. */
  async refresh(auth: AuthContext): Promise<AuthResult> {
    const user = await this.me(auth);
    const claims = auth.claims!; // me() required an access token
    this.tokens.checkRefresh(claims);
    return { user, token: this.tokens.signAccess(user, claims.authTimeMs) };
  }

  /**
   * Revokes the token of this request: refused from now on by this instance, by the others
   * once the bus or their next read tells them (src/auth/revocations.ts).
   */
  async logout(auth: AuthContext): Promise<boolean> {
    auth.requireUserId();
    const claims = auth.claims!;
    await this.users.manager.transaction(async (tx) => {
      await tx.query(`INSERT INTO revoked_tokens (token_id, user_id, expires_at) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING`, [
        claims.tokenId,
        claims.userId,
        claims.expiresAt,
      ]);
      // Tokens past their expiry are refused anyway: their rows are kept no longer.
      await tx.query(`DELETE FROM revoked_tokens WHERE expires_at < now() - interval '1 hour'`);
    });
    await this.announce({ userId: claims.userId, tokenId: claims.tokenId, expiresAtMs: claims.expiresAt.getTime() });
    return true;
  }

  /**
   * Changes the signed-in user's password (the current one required: INVALID_CREDENTIALS)
   * and revokes every token of the user issued before; answers a fresh token.
   */
  async changePassword(auth: AuthContext, currentPassword: string, newPassword: string): Promise<AuthResult> {
    const user = await this.me(auth);
    await this.requirePassword(user, currentPassword, "change-password");
    checkPassword(newPassword);
    const passwordHash = await this.hasher.hash(newPassword);
    // Taken before the new token is signed, so that token is not older than it.
    const validAfter = new Date();
    await this.users.update({ id: user.id }, { passwordHash, tokensValidAfter: validAfter });
    await this.announce({ userId: user.id, validAfterMs: validAfter.getTime() });
    return { user, token: this.tokens.signAccess(user) };
  }

  /** Refuses every token of `userId` issued before `validAfter` (already stored), here at once and on the other instances. */
  async revokeTokensBefore(userId: string, validAfter: Date): Promise<void> {
    await this.announce({ userId, validAfterMs: validAfter.getTime() });
  }

  /** INVALID_CREDENTIALS unless `password` is the user's; attempts limited per user like login, so a stolen token cannot guess it. */
  async requirePassword(user: UserEntity, password: string, purpose: string): Promise<void> {
    const decision = await this.limiter.hit(`${purpose}:user:${user.id}`, this.limits.loginPerEmailPerMinute, MINUTE);
    if (!decision.allowed) throw rateLimited(decision.retryAfterMs);
    if (!(await this.hasher.verify(user.passwordHash ?? undefined, password))) {
      throw new DomainError(DomainErrorReason.INVALID_CREDENTIALS, "The current password is wrong.");
    }
  }

  /** Refused here at once; the other instances hear it over the bus (and read the database again after a lost pub/sub connection). */
  private async announce(revoked: TokenRevoked): Promise<void> {
    this.tokens.revoke(revoked);
    await this.bus.publish(topics.tokensRevoked(), revoked).catch(() => undefined);
  }

  /** The signed-in user; UNAUTHENTICATED without a valid token or when the account is gone. */
  async me(auth: AuthContext): Promise<UserEntity> {
    const user = await this.users.findOneBy({ id: auth.requireUserId() });
    if (!user || user.deletedAt) throw unauthenticated("Your account no longer exists.");
    return user;
  }

  /** Users by id, in the order asked (undefined for unknown ids); the loaders' batch function. */
  async byIds(ids: readonly string[]): Promise<Array<UserEntity | undefined>> {
    const valid = ids.filter(isUuid);
    const found = valid.length ? await this.users.findBy({ id: In(valid) }) : [];
    const byId = new Map(found.map((u) => [u.id, u]));
    return ids.map((id) => byId.get(id));
  }

  /** Changes the signed-in user's display name and tells their other devices. */
  async updateProfile(auth: AuthContext, input: { displayName?: string | null }): Promise<UserEntity> {
    const user = await this.me(auth);
    if (input.displayName !== undefined && input.displayName !== null) {
      user.displayName = normalizeDisplayName(input.displayName);
      await this.users.update({ id: user.id }, { displayName: user.displayName });
    }
    await this.bus.publish(topics.profiles(), {
      userId: user.id,
      displayName: user.displayName,
      updatedAt: new Date(),
    });
    return user;
  }

  /**
   * The signed-in user's profile now, then again after every change. The first value comes
   * once the live subscription is in place, so no change after it is missed.
   */
  watchProfile(auth: AuthContext, open?: OpenLiveStream): Promise<LiveStream<UserEntity>> {
    return this.profiles.watch(auth.requireUserId(), open);
  }
}

function normalizeEmail(raw: string): string {
  const email = raw.trim().toLowerCase();
  if (email.length > 254 || !EMAIL.test(email)) throw invalidInput("Enter a valid email address.", { field: "email" });
  return email;
}

function normalizeDisplayName(raw: string): string {
  const name = raw.trim();
  if (name.length < 1 || name.length > 100) {
    throw invalidInput("Display name must be 1 to 100 characters.", { field: "displayName" });
  }
  return name;
}

function checkPassword(password: string): void {
  if (password.length < MIN_PASSWORD || password.length > MAX_PASSWORD) {
    throw invalidInput(`Password must be ${MIN_PASSWORD} to ${MAX_PASSWORD} characters.`, { field: "password" });
  }
}
