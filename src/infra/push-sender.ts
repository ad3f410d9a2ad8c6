import https from "node:https";
import tls from "node:tls";
import webpush, { WebPushError } from "web-push";
import type { PushConfig } from "../config";
import { checkLiteralHost, guardedLookup, InternalEndpointError } from "./push-endpoint-guard";

/** Where and how to encrypt one message: a stored subscription's endpoint and keys. */
export interface PushTarget {
  endpoint: string;
  p256dh: string;
  auth: string;
}

/**
 * What one request to a push service came to: `sent`; `gone` (404/410: the subscription no
 * longer exists, delete it); `refused` (the endpoint is internal: never retried); `failed`
 * (anything else: retry later).
 */
export type PushSendResult =
  | { outcome: "sent"; statusCode: number }
  | { outcome: "gone"; statusCode: number }
  | { outcome: "refused"; error: string }
  | { outcome: "failed"; statusCode?: number; error: string };

/** Sends one web push message; the service's only door to the network, so tests can fake it. */
export interface PushSender {
  send(target: PushTarget, payload: string, ttlSeconds: number): Promise<PushSendResult>;
}

/**
 * The real sender: the `web-push` library (aes128gcm payload encryption, VAPID signing) over
 * an https agent whose DNS lookup refuses internal addresses (push-endpoint-guard.ts), with
 * a timeout per request. Node's https.request follows no redirect, so a 3xx is a failure.
 */
export class WebPushSender implements PushSender {
  private readonly agent: https.Agent;

  constructor(
    private readonly vapid: { subject: string; publicKey: string; privateKey: string },
    private readonly config: Pick<PushConfig, "timeoutMs" | "allowPrivateEndpoints" | "endpointCa">,
  ) {
    this.agent = new https.Agent({
      keepAlive: false,
      lookup: guardedLookup(config.allowPrivateEndpoints) as never,
      ...(config.endpointCa ? { ca: [...tls.rootCertificates, config.endpointCa] } : {}),
    });
  }

  async send(target: PushTarget, payload: string, ttlSeconds: number): Promise<PushSendResult> {
    try {
      const url = new URL(target.endpoint);
      if (url.protocol !== "https:") return { outcome: "refused", error: "endpoint is not https" };
      checkLiteralHost(url.hostname, this.config.allowPrivateEndpoints);
      const res = await webpush.sendNotification({ endpoint: target.endpoint, keys: { p256dh: target.p256dh, auth: target.auth } }, payload, {
        vapidDetails: this.vapid,
        TTL: ttlSeconds,
        contentEncoding: "aes128gcm",
        timeout: this.config.timeoutMs,
        agent: this.agent,
      });
      return { outcome: "sent", statusCode: res.statusCode };
    } catch (err) {
      if (err instanceof InternalEndpointError || (err as { code?: string }).code === "EPUSHINTERNAL")
        return { outcome: "refused", error: (err as Error).message };
      if (err instanceof WebPushError) {
        if (err.statusCode === 404 || err.statusCode === 410) return { outcome: "gone", statusCode: err.statusCode };
        return { outcome: "failed", statusCode: err.statusCode, error: `push service answered ${err.statusCode}` };
      }
      return { outcome: "failed", error: ((err as Error).message ?? String(err)).slice(0, 200) };
    }
  }
}
