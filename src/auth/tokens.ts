import { createHash, createSecretKey, randomUUID, type KeyObject } from "node:crypto";
import jwt from "jsonwebtoken";
import type { Config } from "../config";
import { DomainError, DomainErrorReason } from "../domain/errors";
import type { UserRole } from "../entities/user.entity";
import { TokenRevocations } from "./revocations";
import type { TokenOperation } from "../infra/metrics";
import type { TokenRevoked } from "../realtime/messages";

/** What a token says about its bearer. Claims identify; they never grant. */
export type TokenClaims = (
  { kind: "access"; userId: string; role: UserRole; expiresAt: Date } | { kind: "session"; userId: string; role: UserRole; sessionId: string; expiresAt: Date }
) & {
  /** The token's id (logout revokes it). */
  tokenId: string;
  /** When it was signed, ms (changePassword revokes the user's earlier ones). */
  issuedAtMs: number;
  /** When the login that started its refresh chain happened, ms (REFRESH_MAX_AGE). */
  authTimeMs: number;
};

export type TokenKind = TokenClaims["kind"];

export interface SignedToken {
  token: string;
  expiresAt: Date;
  claims: TokenClaims;
}

const ALGORITHM = "HS256";
/** How many verified tokens an instance remembers; the oldest goes first. */
const VERIFIED_CACHE_SIZE = 4096;

/**
 * Signs and verifies the API's JWTs: HS256 only (alg pinned, so `none` and other
 * algorithms are refused), issuer and audience set and checked, `exp` required.
 */
export class TokenService {
  /**
   * The secret as a KeyObject, made once: given a string, jsonwebtoken first tries it as a
   * public key and catches the failure, on every verify.
   */
  private readonly secret: KeyObject;
  /**
   * Payloads of tokens whose signature, algorithm, issuer and audience were verified, by the
   * SHA-256 of the exact token text: a client sends the same token with every request for its
   * lifetime, and the HMAC and JSON parsing were a tenth of a small request. Expiry is checked
   * on every use.
   */
  private readonly verified = new Map<string, jwt.JwtPayload>();
  /** Revoked tokens: checked on every verify, remembered tokens included. */
  readonly revocations = new TokenRevocations();

  constructor(
    secret: string,
    private readonly config: Pick<Config, "jwtIssuer" | "jwtAudience" | "accessTokenTtlSeconds" | "sessionTokenTtlSeconds" | "jwtClockToleranceSeconds"> &
      Partial<Pick<Config, "refreshMaxAgeSeconds">>,
    /** Told of every operation (token_operations_total). */
    private readonly counted: (operation: TokenOperation) => void = () => undefined,
  ) {
    this.secret = createSecretKey(Buffer.from(secret, "utf8"));
  }

  /** An access token; `authTimeMs` is the login its refresh chain started with (now for a login). */
  signAccess(user: { id: string; role: UserRole }, authTimeMs = Date.now()): SignedToken {
    this.counted("issue");
    return this.sign({ typ: "access", role: user.role, auth_ms: authTimeMs }, user.id, this.config.accessTokenTtlSeconds);
  }

  signSession(user: { id: string; role: UserRole }, sessionId: string): SignedToken {
    this.counted("issue");
    return this.sign({ typ: "session", role: user.role, sid: sessionId }, user.id, this.config.sessionTokenTtlSeconds);
  }

  /** Refuses a token from now on (logout: one token; a password change: every earlier one of the user), on this instance. */
  revoke(revoked: TokenRevoked): void {
    this.counted("revoke");
    this.revocations.note(revoked);
  }

  /** The longest any token lives, ms: revocations older than it concern no token. */
  get maxTokenTtlMs(): number {
    return Math.max(this.config.accessTokenTtlSeconds, this.config.sessionTokenTtlSeconds) * 1000;
  }

  /** Throws TOKEN_EXPIRED when the login that started `claims`' refresh chain is older than REFRESH_MAX_AGE. */
  checkRefresh(claims: TokenClaims): void {
    const maxAgeMs = (this.config.refreshMaxAgeSeconds ?? 30 * 86_400) * 1000;
    if (Date.now() - claims.authTimeMs > maxAgeMs) {
      this.counted("reject");
      throw new DomainError(DomainErrorReason.TOKEN_EXPIRED, "This sign-in is too old to refresh; sign in again.");
    }
    this.counted("refresh");
  }

