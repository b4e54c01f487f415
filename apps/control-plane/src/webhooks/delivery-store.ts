import { Inject, Injectable } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { DataSource, IsNull } from 'typeorm';
import { AuditService } from '../audit/audit.service.js';
import type { DeliveredEvent } from './event-view.js';
import { WebhookSubscriptionEntity, type WebhookFormat } from './webhook-subscription.entity.js';
import type { WebhookDeliveryJob } from './delivery-queue.service.js';
import type { SendResult } from './webhook-sender.js';

/** Audit actor for what the delivery machinery does on its own. */
export const WEBHOOK_SYSTEM_ACTOR = { id: 'system:webhooks', kind: 'system' };

/** A delivery the calling worker now holds the lease of, with what it needs to send it. */
export interface ClaimedDelivery {
  id: string;
  subscriptionId: string;
  event: DeliveredEvent;
  /** Including the attempt about to be made. */
  attempts: number;
  url: string;
  format: WebhookFormat;
  secret: string;
}

/** TypeORM answers an UPDATE ... RETURNING with `[rows, rowCount]`. */
type UpdateReturning<T> = [T[], number];

interface ClaimRow { id: string; subscription_id: string; event: DeliveredEvent; attempts: number; url: string; format: WebhookFormat; secret: string }

/**
 * The delivery rows are the truth; BullMQ jobs only say "look at this row now". Every state change
 * is a conditional UPDATE, so a duplicate or late job finds nothing to do.
 */
@Injectable()
export class DeliveryStore {
  constructor(
    @Inject(DataSource) private readonly dataSource: DataSource,
    @Inject(AuditService) private readonly audit: AuditService,
  ) {}

  activeSubscriptions(): Promise<WebhookSubscriptionEntity[]> {
    return this.dataSource.getRepository(WebhookSubscriptionEntity).find({ where: { disabledAt: IsNull() } });
  }

  /** One pending row per subscription; a second call for the same event inserts nothing. */
  async createDeliveries(event: DeliveredEvent, subscriptionIds: string[]): Promise<WebhookDeliveryJob[]> {
    if (subscriptionIds.length === 0) return [];
    const ids = subscriptionIds.map(() => randomUUID());
    const inserted = await this.dataSource.query<{ id: string }[]>(
      `INSERT INTO webhook_deliveries (id, subscription_id, event_id, event_type, event, status, round, attempts, created_at)
       SELECT t.id, t.subscription_id, $3, $4, $5::jsonb, 'pending', 0, 0, now()
         FROM unnest($1::uuid[], $2::uuid[]) AS t(id, subscription_id)
       ON CONFLICT (subscription_id, event_id) DO NOTHING
       RETURNING id`,
      [ids, subscriptionIds, event.id, event.type, JSON.stringify(event)],
    );
    return inserted.map((r) => ({ deliveryId: r.id, round: 0 }));
  }

  /**
   * Takes the lease for one attempt and counts it. Nothing comes back when the row is no longer
   * pending, belongs to another round, is being sent by another worker, or its subscription was
   * deleted (then it is cancelled here).
   */
  async claim(job: WebhookDeliveryJob, leaseSeconds: number): Promise<ClaimedDelivery | undefined> {
    const [rows] = await this.dataSource.query<UpdateReturning<ClaimRow>>(
      `UPDATE webhook_deliveries d
          SET attempts = d.attempts + 1, lease_until = now() + make_interval(secs => $3), last_attempt_at = now()
         FROM webhook_subscriptions s
        WHERE d.id = $1 AND d.round = $2 AND d.status = 'pending'
          AND (d.lease_until IS NULL OR d.lease_until < now())
          AND s.id = d.subscription_id AND s.disabled_at IS NULL
      RETURNING d.id, d.subscription_id, d.event, d.attempts, s.url, s.format, s.secret`,
      [job.deliveryId, job.round, leaseSeconds],
    );
    const row = rows[0];
    if (!row) {
      await this.cancelIfSubscriptionDeleted(job.deliveryId);
      return undefined;
    }
    return { id: row.id, subscriptionId: row.subscription_id, event: row.event, attempts: row.attempts, url: row.url, format: row.format, secret: row.secret };
  }

  async markDelivered(job: WebhookDeliveryJob, statusCode: number | undefined): Promise<boolean> {
    const [, count] = await this.dataSource.query<UpdateReturning<never>>(
      `UPDATE webhook_deliveries
          SET status = 'delivered', delivered_at = now(), last_status_code = $3, last_error = NULL, lease_until = NULL
        WHERE id = $1 AND round = $2 AND status = 'pending'`,
      [job.deliveryId, job.round, statusCode ?? null],
    );
    return count === 1;
  }

  /** Records a failed attempt; on the last one the row goes to the dead-letter list, audited with it. */
  async recordFailure(job: WebhookDeliveryJob, claimed: ClaimedDelivery, result: SendResult, dead: boolean): Promise<void> {
    await this.dataSource.transaction(async (tx) => {
      const [, count] = await tx.query<UpdateReturning<never>>(
        `UPDATE webhook_deliveries
            SET status = $3, last_error = $4, last_status_code = $5, lease_until = NULL
          WHERE id = $1 AND round = $2 AND status = 'pending'`,
        [job.deliveryId, job.round, dead ? 'dead' : 'pending', result.error ?? 'failed', result.statusCode ?? null],
      );
      if (!dead || count !== 1) return;
      await this.audit.append(
        {
          action: 'webhook.delivery.dead',
          outcome: 'failure',
          actor: WEBHOOK_SYSTEM_ACTOR,
          resource: `webhook:${claimed.subscriptionId}`,
          details: {
            deliveryId: claimed.id,
            eventId: claimed.event.id,
            eventType: claimed.event.type,
            attempts: claimed.attempts,
            lastError: result.error ?? null,
            lastStatusCode: result.statusCode ?? null,
          },
        },
        tx,
      );
    });
  }

  private async cancelIfSubscriptionDeleted(deliveryId: string): Promise<void> {
    await this.dataSource.query(
      `UPDATE webhook_deliveries d SET status = 'cancelled', lease_until = NULL
         FROM webhook_subscriptions s
        WHERE d.id = $1 AND d.status = 'pending' AND s.id = d.subscription_id AND s.disabled_at IS NOT NULL`,
      [deliveryId],
    );
  }

  /** Pending rows nobody is sending right now; queueing those that still have a job is a no-op. */
  async sweepable(limit: number): Promise<WebhookDeliveryJob[]> {
    const rows = await this.dataSource.query<{ id: string; round: number }[]>(
      `SELECT d.id, d.round FROM webhook_deliveries d
         JOIN webhook_subscriptions s ON s.id = d.subscription_id AND s.disabled_at IS NULL
        WHERE d.status = 'pending' AND (d.lease_until IS NULL OR d.lease_until < now())
        ORDER BY d.created_at
        LIMIT $1`,
      [limit],
    );
    return rows.map((r) => ({ deliveryId: r.id, round: r.round }));
  }
}
