import { randomUUID } from 'node:crypto';
import { Inject, Injectable, type OnModuleInit } from '@nestjs/common';
import { APP_CONFIG } from '../config/config.module.js';
import type { AppConfig } from '../config/app-config.js';
import { loggerFor } from '../common/logger.js';
import { channels } from '../redis/redis.module.js';
import { RedisChannels } from '../redis/redis-channels.js';
import { DOMAIN_EVENT_TYPES, type DomainEvent, type DomainEventType } from './domain-event.js';

/** Runs once, on the replica where the event happened (for example: enqueue webhook deliveries). */
export type OriginHandler = (event: DomainEvent) => Promise<void> | void;
/** Runs on every replica for every event (for example: a live SSE stream held by that replica). */
export type LiveHandler = (event: DomainEvent) => void;

/**
 * The control plane's in-house event bus. `publish` is called after the change is committed:
 * origin handlers are awaited (so a webhook is queued before the API answers), then the event is
 * broadcast through Redis so that streams held by any replica see it.
 */
@Injectable()
export class DomainEvents implements OnModuleInit {
  private readonly log = loggerFor(DomainEvents);
  private readonly originHandlers = new Set<OriginHandler>();
  private readonly liveHandlers = new Set<LiveHandler>();
  private readonly channel: string;

  constructor(
    @Inject(APP_CONFIG) config: AppConfig,
    @Inject(RedisChannels) private readonly redisChannels: RedisChannels,
  ) {
    this.channel = channels(config.redis.prefix).domainEvents;
  }

  onModuleInit(): void {
    this.redisChannels.listen(this.channel, (message) => {
      const event = parseEvent(message);
      if (!event) throw new Error('malformed domain event on the bus');
      for (const handler of this.liveHandlers) {
        try {
          handler(event);
        } catch (err) {
          this.log.warn({ err, type: event.type }, 'live event handler failed');
        }
      }
    });
  }

  onOrigin(handler: OriginHandler): () => void {
    this.originHandlers.add(handler);
    return () => this.originHandlers.delete(handler);
  }

  subscribe(handler: LiveHandler): () => void {
    this.liveHandlers.add(handler);
    return () => this.liveHandlers.delete(handler);
  }

  async publish(type: DomainEventType, data: Record<string, unknown>): Promise<DomainEvent> {
    const event: DomainEvent = { id: randomUUID(), type, occurredAt: new Date().toISOString(), data };
    for (const handler of this.originHandlers) {
      try {
        await handler(event);
      } catch (err) {
        this.log.error({ err, type }, 'origin event handler failed');
      }
    }
    await this.redisChannels.publish(this.channel, JSON.stringify(event)).catch((err: unknown) => {
      this.log.warn({ err, type }, 'could not broadcast a domain event; live streams miss it');
    });
    return event;
  }
}

function parseEvent(message: string): DomainEvent | undefined {
  const value = JSON.parse(message) as Partial<DomainEvent>;
  if (typeof value.id !== 'string' || typeof value.occurredAt !== 'string') return undefined;
  if (!DOMAIN_EVENT_TYPES.includes(value.type as DomainEventType)) return undefined;
  if (typeof value.data !== 'object' || value.data === null) return undefined;
  return value as DomainEvent;
}
