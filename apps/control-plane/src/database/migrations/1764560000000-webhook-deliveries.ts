import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Webhook deliveries: one row per (subscription, event), inserted before the job is queued so a
 * Redis outage loses nothing (a sweeper queues pending rows again). `round` counts manual
 * redeliveries, so a job left over from an earlier round cannot claim the row. `lease_until` keeps
 * two workers from sending the same delivery at once.
 */
export class WebhookDeliveries1764560000000 implements MigrationInterface {
  name = 'WebhookDeliveries1764560000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE webhook_subscriptions ADD COLUMN description text`);
    await q.query(`ALTER TABLE webhook_subscriptions ADD COLUMN disabled_by text`);
    await q.query(`CREATE TABLE webhook_deliveries (
      id uuid PRIMARY KEY,
      subscription_id uuid NOT NULL REFERENCES webhook_subscriptions(id) ON DELETE CASCADE,
      event_id uuid NOT NULL,
      event_type text NOT NULL,
      event jsonb NOT NULL,
      status text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending','delivered','dead','cancelled')),
      round integer NOT NULL DEFAULT 0,
      attempts integer NOT NULL DEFAULT 0,
      last_error text,
      last_status_code integer,
      lease_until timestamptz,
      last_attempt_at timestamptz,
      created_at timestamptz NOT NULL DEFAULT now(),
      delivered_at timestamptz,
      UNIQUE (subscription_id, event_id)
    )`);
    await q.query(`CREATE INDEX webhook_deliveries_subscription_idx ON webhook_deliveries (subscription_id, status, created_at DESC)`);
    await q.query(`CREATE INDEX webhook_deliveries_pending_idx ON webhook_deliveries (created_at) WHERE status = 'pending'`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE IF EXISTS webhook_deliveries`);
    await q.query(`ALTER TABLE webhook_subscriptions DROP COLUMN IF EXISTS disabled_by`);
    await q.query(`ALTER TABLE webhook_subscriptions DROP COLUMN IF EXISTS description`);
  }
}