  /**
   * Verifies `token` and answers its claims; throws a DomainError (UNAUTHENTICATED) for a
   * bad signature, another algorithm, a wrong issuer or audience, a missing or past `exp`,
   * a future `nbf`, a kind other than `accept`, or a revoked token (logout, changePassword).
   */
  verify(token: string, accept: readonly TokenKind[]): TokenClaims {
    let claims: TokenClaims;
    try {
      claims = this.claimsOf(token, this.verifiedPayload(token), accept);
    } catch (err) {
      this.counted("reject");
      throw err;
    }
    this.revocations.start();
    if (this.revocations.isRevoked(claims.userId, claims.tokenId, claims.issuedAtMs)) {
      this.counted("reject");
      throw new DomainError(DomainErrorReason.TOKEN_INVALID, "The token has been revoked; sign in again.");
    }
    this.counted("verify");
    return claims;
  }

  private claimsOf(token: string, payload: jwt.JwtPayload, accept: readonly TokenKind[]): TokenClaims {
    // jsonwebtoken accepts a token without exp; a token that never expires is refused here.
    if (typeof payload.exp !== "number" || typeof payload.sub !== "string") throw invalid();
    const expiresAt = new Date(payload.exp * 1000);
    const role = payload.role as UserRole;
    // Tokens signed before these claims existed: their hash is their id, iat their issue and chain start.
    const issuedAtMs = typeof payload.iat_ms === "number" ? payload.iat_ms : (payload.iat ?? 0) * 1000;
    const common = {
      tokenId: typeof payload.jti === "string" ? payload.jti : createHash("sha256").update(token).digest("base64url"),
      issuedAtMs,
      authTimeMs: typeof payload.auth_ms === "number" ? payload.auth_ms : issuedAtMs,
    };
    if (payload.typ === "access" && accept.includes("access")) {
      return { kind: "access", userId: payload.sub, role, expiresAt, ...common };
    }
    if (payload.typ === "session" && accept.includes("session") && typeof payload.sid === "string") {
      return { kind: "session", userId: payload.sub, role, sessionId: payload.sid, expiresAt, ...common };
    }
    throw invalid();
  }

  private verifiedPayload(token: string): jwt.JwtPayload {
    // By digest, not by the token's text: the text is often a slice of a longer string (an
    // Authorization header, a connection_init message) that a key would keep alive with it.
    const key = createHash("sha256").update(token).digest("base64url");
    const known = this.verified.get(key);
    if (known) {
      if (typeof known.exp === "number" && Date.now() / 1000 > known.exp + this.config.jwtClockToleranceSeconds) {
        this.verified.delete(key);
        throw new DomainError(DomainErrorReason.TOKEN_EXPIRED, "The token has expired; sign in again.");
      }
      return known;
    }
    let payload: jwt.JwtPayload;
    try {
      const decoded = jwt.verify(token, this.secret, {
        algorithms: [ALGORITHM],
        issuer: this.config.jwtIssuer,
        audience: this.config.jwtAudience,
        clockTolerance: this.config.jwtClockToleranceSeconds,
      });
      if (typeof decoded === "string") throw new Error("not a JSON payload");
      payload = decoded;
    } catch (err) {
      if (err instanceof jwt.TokenExpiredError) {
        throw new DomainError(DomainErrorReason.TOKEN_EXPIRED, "The token has expired; sign in again.");
      }
      throw invalid();
    }
    if (this.verified.size >= VERIFIED_CACHE_SIZE) this.verified.delete(this.verified.keys().next().value as string);
    this.verified.set(key, payload);
    return payload;
  }

  private sign(claims: Record<string, unknown>, subject: string, ttlSeconds: number): SignedToken {
    // iat has whole seconds: a token signed just after a changePassword must not look older than it.
    const token = jwt.sign({ ...claims, iat_ms: Date.now() }, this.secret, {
      algorithm: ALGORITHM,
      issuer: this.config.jwtIssuer,
      audience: this.config.jwtAudience,
      subject,
      expiresIn: ttlSeconds,
      jwtid: randomUUID(),
    });
    const payload = jwt.decode(token) as jwt.JwtPayload;
    return { token, expiresAt: new Date((payload.exp as number) * 1000), claims: this.claimsOf(token, payload, ["access", "session"]) };
  }
}

function invalid(): DomainError {
  return new DomainError(DomainErrorReason.TOKEN_INVALID, "The token is not valid.");
}

/** The token of an `Authorization: Bearer …` header value, or undefined. */
export function bearerToken(header: unknown): string | undefined {
  if (typeof header !== "string") return undefined;
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
  return match?.[1];
}
