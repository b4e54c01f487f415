import { Inject, Injectable } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { DataSource } from 'typeorm';
import type { Principal } from '@gw/identity';
import { AuditService } from '../audit/audit.service.js';
import { ConflictError, NotFoundError } from '../common/domain-error.js';
import { DeliveryQueue } from './delivery-queue.service.js';
import { DeliveryStore } from './delivery-store.js';
import { PING_EVENT_TYPE, type DeliveredEvent } from './event-view.js';
import { WebhookDeliveryEntity } from './webhook-delivery.entity.js';
import { WebhooksService } from './webhooks.service.js';
import type { ListDeliveriesDto } from './dto/webhook.dto.js';

/** The delivery history of a subscription (with the dead-letter list), redelivery and test pings. */
@Injectable()
export class DeliveriesService {
  constructor(
    @Inject(DataSource) private readonly dataSource: DataSource,
    @Inject(AuditService) private readonly audit: AuditService,
    @Inject(WebhooksService) private readonly webhooks: WebhooksService,
    @Inject(DeliveryStore) private readonly store: DeliveryStore,
    @Inject(DeliveryQueue) private readonly queue: DeliveryQueue,
  ) {}

  /** One subscription's deliveries, or (without an id) those of all subscriptions. */
  async list(subscriptionId: string | undefined, q: ListDeliveriesDto): Promise<WebhookDeliveryEntity[]> {
    const qb = this.dataSource.getRepository(WebhookDeliveryEntity).createQueryBuilder('d');
    if (subscriptionId) {
      await this.webhooks.get(subscriptionId);
      qb.andWhere('d.subscription_id = :subscriptionId', { subscriptionId });
    }
    if (q.status) qb.andWhere('d.status = :status', { status: q.status });
    if (q.before) qb.andWhere('d.created_at < :before', { before: q.before });
    return qb.orderBy('d.created_at', 'DESC').addOrderBy('d.id', 'DESC').limit(q.limit).getMany();
  }

  /**
   * Sends a finished delivery again (typically one from the dead-letter list) with a fresh set of
   * attempts. The delivery id stays the same, so receivers that de-duplicate on it see a repeat.
   */
  async redeliver(deliveryId: string, actor: Principal): Promise<WebhookDeliveryEntity> {
    const delivery = await this.dataSource.transaction(async (tx) => {
      const found = await tx.findOne(WebhookDeliveryEntity, { where: { id: deliveryId }, lock: { mode: 'pessimistic_write' } });
      if (!found) throw new NotFoundError('webhook delivery', deliveryId);
      if (found.status === 'pending') throw new ConflictError('this delivery is still pending; it is retried on its own');
      const subscription = await this.webhooks.get(found.subscriptionId);
      if (subscription.disabledAt) throw new ConflictError('the subscription of this delivery was deleted');
      const previous = found.status;
      Object.assign(found, { status: 'pending', round: found.round + 1, attempts: 0, leaseUntil: null, deliveredAt: null });
      await tx.update(WebhookDeliveryEntity, { id: deliveryId }, { status: 'pending', round: found.round, attempts: 0, leaseUntil: null, deliveredAt: null });
      await this.audit.append(
        {
          action: 'webhook.delivery.redelivered',
          outcome: 'success',
          actor,
          resource: `webhook:${found.subscriptionId}`,
          details: { deliveryId, eventId: found.eventId, eventType: found.eventType, previousStatus: previous, round: found.round },
        },
        tx,
      );
      return found;
    });
    await this.queue.enqueue([{ deliveryId, round: delivery.round }]);
    return delivery;
  }

  /** A `webhook.ping` delivery through the normal path (signature, retries, dead-letter list). */
  async ping(subscriptionId: string, actor: Principal): Promise<WebhookDeliveryEntity> {
    const subscription = await this.webhooks.get(subscriptionId);
    if (subscription.disabledAt) throw new ConflictError('this subscription was deleted');
    const event: DeliveredEvent = {
      id: randomUUID(),
      type: PING_EVENT_TYPE,
      occurredAt: new Date().toISOString(),
      data: { subscriptionId, requestedBy: actor.id },
    };
    const [job] = await this.store.createDeliveries(event, [subscriptionId]);
    if (!job) throw new Error('the test delivery was not stored');
    await this.audit.append({ action: 'webhook.subscription.tested', outcome: 'success', actor, resource: `webhook:${subscriptionId}`, details: { deliveryId: job.deliveryId } });
    // Read before it is queued: the answer (202) describes the queued delivery, whatever a fast worker does meanwhile.
    const queued = await this.dataSource.getRepository(WebhookDeliveryEntity).findOneOrFail({ where: { id: job.deliveryId } });
    await this.queue.enqueue([job]);
    return queued;
  }
}
