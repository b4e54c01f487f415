import { Inject, Injectable } from '@nestjs/common';
import { randomBytes, randomUUID } from 'node:crypto';
import { DataSource, IsNull } from 'typeorm';
import type { Principal } from '@gw/identity';
import { AuditService } from '../audit/audit.service.js';
import { NotFoundError } from '../common/domain-error.js';
import { WebhookSubscriptionEntity } from './webhook-subscription.entity.js';
import { displayWebhookUrl } from './webhook-url.js';
import type { CreateWebhookDto } from './dto/webhook.dto.js';

/** Subscriptions: create (the secret is returned this once), read, delete. */
@Injectable()
export class WebhooksService {
  constructor(
    @Inject(DataSource) private readonly dataSource: DataSource,
    @Inject(AuditService) private readonly audit: AuditService,
  ) {}

  async create(dto: CreateWebhookDto, actor: Principal): Promise<{ subscription: WebhookSubscriptionEntity; secret: string }> {
    const secret = dto.secret ?? `whsec_${randomBytes(32).toString('base64url')}`;
    return this.dataSource.transaction(async (tx) => {
      const subscription = tx.create(WebhookSubscriptionEntity, {
        id: randomUUID(), url: dto.url, description: dto.description ?? null, events: dto.events, format: dto.format,
        secret, createdBy: actor.id, createdAt: new Date(), disabledAt: null, disabledBy: null,
      });
      await tx.insert(WebhookSubscriptionEntity, subscription);
      await this.audit.append(
        {
          action: 'webhook.subscription.created',
          outcome: 'success',
          actor,
          resource: `webhook:${subscription.id}`,
          details: { url: displayWebhookUrl(dto.url), events: dto.events, format: dto.format, secretGenerated: dto.secret === undefined },
        },
        tx,
      );
      return { subscription, secret };
    });
  }

  list(includeDeleted: boolean): Promise<WebhookSubscriptionEntity[]> {
    return this.dataSource.getRepository(WebhookSubscriptionEntity).find({
      where: includeDeleted ? {} : { disabledAt: IsNull() },
      order: { createdAt: 'DESC' },
    });
  }

  async get(id: string): Promise<WebhookSubscriptionEntity> {
    const found = await this.dataSource.getRepository(WebhookSubscriptionEntity).findOne({ where: { id } });
    if (!found) throw new NotFoundError('webhook', id);
    return found;
  }

  /** Stops all further deliveries (pending ones are cancelled); the history stays readable. */
  async remove(id: string, actor: Principal): Promise<WebhookSubscriptionEntity> {
    return this.dataSource.transaction(async (tx) => {
      const found = await tx.findOne(WebhookSubscriptionEntity, { where: { id }, lock: { mode: 'pessimistic_write' } });
      if (!found) throw new NotFoundError('webhook', id);
      if (found.disabledAt) return found;
      found.disabledAt = new Date();
      found.disabledBy = actor.id;
      await tx.update(WebhookSubscriptionEntity, { id }, { disabledAt: found.disabledAt, disabledBy: actor.id });
      const [, cancelled] = await tx.query<[unknown, number]>(
        `UPDATE webhook_deliveries SET status = 'cancelled', lease_until = NULL WHERE subscription_id = $1 AND status = 'pending'`,
        [id],
      );
      await this.audit.append(
        { action: 'webhook.subscription.deleted', outcome: 'success', actor, resource: `webhook:${id}`, details: { cancelledDeliveries: cancelled } },
        tx,
      );
      return found;
    });
  }
}
