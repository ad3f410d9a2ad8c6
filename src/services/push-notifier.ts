import type { DataSource } from "typeorm";
import type { PushConfig } from "../config";
import type { Metrics } from "../infra/metrics";
import type { PushSender } from "../infra/push-sender";

/** What a notification is about; with its subject, the outbox's once-only key per user. */
export type PushKind = "TEST" | "KICKED" | "LESSON_STARTING" | "REPORT_READY";

/** The message a service worker receives (JSON, encrypted to the subscription). */
export interface PushMessage {
  title: string;
  body: string;
  sessionId?: string;
  /** Seconds the push service keeps it for an offline device. */
  ttlSeconds?: number;
}

/** What a delivery attempt came to, as push_deliveries_total counts it. */
export type DeliveryOutcome = "sent" | "gone" | "failed" | "given_up" | "refused" | "skipped";

const DAY_MS = 86_400_000;
/** Outbox rows are kept this long: long enough that nothing is notified twice in practice. */
const NOTIFICATION_RETENTION_DAYS = 30;

/**
 * Web push delivery (W5) through an outbox: `notify` records one push_notifications row per
 * (user, kind, subject), a unique key, so a second call for the same thing (another instance,
 * a repeated job run) does nothing; then one push_deliveries row per unexpired subscription,
 * tried at once. A failed delivery waits PUSH_RETRY_BASE_MS × 2^(attempts−1) and is retried
 * by the push-retry job, up to PUSH_MAX_ATTEMPTS tries; 404/410 deletes the subscription.
 * Every attempt first claims its row (attempts + 1, next try pushed back) in one UPDATE, so
 * concurrent runs never send one delivery twice at the same time.
 */
export class PushNotifier {
  constructor(
    private readonly db: DataSource,
    private readonly sender: PushSender | undefined,
    private readonly config: Pick<PushConfig, "maxAttempts" | "retryBaseMs">,
    private readonly metrics?: Pick<Metrics, "pushDeliveries">,
  ) {}

  /** Whether push is on here (PUSH_ENABLED and keys): without a sender nothing is recorded. */
  get enabled(): boolean {
    return this.sender !== undefined;
  }

  /**
   * Notifies each of `userIds` once of (kind, subject), on all their unexpired subscriptions
   * (or only `subscriptionId`). Answers the deliveries sent now; a repeat answers 0.
   */
  async notify(userIds: readonly string[], kind: PushKind, subject: string, message: PushMessage, now: Date, subscriptionId?: string): Promise<number> {
    if (!this.sender) return 0;
    let sent = 0;
    for (const userId of new Set(userIds)) {
      const created: Array<{ id: string }> = await this.db.query(
        `INSERT INTO push_notifications (user_id, kind, subject, payload) VALUES ($1, $2, $3, $4)
         ON CONFLICT ON CONSTRAINT push_notifications_once DO NOTHING RETURNING id`,
        [userId, kind, subject.slice(0, 200), JSON.stringify({ kind, ...message })],
      );
      if (created.length === 0) continue;
      const deliveries: Array<{ id: string }> = await this.db.query(
        `INSERT INTO push_deliveries (notification_id, subscription_id, next_attempt_at)
         SELECT $1, id, $3 FROM push_subscriptions
          WHERE user_id = $2 AND (expires_at IS NULL OR expires_at > $3) AND ($4::uuid IS NULL OR id = $4::uuid)
         RETURNING id`,
        [created[0].id, userId, now, subscriptionId ?? null],
      );
      for (const { id } of deliveries) if ((await this.deliver(id, now)) === "sent") sent += 1;
    }
    return sent;
  }

