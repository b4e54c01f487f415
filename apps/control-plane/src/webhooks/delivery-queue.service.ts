import { Inject, Injectable, type OnApplicationShutdown } from '@nestjs/common';
import { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { createRedis } from '../redis/redis-connection.js';
import { APP_CONFIG } from '../config/config.module.js';
import type { AppConfig } from '../config/app-config.js';
import { loggerFor } from '../common/logger.js';

/** The queue and job payload that the dispatcher (producer) and the worker both use. */
export const WEBHOOK_QUEUE = 'webhook-delivery';
export const WEBHOOK_JOB = 'deliver';

export interface WebhookDeliveryJob {
  deliveryId: string;
  /** Which round of the delivery this job serves (0, then +1 per manual redelivery). */
  round: number;
}

/**
 * The job id is the delivery id, so queueing the same delivery twice (publish and sweeper, two
 * replicas' sweepers) is a no-op while the job exists; a redelivery round gets its own id.
 */
export const jobIdFor = (job: WebhookDeliveryJob) => (job.round === 0 ? job.deliveryId : `${job.deliveryId}-r${job.round}`);

/** A publish must not wait on a Redis outage: the row is already stored and the sweeper queues it later. */
const ENQUEUE_TIMEOUT_MS = 2000;

/** BullMQ connections are their own (blocking commands); BullMQ wants `maxRetriesPerRequest: null`. */
export function bullConnection(config: AppConfig, log: ReturnType<typeof loggerFor>): Redis {
  const connection = createRedis(config.redis, { maxRetriesPerRequest: null });
  let lastLogged = 0;
  connection.on('error', (err: Error) => {
    if (Date.now() - lastLogged > 10_000) {
      lastLogged = Date.now();
      log.warn({ err: err.message }, 'webhook queue redis connection error');
    }
  });
  return connection;
}

@Injectable()
export class DeliveryQueue implements OnApplicationShutdown {
  private readonly log = loggerFor(DeliveryQueue);
  private readonly connection: Redis;
  private readonly queue: Queue<WebhookDeliveryJob>;

  constructor(@Inject(APP_CONFIG) config: AppConfig) {
    this.connection = bullConnection(config, this.log);
    this.queue = new Queue<WebhookDeliveryJob>(WEBHOOK_QUEUE, {
      connection: this.connection,
      prefix: config.redis.prefix,
      defaultJobOptions: {
        attempts: config.webhooks.maxAttempts,
        backoff: { type: 'exponential', delay: config.webhooks.backoffMs },
        // Postgres keeps the outcome (delivered, dead-letter list); Redis keeps only work to do.
        removeOnComplete: true,
        removeOnFail: true,
      },
    });
    this.queue.on('error', (err) => this.log.warn({ err: err.message }, 'webhook queue error'));
  }

  /** False when Redis did not take the jobs in time; the rows stay pending for the sweeper. */
  async enqueue(jobs: WebhookDeliveryJob[]): Promise<boolean> {
    if (jobs.length === 0) return true;
    // Known down: answer at once. Still connecting (just after start): try, bounded by the timeout.
    if (['reconnecting', 'close', 'end'].includes(this.connection.status)) {
      this.log.warn({ count: jobs.length, redis: this.connection.status }, 'redis unavailable; the sweeper will queue these webhook deliveries');
      return false;
    }
    let timer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([
        this.queue.addBulk(jobs.map((data) => ({ name: WEBHOOK_JOB, data, opts: { jobId: jobIdFor(data) } }))),
        new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(new Error(`redis did not answer within ${ENQUEUE_TIMEOUT_MS} ms`)), ENQUEUE_TIMEOUT_MS);
        }),
      ]);
      return true;
    } catch (err) {
      this.log.warn({ err, count: jobs.length }, 'could not queue webhook deliveries; the sweeper will queue them');
      return false;
    } finally {
      clearTimeout(timer);
    }
  }

  async onApplicationShutdown(): Promise<void> {
    await this.queue.close().catch(() => undefined);
    this.connection.disconnect();
  }
}
