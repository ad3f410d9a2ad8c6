import fs from "node:fs";
import path from "node:path";
import webpush from "web-push";
import type { PushConfig } from "../config";

/** A VAPID key pair (RFC 8292), base64url as browsers and web-push take them. */
export interface VapidKeys {
  publicKey: string;
  privateKey: string;
}

/**
 * The VAPID keys, like the JWT secret (jwt-secret.ts): VAPID_PUBLIC_KEY/VAPID_PRIVATE_KEY
 * when set (config requires them with DATABASE_URL when push is on); on the embedded default,
 * a pair generated into DATA_DIR on first start and read back afterwards, so browsers'
 * subscriptions (bound to the public key) survive a restart; a fresh pair for ':memory:'.
 */
export function resolveVapidKeys(config: { push: Pick<PushConfig, "vapidPublicKey" | "vapidPrivateKey">; databaseUrl?: string; dataDir: string }): VapidKeys {
  const { vapidPublicKey, vapidPrivateKey } = config.push;
  if (vapidPublicKey && vapidPrivateKey) return { publicKey: vapidPublicKey, privateKey: vapidPrivateKey };
  if (config.databaseUrl) throw new Error("VAPID_PUBLIC_KEY and VAPID_PRIVATE_KEY are required when DATABASE_URL is set");
  if (config.dataDir === ":memory:") return webpush.generateVAPIDKeys();
  const file = path.join(config.dataDir, "vapid-keys.json");
  try {
    const stored = JSON.parse(fs.readFileSync(file, "utf8")) as VapidKeys;
    if (typeof stored.publicKey === "string" && typeof stored.privateKey === "string") return stored;
    throw new Error(`${file} holds no VAPID key pair`);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "ENOENT") throw err;
  }
  fs.mkdirSync(config.dataDir, { recursive: true });
  const keys = webpush.generateVAPIDKeys();
  fs.writeFileSync(file, JSON.stringify(keys) + "\n", { mode: 0o600 });
  return keys;
}
