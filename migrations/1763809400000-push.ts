import type { MigrationInterface, QueryRunner } from "typeorm";

/**
 * Web push (W5). push_subscriptions: one browser/device subscription of a user, unique per
 * (user, endpoint) so registering again updates it; failure_count counts failed deliveries
 * since the last success. push_notifications is the outbox: one row per (user, kind,
 * subject), so nobody is notified twice of the same thing however many instances or job runs
 * see it. push_deliveries: one per notification and subscription, retried with backoff by the
 * push-retry job until sent or given up.
 */
export class Push1763809400000 implements MigrationInterface {
  name = "Push1763809400000";

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE push_subscriptions (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        user_id uuid NOT NULL REFERENCES users(id) ON DELETE CASCADE,
        device_id varchar(200),
        endpoint varchar(2048) NOT NULL,
        p256dh varchar(200) NOT NULL,
        auth varchar(100) NOT NULL,
        expires_at timestamptz,
        failure_count integer NOT NULL DEFAULT 0,
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now(),
        CONSTRAINT push_subscriptions_user_endpoint_key UNIQUE (user_id, endpoint)
      )`);
    // The expiry prune.
    await q.query(`CREATE INDEX push_subscriptions_expires_idx ON push_subscriptions (expires_at) WHERE expires_at IS NOT NULL`);
    await q.query(`
      CREATE TABLE push_notifications (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        user_id uuid NOT NULL REFERENCES users(id) ON DELETE CASCADE,
        kind varchar(40) NOT NULL,
        subject varchar(200) NOT NULL,
        payload jsonb NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now(),
        CONSTRAINT push_notifications_once UNIQUE (user_id, kind, subject)
      )`);
    await q.query(`
      CREATE TABLE push_deliveries (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        notification_id uuid NOT NULL REFERENCES push_notifications(id) ON DELETE CASCADE,
        subscription_id uuid NOT NULL REFERENCES push_subscriptions(id) ON DELETE CASCADE,
        status varchar(16) NOT NULL DEFAULT 'PENDING',
        attempts integer NOT NULL DEFAULT 0,
        next_attempt_at timestamptz NOT NULL DEFAULT now(),
        last_error varchar(200),
        sent_at timestamptz,
        CONSTRAINT push_deliveries_once UNIQUE (notification_id, subscription_id)
      )`);
    // The retry job's scan of due deliveries.
    await q.query(`CREATE INDEX push_deliveries_due_idx ON push_deliveries (next_attempt_at) WHERE status = 'PENDING'`);
    await q.query(`CREATE INDEX push_deliveries_subscription_idx ON push_deliveries (subscription_id)`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE push_deliveries`);
    await q.query(`DROP TABLE push_notifications`);
    await q.query(`DROP TABLE push_subscriptions`);
  }
}