  /**
   * One attempt of a due, pending delivery: claimed, sent, and its outcome recorded ("skipped"
   * when it is not due, no longer pending or claimed by another run meanwhile).
   */
  async deliver(deliveryId: string, now: Date): Promise<DeliveryOutcome> {
    if (!this.sender) return "skipped";
    const claimed: Array<{ attempts: number; endpoint: string; p256dh: string; auth: string; payload: PushMessage; subscription_id: string }> =
      await this.db.query(
        `WITH claimed AS (
         UPDATE push_deliveries
            SET attempts = attempts + 1,
                next_attempt_at = $2::timestamptz + make_interval(secs => $3::float8 * power(2, attempts) / 1000)
          WHERE id = $1 AND status = 'PENDING' AND next_attempt_at <= $2
          RETURNING attempts, notification_id, subscription_id)
       SELECT c.attempts, c.subscription_id, s.endpoint, s.p256dh, s.auth, n.payload
         FROM claimed c
         JOIN push_subscriptions s ON s.id = c.subscription_id
         JOIN push_notifications n ON n.id = c.notification_id`,
        [deliveryId, now, this.config.retryBaseMs],
      );
    if (claimed.length === 0) return "skipped";
    const { attempts, subscription_id: subscriptionId, payload } = claimed[0];
    const result = await this.sender.send(claimed[0], JSON.stringify(payload), payload.ttlSeconds ?? 3600);
    let outcome: DeliveryOutcome;
    if (result.outcome === "sent") {
      outcome = "sent";
      await this.db.query(`UPDATE push_deliveries SET status = 'SENT', sent_at = $2, last_error = NULL WHERE id = $1`, [deliveryId, now]);
      await this.db.query(`UPDATE push_subscriptions SET failure_count = 0 WHERE id = $1`, [subscriptionId]);
    } else if (result.outcome === "gone") {
      // The push service forgot the subscription (unsubscribed, expired): so do we.
      outcome = "gone";
      await this.db.query(`DELETE FROM push_subscriptions WHERE id = $1`, [subscriptionId]);
    } else {
      outcome = result.outcome === "refused" ? "refused" : attempts >= this.config.maxAttempts ? "given_up" : "failed";
      const status = outcome === "failed" ? "PENDING" : "FAILED";
      await this.db.query(`UPDATE push_deliveries SET status = $2, last_error = $3 WHERE id = $1`, [deliveryId, status, result.error.slice(0, 200)]);
      await this.db.query(`UPDATE push_subscriptions SET failure_count = failure_count + 1 WHERE id = $1`, [subscriptionId]);
    }
    this.metrics?.pushDeliveries.labels(outcome).inc();
    return outcome;
  }

  /** The push-retry job: tries the deliveries due by `now`, oldest first, at most `limit`. */
  async retryDue(now: Date, limit = 200): Promise<Record<DeliveryOutcome, number>> {
    const counts: Record<DeliveryOutcome, number> = { sent: 0, gone: 0, failed: 0, given_up: 0, refused: 0, skipped: 0 };
    const due: Array<{ id: string }> = await this.db.query(
      `SELECT id FROM push_deliveries WHERE status = 'PENDING' AND next_attempt_at <= $1 ORDER BY next_attempt_at LIMIT $2`,
      [now, limit],
    );
    for (const { id } of due) counts[await this.deliver(id, now)] += 1;
    return counts;
  }

  /** Deletes subscriptions past their expiresAt, and outbox rows older than 30 days; answers the subscriptions removed. */
  async pruneExpired(now: Date): Promise<number> {
    // Through a CTE: TypeORM answers a bare DELETE with [rows, count].
    const removed: unknown[] = await this.db.query(`WITH d AS (DELETE FROM push_subscriptions WHERE expires_at <= $1 RETURNING id) SELECT id FROM d`, [now]);
    await this.db.query(`DELETE FROM push_notifications WHERE created_at < $1`, [new Date(now.getTime() - NOTIFICATION_RETENTION_DAYS * DAY_MS)]);
    return removed.length;
  }

  /** Unexpired subscriptions of every user (push_subscriptions_active). */
  async activeSubscriptions(): Promise<number> {
    const [row]: Array<{ n: string }> = await this.db.query(`SELECT count(*) AS n FROM push_subscriptions WHERE expires_at IS NULL OR expires_at > now()`);
    return Number(row.n);
  }
}
