import { Inject, Injectable, type BeforeApplicationShutdown, type OnApplicationBootstrap, type OnModuleInit } from '@nestjs/common';
import { APP_CONFIG } from '../config/config.module.js';
import { runsJobs, type AppConfig } from '../config/app-config.js';
import { loggerFor } from '../common/logger.js';
import { DomainEvents } from '../events/domain-events.service.js';
import type { DomainEvent } from '../events/domain-event.js';
import { matchesAnyPattern } from './event-patterns.js';
import { DeliveryQueue } from './delivery-queue.service.js';
import { DeliveryStore } from './delivery-store.js';

const SWEEP_BATCH = 1000;

/**
 * Turns each domain event into deliveries: the rows first (in Postgres), then the jobs. A job lost
 * to a Redis outage is queued again by the sweeper, at start and then periodically.
 */
@Injectable()
export class WebhookDispatcher implements OnModuleInit, OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly log = loggerFor(WebhookDispatcher);
  private stopListening?: () => void;
  private sweepTimer?: NodeJS.Timeout;
  private sweeping = false;

  constructor(
    @Inject(DomainEvents) private readonly events: DomainEvents,
    @Inject(DeliveryStore) private readonly store: DeliveryStore,
    @Inject(DeliveryQueue) private readonly queue: DeliveryQueue,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  onModuleInit(): void {
    this.stopListening = this.events.onOrigin((event) => this.dispatch(event));
  }

  onApplicationBootstrap(): void {
    if (!runsJobs(this.config)) return; // the sweep queues deliveries again: a worker's job
    void this.sweep();
    this.sweepTimer = setInterval(() => void this.sweep(), this.config.webhooks.sweepIntervalMs);
    this.sweepTimer.unref();
  }

  beforeApplicationShutdown(): void {
    this.stopListening?.();
    clearInterval(this.sweepTimer);
  }

  async dispatch(event: DomainEvent): Promise<void> {
    const subscriptions = await this.store.activeSubscriptions();
    const matching = subscriptions.filter((s) => matchesAnyPattern(s.events, event.type)).map((s) => s.id);
    const jobs = await this.store.createDeliveries(event, matching);
    await this.queue.enqueue(jobs);
  }

  /** Queues pending rows that may have no job; never throws (it runs from a timer). */
  async sweep(): Promise<void> {
    if (this.sweeping) return;
    this.sweeping = true;
    try {
      const jobs = await this.store.sweepable(SWEEP_BATCH);
      if (jobs.length) await this.queue.enqueue(jobs);
    } catch (err) {
      this.log.warn({ err }, 'webhook sweep failed; next one retries');
    } finally {
      this.sweeping = false;
    }
  }
}
