import { Inject, Injectable } from '@nestjs/common';
import type { Redis } from 'ioredis';
import { loggerFor } from '../common/logger.js';
import { REDIS_SUBSCRIBER } from './redis-tokens.js';

/**
 * One dispatcher for the Redis pub/sub messages replicas send each other (policy activated, agent
 * revoked, session kill, Postgres cancel). A handler that throws on a malformed message is logged,
 * never allowed to take the process down.
 */
@Injectable()
export class RedisChannels {
  private readonly log = loggerFor(RedisChannels);
  private readonly handlers = new Map<string, (message: string) => void>();

  constructor(@Inject(REDIS_SUBSCRIBER) private readonly subscriber: Redis) {
    subscriber.on('message', (channel: string, message: string) => {
      const handler = this.handlers.get(channel);
      if (!handler) return;
      try {
        handler(message);
      } catch (err) {
        this.log.warn({ err, channel }, 'could not handle a pub/sub message');
      }
    });
  }

  /**
   * Not awaited by callers: the process must come up (and report not-ready) while Redis is down;
   * ioredis subscribes again on reconnect.
   */
  listen(channel: string, handler: (message: string) => void): void {
    if (this.handlers.has(channel)) throw new Error(`channel ${channel} already has a listener`);
    this.handlers.set(channel, handler);
    this.subscriber.subscribe(channel).catch((err: unknown) => this.log.warn({ err, channel }, 'subscribe failed; retried on reconnect'));
  }

  async stop(channel: string): Promise<void> {
    this.handlers.delete(channel);
    await this.subscriber.unsubscribe(channel).catch(() => undefined);
  }
}
