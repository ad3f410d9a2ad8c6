import { DomainError, forbidden, unauthenticated } from "../domain/errors";
import type { TokenClaims, TokenKind, TokenService } from "./tokens";
import { bearerToken } from "./tokens";

/**
 * Who is calling, as the transport established it. Building it never throws: a bad token
 * is remembered and reported by `requireUserId()`, so operations that need no sign-in
 * (register, login) still work and every other one answers UNAUTHENTICATED.
 */
export class AuthContext {
  private constructor(
    readonly claims: TokenClaims | undefined,
    private readonly failure: DomainError | undefined,
  ) {}

  static anonymous(): AuthContext {
    return new AuthContext(undefined, undefined);
  }

  static of(claims: TokenClaims): AuthContext {
    return new AuthContext(claims, undefined);
  }

  /** From an `Authorization` header value: anonymous without one, failed with a bad one. */
  static fromHeader(tokens: TokenService, header: unknown, accept: readonly TokenKind[]): AuthContext {
    if (header === undefined || header === null || header === "") return AuthContext.anonymous();
    const token = bearerToken(header);
    if (!token) return new AuthContext(undefined, new DomainError("TOKEN_INVALID", "Use `Authorization: Bearer <token>`."));
    try {
      return AuthContext.of(tokens.verify(token, accept));
    } catch (err) {
      if (err instanceof DomainError) return new AuthContext(undefined, err);
      throw err;
    }
  }

  /** The signed-in user's id, if any. */
  get userId(): string | undefined {
    return this.claims?.userId;
  }

  /**
   * The signed-in user's id; throws UNAUTHENTICATED when there is none or the token was bad,
   * and FORBIDDEN for a session token, which is good for its own session only.
   */
  requireUserId(): string {
    if (this.claims?.kind === "access") return this.claims.userId;
    if (this.claims) throw forbidden("A session token is only valid for operations on its own session.");
    throw this.failure ?? unauthenticated();
  }

  /** Like requireUserId, but also accepts a session token of `sessionId`. */
  requireUserIdFor(sessionId: string): string {
    if (this.claims?.kind === "session" && this.claims.sessionId === sessionId) return this.claims.userId;
    return this.requireUserId();
  }

  /** Why authentication failed, if it did. */
  get error(): DomainError | undefined {
    return this.failure;
  }
}
