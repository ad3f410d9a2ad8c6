import { randomUUID } from "node:crypto";
import type { DataSource } from "typeorm";
import type { AuthContext } from "../auth/auth-context";
import { isUuid } from "../auth/access";
import { DomainError, DomainErrorReason, invalidInput, notFound } from "../domain/errors";
import { PushSubscriptionEntity } from "../entities/push-subscription.entity";
import type { PushNotifier } from "./push-notifier";

/** What a browser's PushSubscription.toJSON() gives, plus the device it is on. */
export interface PushSubscriptionInput {
  deviceId?: string | null;
  endpoint: string;
  p256dh: string;
  auth: string;
  expiresAt?: Date | null;
}

const disabled = () => new DomainError(DomainErrorReason.PUSH_DISABLED, "Web push is not enabled on this server.", { retryable: false });

function base64urlBytes(value: string, field: string): Buffer {
  if (typeof value !== "string" || !/^[A-Za-z0-9_-]+={0,2}$/.test(value)) throw invalidInput(`${field} must be base64url.`, { field });
  return Buffer.from(value.replace(/=+$/, ""), "base64url");
}

/**
 * Web push subscriptions (W5), each a user's own: registered (an upsert by endpoint for the
 * user), listed, removed and tested by their owner only; anybody else's id is NOT_FOUND, so
 * existence does not leak. The endpoint must be https (an SSRF guard at the door; the sender
 * also refuses internal addresses when it connects).
 */
export class PushService {
  constructor(
    private readonly db: DataSource,
    private readonly notifier: PushNotifier,
    private readonly publicKey: string | undefined,
    private readonly maxPerUser: number,
  ) {}

  /** The VAPID public key browsers subscribe with; UNAVAILABLE when push is off. Needs no sign-in: it is public. */
  vapidPublicKey(): string {
    if (!this.publicKey || !this.notifier.enabled) throw disabled();
    return this.publicKey;
  }

  /**
   * Registers (or updates, same endpoint) the caller's subscription; beyond
   * PUSH_MAX_SUBSCRIPTIONS_PER_USER (20) the least recently registered is dropped.
   * BAD_USER_INPUT for a non-https endpoint or malformed keys.
   */
  async register(auth: AuthContext, input: PushSubscriptionInput, now = new Date()): Promise<PushSubscriptionEntity> {
    const userId = auth.requireUserId();
    if (!this.notifier.enabled) throw disabled();
    let url: URL;
    try {
      url = new URL(input.endpoint);
    } catch {
      throw invalidInput("endpoint must be an https URL.", { field: "endpoint" });
    }
    if (url.protocol !== "https:" || url.username || url.password || input.endpoint.length > 2048) {
      throw invalidInput("endpoint must be an https URL of at most 2048 characters, without credentials.", { field: "endpoint" });
    }
    const key = base64urlBytes(input.p256dh, "p256dh");
    if (key.length !== 65 || key[0] !== 4) throw invalidInput("p256dh must be an uncompressed P-256 public key.", { field: "p256dh" });
    if (base64urlBytes(input.auth, "auth").length !== 16) throw invalidInput("auth must be a 16-byte secret.", { field: "auth" });
    if (input.deviceId && input.deviceId.length > 200) throw invalidInput("deviceId must be at most 200 characters.", { field: "deviceId" });
    if (input.expiresAt && input.expiresAt.getTime() <= now.getTime()) throw invalidInput("expiresAt is in the past.", { field: "expiresAt" });
    const [row]: Array<{ id: string }> = await this.db.query(
      `INSERT INTO push_subscriptions (user_id, device_id, endpoint, p256dh, auth, expires_at) VALUES ($1, $2, $3, $4, $5, $6)
       ON CONFLICT ON CONSTRAINT push_subscriptions_user_endpoint_key DO UPDATE
         SET device_id = EXCLUDED.device_id, p256dh = EXCLUDED.p256dh, auth = EXCLUDED.auth,
             expires_at = EXCLUDED.expires_at, failure_count = 0, updated_at = now()
       RETURNING id`,
      [userId, input.deviceId ?? null, input.endpoint, input.p256dh, input.auth, input.expiresAt ?? null],
    );
    // A bounded table: browsers rotate endpoints, so the least recently registered beyond the cap go.
    await this.db.query(
      `DELETE FROM push_subscriptions WHERE user_id = $1 AND id NOT IN (
         SELECT id FROM push_subscriptions WHERE user_id = $1 ORDER BY updated_at DESC, id DESC LIMIT $2)`,
      [userId, this.maxPerUser],
    );
    return this.db.getRepository(PushSubscriptionEntity).findOneByOrFail({ id: row.id });
  }

  /** Removes one of the caller's subscriptions; NOT_FOUND for another's or an unknown id. */
  async unregister(auth: AuthContext, id: string): Promise<boolean> {
    const userId = auth.requireUserId();
    if (!isUuid(id)) throw notFound("Push subscription");
    // Through a CTE: TypeORM answers a bare DELETE with [rows, count], whose length is always 2.
    const deleted: unknown[] = await this.db.query(`WITH d AS (DELETE FROM push_subscriptions WHERE id = $1 AND user_id = $2 RETURNING id) SELECT id FROM d`, [
      id,
      userId,
    ]);
    if (deleted.length === 0) throw notFound("Push subscription");
    return true;
  }

  /** The caller's unexpired subscriptions, oldest first. */
  async mine(auth: AuthContext, now = new Date()): Promise<PushSubscriptionEntity[]> {
    const userId = auth.requireUserId();
    return this.db
      .getRepository(PushSubscriptionEntity)
      .createQueryBuilder("s")
      .where("s.user_id = :userId", { userId })
      .andWhere("(s.expires_at IS NULL OR s.expires_at > :now)", { now })
      .orderBy("s.created_at", "ASC")
      .addOrderBy("s.id", "ASC")
      .getMany();
  }

  /**
   * Sends a test notification to one of the caller's subscriptions now: true when the push
   * service accepted it; false when it failed (retried later by the push-retry job), the
   * subscription was gone (404/410: removed) or its address is refused.
   */
  async sendTest(auth: AuthContext, id: string, now = new Date()): Promise<boolean> {
    const userId = auth.requireUserId();
    if (!this.notifier.enabled) throw disabled();
    if (!isUuid(id)) throw notFound("Push subscription");
    const owned = await this.db.getRepository(PushSubscriptionEntity).findOneBy({ id, userId });
    if (!owned) throw notFound("Push subscription");
    const message = { title: "Test notification", body: "Web push works on this device." };
    return (await this.notifier.notify([userId], "TEST", `test:${randomUUID()}`, message, now, id)) > 0;
  }
}
