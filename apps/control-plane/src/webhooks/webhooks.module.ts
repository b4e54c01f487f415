import { Module } from '@nestjs/common';
import { AuditModule } from '../audit/audit.module.js';
import { DeliveriesService } from './deliveries.service.js';
import { DeliveryQueue } from './delivery-queue.service.js';
import { DeliveryStore } from './delivery-store.js';
import { DeliveryWorker } from './delivery-worker.service.js';
import { WebhookDispatcher } from './webhook-dispatcher.service.js';
import { WebhooksController } from './webhooks.controller.js';
import { WebhooksService } from './webhooks.service.js';

/** Webhook subscriptions and their delivery: domain events -> rows -> BullMQ jobs -> signed POSTs. */
@Module({
  imports: [AuditModule],
  providers: [WebhooksService, DeliveriesService, DeliveryStore, DeliveryQueue, DeliveryWorker, WebhookDispatcher],
  controllers: [WebhooksController],
})
export class WebhooksModule {}
