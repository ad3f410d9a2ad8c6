import { sendJsonError } from "./json-error";
import type { ErrorRequestHandler, RequestHandler } from "express";

/** No page of ours uses a device or a powerful feature (the video runs in the client app). */
const PERMISSIONS_POLICY = "camera=(), microphone=(), geolocation=(), display-capture=(), payment=(), usb=(), serial=(), bluetooth=()";

/** The security headers of every response (seed 002 §5.1); GraphiQL sets its own CSP. */
export const SECURITY_HEADERS: Readonly<Record<string, string>> = {
  "X-Content-Type-Options": "nosniff",
  "X-Frame-Options": "DENY",
  "Referrer-Policy": "no-referrer",
  "Cross-Origin-Opener-Policy": "same-origin",
  "Cross-Origin-Resource-Policy": "same-origin",
  "Strict-Transport-Security": "max-age=31536000; includeSubDomains",
  "Content-Security-Policy": "default-src 'none'; frame-ancestors 'none'",
  "Permissions-Policy": PERMISSIONS_POLICY,
};

export const securityHeaders: RequestHandler = (_req, res, next) => {
  for (const [name, value] of Object.entries(SECURITY_HEADERS)) res.setHeader(name, value);
  next();
};

/**
 * CORS for the configured origins only (CORS_ORIGINS), on /graphql, the board downloads and telemetry;
 * with none configured, browsers stay same-origin. A foreign origin gets no CORS header (and
 * its preflight is not answered here), so the browser keeps the response from it.
 */
export function cors(origins: string[]): RequestHandler {
  const allowed = new Set(origins);
  return (req, res, next) => {
    const origin = req.headers.origin;
    // The answer depends on Origin whenever any origin is allowed: caches must keep them apart.
    if (allowed.size > 0) res.vary("Origin");
    if (origin && allowed.has(origin)) {
      res.setHeader("Access-Control-Allow-Origin", origin);
      res.setHeader("Access-Control-Allow-Credentials", "true");
      // A download's file name, readable by the page that fetched it.
      res.setHeader("Access-Control-Expose-Headers", "Content-Disposition");
      if (req.method === "OPTIONS") {
        res.setHeader("Access-Control-Allow-Methods", "GET, POST, OPTIONS");
        // Content-Encoding: telemetry may be posted gzipped (src/http/telemetry.ts).
        res.setHeader("Access-Control-Allow-Headers", "Content-Type, Content-Encoding, Authorization, Apollo-Require-Preflight, X-Request-Id");
        res.setHeader("Access-Control-Max-Age", "600");
        res.status(204).end();
        return;
      }
    }
    next();
  };
}

/**
 * Unknown paths answer a JSON 404 (Express's default HTML page would replace the CSP above
 * with its own, dropping frame-ancestors).
 */
export const notFoundHandler: RequestHandler = (_req, res) => sendJsonError(res, 404, "NOT_FOUND", "Not found.");

/**
 * Errors raised before GraphQL runs (body too large, malformed JSON) answer as GraphQL
 * errors with the HTTP status, never as an HTML page or a stack trace.
 */
export function httpErrorHandler(log: (err: unknown, requestId: string | undefined) => void): ErrorRequestHandler {
  return (err, _req, res, _next) => {
    const status = typeof err?.status === "number" && err.status >= 400 && err.status < 500 ? err.status : 500;
    if (status === 500) log(err, res.locals.requestId as string | undefined);
    const message = status === 413 ? "The request body is too large." : status === 500 ? "Internal server error" : "The request body is not valid JSON.";
    sendJsonError(res, status, status === 500 ? "INTERNAL_SERVER_ERROR" : status === 413 ? "PAYLOAD_TOO_LARGE" : "BAD_REQUEST", message);
  };
}
