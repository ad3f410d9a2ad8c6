import type { RequestHandler, Response } from "express";
import { AuthContext } from "../auth/auth-context";
import type { TokenService } from "../auth/tokens";
import type { TelemetryConfig } from "../config";
import { DomainError } from "../domain/errors";
import type { Metrics } from "../infra/metrics";
import type { RateLimiter } from "../infra/rate-limiter";
import { ErrorCode } from "../schema/errors";
import type { TelemetryService } from "../services/telemetry.service";
import { clientAddress, type TrustFunction } from "./client-address";
import { sendJsonError } from "./json-error";
import { BodyRefused, readBody } from "./telemetry-body";

/** Both spellings: existing clients post to the one with the trailing slash (ARCHITECTURE.md). */
export const TELEMETRY_PATHS = ["/api/v1/logs/telemetry", "/api/v1/logs/telemetry/"];

const MINUTE = 60_000;

const CODES: Record<number, ErrorCode> = {
  400: ErrorCode.BAD_REQUEST,
  413: ErrorCode.PAYLOAD_TOO_LARGE,
  415: ErrorCode.BAD_REQUEST,
  429: ErrorCode.RATE_LIMITED,
  500: ErrorCode.INTERNAL_SERVER_ERROR,
};

/**
 * `POST /api/v1/logs/telemetry` (W3): no sign-in needed. The body (not through express.json:
 * read here, so its limit holds while it streams) is one event object or an array of at most
 * 100, at most TELEMETRY_MAX_BODY_BYTES (32 KiB) after gunzip, `Content-Encoding` gzip or
 * none. Answers 204 once the events are checked and queued, whether or not they are ever
 * stored; 429 with Retry-After (seconds) past TELEMETRY_RATE_PER_MINUTE requests from one
 * client address (counted before the body is read, on every instance together with Redis);
 * 415 for another encoding; 413 over the limit; 400 for a body that is not gzip though it
 * says so, not JSON, not of that shape, or with NUL characters or unpaired surrogates.
 * Errors answer like the other routes: `{ errors: [{ message, extensions: { code } }] }`.
 */
export function telemetryHandler(deps: {
  telemetry: TelemetryService;
  limiter: RateLimiter;
  tokens: TokenService;
  trust: TrustFunction;
  metrics: Metrics;
  limits: Pick<TelemetryConfig, "maxBodyBytes" | "ratePerMinute">;
  log: (err: unknown, requestId: string | undefined) => void;
}): RequestHandler {
  const { telemetry, limiter, tokens, trust, metrics, limits, log } = deps;
  return async (req, res) => {
    res.once("finish", () => metrics.telemetryRequests.inc({ status: String(res.statusCode) }));
    res.set("Cache-Control", "no-store");
    try {
      const rate = await limiter.hit(`telemetry:${clientAddress(req, trust) ?? "unknown"}`, limits.ratePerMinute, MINUTE);
      if (!rate.allowed) {
        req.resume(); // the body is not wanted: read and discarded, the connection stays usable
        const seconds = Math.max(1, Math.ceil(rate.retryAfterMs / 1000));
        res.set("Retry-After", String(seconds));
        return refuse(res, 429, `Too many telemetry requests; try again in ${seconds} s.`, { retryAfterMs: rate.retryAfterMs });
      }
      let body: unknown;
      const text = (await readBody(req, limits.maxBodyBytes)).toString("utf8");
      try {
        body = JSON.parse(text);
      } catch {
        return refuse(res, 400, "The body is not valid JSON.");
      }
      telemetry.accept(AuthContext.fromHeader(tokens, req.headers.authorization, ["access"]), body);
      res.status(204).end();
    } catch (err) {
      if (err instanceof BodyRefused) {
        req.resume();
        if (err.status === 415) res.set("Accept-Encoding", "gzip, identity");
        return refuse(res, err.status, err.message);
      }
      if (err instanceof DomainError) return refuse(res, 400, err.message);
      log(err, res.locals.requestId as string | undefined);
      refuse(res, 500, "Internal server error");
    }
  };
}

function refuse(res: Response, status: number, message: string, details: Record<string, unknown> = {}): void {
  sendJsonError(res, status, CODES[status], message, details);
}
