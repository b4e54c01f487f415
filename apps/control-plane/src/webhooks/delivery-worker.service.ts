import { Inject, Injectable, type BeforeApplicationShutdown, type OnApplicationBootstrap } from '@nestjs/common';
import { UnrecoverableError, Worker, type Job } from 'bullmq';
import type { Redis } from 'ioredis';
import { APP_CONFIG } from '../config/config.module.js';
import { runsJobs, type AppConfig } from '../config/app-config.js';
import { loggerFor } from '../common/logger.js';
import { bullConnection, WEBHOOK_QUEUE, type WebhookDeliveryJob } from './delivery-queue.service.js';
import { DeliveryStore, type ClaimedDelivery } from './delivery-store.js';
import { renderPayload } from './webhook-payload.js';
import { sendWebhook } from './webhook-sender.js';
import { signWebhook } from './webhook-signature.js';
import { webhookAttempts } from './webhook-metrics.js';

/** Receivers are slow HTTP endpoints, not CPU work: a few in flight per replica is plenty. */
const CONCURRENCY = 8;

/**
 * Sends deliveries. BullMQ schedules the attempts (exponential backoff); the row in Postgres decides
 * whether an attempt may run at all, counts attempts and records the outcome.
 */
@Injectable()
export class DeliveryWorker implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly log = loggerFor(DeliveryWorker);
  private connection?: Redis;
  private worker?: Worker<WebhookDeliveryJob>;

  constructor(
    @Inject(DeliveryStore) private readonly store: DeliveryStore,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  onApplicationBootstrap(): void {
    if (!runsJobs(this.config)) return;
    this.connection = bullConnection(this.config, this.log);
    this.worker = new Worker<WebhookDeliveryJob>(WEBHOOK_QUEUE, (job) => this.process(job), {
      connection: this.connection,
      prefix: this.config.redis.prefix,
      concurrency: CONCURRENCY,
      // The job lock must outlive one attempt, or BullMQ would call it stalled and run it twice.
      lockDuration: Math.max(30_000, this.config.webhooks.timeoutMs * 2 + 5_000),
    });
    this.worker.on('error', (err) => this.log.warn({ err: err.message }, 'webhook worker error'));
  }

  /**
   * Lets attempts in flight finish (each is bounded by the timeout) before the process goes. With
   * Redis unreachable a graceful close never returns, and nothing could be acknowledged anyway:
   * then the worker is closed at once; the rows stay pending and are picked up again.
   */
  async beforeApplicationShutdown(): Promise<void> {
    const worker = this.worker;
    if (worker) {
      const force = this.connection?.status !== 'ready';
      const bound = this.config.webhooks.timeoutMs + 5_000;
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([
        worker.close(force),
        new Promise<void>((resolve) => {
          timer = setTimeout(() => {
            this.log.warn({ waitedMs: bound }, 'webhook worker did not close in time; leaving its jobs to another run');
            resolve();
          }, bound);
        }),
      ])
        .catch((err: unknown) => this.log.warn({ err }, 'closing the webhook worker failed'))
        .finally(() => clearTimeout(timer));
    }
    this.connection?.disconnect();
  }

  private async process(job: Job<WebhookDeliveryJob>): Promise<void> {
    const ref = job.data;
    const leaseSeconds = (this.config.webhooks.timeoutMs + 30_000) / 1000;
    const claimed = await this.store.claim(ref, leaseSeconds);
    if (!claimed) return;
    const result = await this.attempt(claimed);
    if (result.ok) {
      await this.store.markDelivered(ref, result.statusCode);
      webhookAttempts.inc({ outcome: 'delivered' });
      return;
    }
    const dead = claimed.attempts >= this.config.webhooks.maxAttempts;
    await this.store.recordFailure(ref, claimed, result, dead);
    webhookAttempts.inc({ outcome: dead ? 'dead' : 'failed' });
    this.log.info({ deliveryId: claimed.id, attempt: claimed.attempts, error: result.error, dead }, 'webhook attempt failed');
    // Thrown so that BullMQ schedules the next attempt with backoff; a dead row needs no more.
    if (dead) throw new UnrecoverableError(`dead after ${claimed.attempts} attempts: ${result.error}`);
    throw new Error(`attempt ${claimed.attempts} failed: ${result.error}`);
  }

  private attempt(delivery: ClaimedDelivery) {
    const body = JSON.stringify(renderPayload(delivery.format, delivery.id, delivery.event, this.config.http.publicUrl));
    const timestamp = Math.floor(Date.now() / 1000).toString();
    const headers = {
      'content-type': 'application/json',
      'user-agent': 'gateway-webhooks/1',
      'x-gateway-event': delivery.event.type,
      'x-gateway-delivery': delivery.id,
      'x-gateway-attempt': String(delivery.attempts),
      'x-gateway-timestamp': timestamp,
      'x-gateway-signature': signWebhook(delivery.secret, timestamp, body),
    };
    return sendWebhook(delivery.url, headers, body, this.config.webhooks.timeoutMs);
  }
}
