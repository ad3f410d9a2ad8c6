import { createHmac, timingSafeEqual } from "node:crypto";
import type { RequestHandler, Response } from "express";
import { ErrorCode } from "../schema/errors";
import type { ProviderEvent, VideoCallEvents } from "../services/video-call-events";
import { sendJsonError } from "./json-error";
import { BodyRefused, readBody } from "./telemetry-body";

export const VIDEO_WEBHOOK_PATH = "/webhooks/video";
/** Largest webhook body read (413 beyond). */
export const VIDEO_WEBHOOK_MAX_BYTES = 65_536;
/** How far a webhook's timestamp may be from this server's clock, either way. */
export const VIDEO_WEBHOOK_WINDOW_MS = 5 * 60_000;

/**
 * Whether `signature` is Daily's signature of the body: base64 HMAC-SHA256, keyed by the
 * (base64-decoded) webhook secret, over `"{timestamp}.{raw body}"`; compared in constant time.
 */
export function verifyVideoWebhook(secret: Buffer, timestamp: string, rawBody: Buffer, signature: string): boolean {
  const expected = createHmac("sha256", secret).update(`${timestamp}.`).update(rawBody).digest();
  const given = Buffer.from(signature, "base64");
  return given.length === expected.length && timingSafeEqual(given, expected);
}

/**
 * `POST /webhooks/video` (W7), for the provider only: the body (identity, at most 64 KiB: 413)
 * must carry `X-Webhook-Timestamp` (Unix seconds, within 5 minutes of now) and
 * `X-Webhook-Signature` over it and the raw body (401 otherwise, nothing read into the
 * timeline). A verified event is answered 200 whether it is recorded, a redelivery (its id was
 * seen: nothing more is recorded) or of a type not handled (acknowledged and ignored), so the
 * provider does not retry it; 400 for a body that is not an event.
 */
export function videoWebhookHandler(deps: {
  secret: Buffer;
  events: VideoCallEvents;
  now?: () => number;
  log: (err: unknown, requestId: string | undefined) => void;
}): RequestHandler {
  const { secret, events, log } = deps;
  const now = deps.now ?? Date.now;
  return async (req, res) => {
    res.set("Cache-Control", "no-store");
    try {
      const coding = (req.headers["content-encoding"] ?? "identity").trim().toLowerCase();
      if (coding !== "identity") {
        req.resume();
        return refuse(res, 415, "Webhooks are signed over the raw body: no Content-Encoding.");
      }
      const body = await readBody(req, VIDEO_WEBHOOK_MAX_BYTES);
      const timestamp = req.get("x-webhook-timestamp") ?? "";
      const signature = req.get("x-webhook-signature") ?? "";
      if (!/^\d{1,12}$/.test(timestamp) || !signature || !verifyVideoWebhook(secret, timestamp, body, signature)) {
        return refuse(res, 401, "The webhook's signature does not match.");
      }
      if (Math.abs(now() - Number(timestamp) * 1000) > VIDEO_WEBHOOK_WINDOW_MS) {
        return refuse(res, 401, "The webhook's timestamp is more than 5 minutes away from now.");
      }
      let event: unknown;
      try {
        event = JSON.parse(body.toString("utf8"));
      } catch {
        return refuse(res, 400, "The body is not valid JSON.");
      }
      if (isTestPing(event)) return void res.status(200).json({ ok: true });
      if (!isProviderEvent(event)) return refuse(res, 400, "The body is not a provider event ({ id, type, payload }).");
      const outcome = await events.record(event);
      res.status(200).json({ ok: true, outcome });
    } catch (err) {
      if (err instanceof BodyRefused) {
        req.resume();
        return refuse(res, err.status, err.message);
      }
      log(err, res.locals.requestId as string | undefined);
      refuse(res, 500, "Internal server error");
    }
  };
}

/** Daily checks a new webhook URL with a bare `{"test":"test"}`: answered 200. */
function isTestPing(event: unknown): boolean {
  return typeof event === "object" && event !== null && (event as Record<string, unknown>).test === "test" && !("type" in event);
}

function isProviderEvent(event: unknown): event is ProviderEvent {
  if (typeof event !== "object" || event === null || Array.isArray(event)) return false;
  const { id, type, payload } = event as Record<string, unknown>;
  return (
    typeof id === "string" &&
    id.length > 0 &&
    id.length <= 200 &&
    typeof type === "string" &&
    type.length <= 64 &&
    typeof payload === "object" &&
    payload !== null &&
    !Array.isArray(payload)
  );
}

const CODES: Record<number, ErrorCode> = {
  400: ErrorCode.BAD_REQUEST,
  401: ErrorCode.UNAUTHENTICATED,
  413: ErrorCode.PAYLOAD_TOO_LARGE,
  415: ErrorCode.BAD_REQUEST,
  500: ErrorCode.INTERNAL_SERVER_ERROR,
};

function refuse(res: Response, status: number, message: string): void {
  sendJsonError(res, status, CODES[status], message);
}
