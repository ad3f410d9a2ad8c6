import assert from "node:assert/strict";
import { describe, it } from "node:test";
import jwt from "jsonwebtoken";
import { TokenService } from "../../src/auth/tokens";
import { UserRole } from "../../src/entities/user.entity";
import { DomainError } from "../../src/domain/errors";

const secret = "unit-test-secret-unit-test-secret-unit-test";
const config = {
  jwtIssuer: "classroom-api",
  jwtAudience: "classroom-clients",
  accessTokenTtlSeconds: 3600,
  sessionTokenTtlSeconds: 7200,
  jwtClockToleranceSeconds: 5,
};
const tokens = new TokenService(secret, config);
const user = { id: "3f1c6a57-6a53-4a53-9d1e-0a8a1f4f3b11", role: UserRole.STUDENT };
const now = () => Math.floor(Date.now() / 1000);

/** A token signed with `options`, bypassing TokenService, to forge bad ones. */
function forge(payload: Record<string, unknown>, key: string = secret, options: jwt.SignOptions = {}): string {
  return jwt.sign(payload, key, { algorithm: "HS256", ...options });
}
const valid = { typ: "access", role: "STUDENT", sub: user.id, iss: config.jwtIssuer, aud: config.jwtAudience };

function rejects(token: string, reason: string, accept: Array<"access" | "session"> = ["access"]) {
  assert.throws(
    () => tokens.verify(token, accept),
    (err: unknown) => err instanceof DomainError && err.reason === reason,
  );
}

describe("TokenService", () => {
  it("round-trips an access token with its expiry", () => {
    const signed = tokens.signAccess(user);
    const claims = tokens.verify(signed.token, ["access"]);
    assert.equal(claims.kind, "access");
    assert.equal(claims.userId, user.id);
    assert.equal(claims.expiresAt.getTime(), signed.expiresAt.getTime());
    assert.ok(Math.abs(signed.expiresAt.getTime() - Date.now() - 3600_000) < 2000);
  });

  it("scopes a session token to its session and refuses it where an access token is needed", () => {
    const signed = tokens.signSession(user, "session-1");
    const claims = tokens.verify(signed.token, ["access", "session"]);
    assert.equal(claims.kind === "session" && claims.sessionId, "session-1");
    assert.ok(Math.abs(signed.expiresAt.getTime() - Date.now() - 7200_000) < 2000);
    rejects(signed.token, "TOKEN_INVALID", ["access"]);
    rejects(tokens.signAccess(user).token, "TOKEN_INVALID", ["session"]);
  });

  it("refuses alg none", () => {
    const header = Buffer.from(JSON.stringify({ alg: "none", typ: "JWT" })).toString("base64url");
    const body = Buffer.from(JSON.stringify({ ...valid, exp: now() + 60 })).toString("base64url");
    rejects(`${header}.${body}.`, "TOKEN_INVALID");
  });

  it("refuses another secret and another algorithm", () => {
    rejects(forge({ ...valid, exp: now() + 60 }, "wrong-secret-wrong-secret-wrong-secret"), "TOKEN_INVALID");
    rejects(forge({ ...valid, exp: now() + 60 }, secret, { algorithm: "HS512" }), "TOKEN_INVALID");
  });

  it("refuses a token without exp, which jsonwebtoken alone would accept", () => {
    const noExp = forge(valid);
    assert.doesNotThrow(() => jwt.verify(noExp, secret));
    rejects(noExp, "TOKEN_INVALID");
  });

  it("honours the clock tolerance, then refuses an expired token", () => {
    assert.doesNotThrow(() => tokens.verify(forge({ ...valid, exp: now() - 2 }), ["access"]));
    rejects(forge({ ...valid, exp: now() - 30 }), "TOKEN_EXPIRED");
  });

  it("refuses a token it verified before once it has expired, and a session token where an access token is asked", (t) => {
    const token = forge({ ...valid, exp: now() + 2 });
    assert.equal(tokens.verify(token, ["access"]).userId, user.id);
    assert.equal(tokens.verify(token, ["access"]).userId, user.id); // remembered
    rejects(token, "TOKEN_INVALID", ["session"]);
    t.mock.timers.enable({ apis: ["Date"], now: Date.now() + 10_000 });
    rejects(token, "TOKEN_EXPIRED");
  });

  it("refuses nbf in the future, a wrong audience and a wrong issuer", () => {
    rejects(forge({ ...valid, exp: now() + 600, nbf: now() + 300 }), "TOKEN_INVALID");
    rejects(forge({ ...valid, aud: "someone-else", exp: now() + 60 }), "TOKEN_INVALID");
    rejects(forge({ ...valid, iss: "someone-else", exp: now() + 60 }), "TOKEN_INVALID");
  });

  it("refuses garbage", () => {
    rejects("not-a-jwt", "TOKEN_INVALID");
    rejects("", "TOKEN_INVALID");
  });
});
