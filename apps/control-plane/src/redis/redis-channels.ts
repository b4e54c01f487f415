import { Inject, Injectable } from '@nestjs/common';
import type { Redis } from 'ioredis';
import { loggerFor } from '../common/logger.js';
import { REDIS, REDIS_PROMPT_PUBLISHER, REDIS_SUBSCRIBER, REPLICA_MESSAGE_SEAL } from './redis-tokens.js';
import type { ReplicaMessageSeal } from './replica-message-seal.js';

/** A flood of forged messages must not become a flood of log lines. */
const DROP_LOG_INTERVAL_MS = 10_000;

/**
 * One dispatcher for the Redis pub/sub messages replicas send each other (policy activated, agent
 * revoked, session kill, Postgres cancel, domain events). Every message is sealed on `publish` and
 * checked before any handler sees it: unsigned, forged, moved, stale and replayed messages are
 * dropped and logged. A handler that throws on a malformed message is logged, never allowed to take
 * the process down.
 */
@Injectable()
export class RedisChannels {
  private readonly log = loggerFor(RedisChannels);
  private readonly handlers = new Map<string, (message: string) => void>();
  private readonly drops = new Map<string, { count: number; lastLogged: number }>();
  private readonly droppedTotals = new Map<string, number>();

  constructor(
    @Inject(REDIS_SUBSCRIBER) private readonly subscriber: Redis,
    @Inject(REDIS) private readonly publisher: Redis,
    @Inject(REPLICA_MESSAGE_SEAL) private readonly seal: ReplicaMessageSeal,
    @Inject(REDIS_PROMPT_PUBLISHER) private readonly promptPublisher: Redis,
  ) {
    subscriber.on('message', (channel: string, message: string) => this.dispatch(channel, message));
  }

  /** Seals `body` for `channel` and publishes it to every replica (this one included). */
  async publish(channel: string, body: string): Promise<void> {
    await this.publisher.publish(channel, this.seal.seal(channel, body));
  }

  /**
   * Like `publish`, for messages whose caller reports failure to a user (a kill, a cancel): rejects at
   * once while Redis is unreachable, and a message it rejected is never sent later from a queue.
   */
  async publishNowOrNever(channel: string, body: string): Promise<void> {
    if (this.promptPublisher.status !== 'ready') throw new Error(`Redis is not connected (${this.promptPublisher.status})`);
    await this.promptPublisher.publish(channel, this.seal.seal(channel, body));
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

  /** How many messages on `channel` were dropped as not validly sealed since start (for operators and tests). */
  dropped(channel: string): number {
    return this.droppedTotals.get(channel) ?? 0;
  }

  private dispatch(channel: string, message: string): void {
    const handler = this.handlers.get(channel);
    if (!handler) return;
    const opened = this.seal.open(channel, message);
    if (!opened.ok) {
      this.logDrop(channel, opened.reason);
      return;
    }
    try {
      handler(opened.body);
    } catch (err) {
      this.log.warn({ err, channel }, 'could not handle a pub/sub message');
    }
  }

  private logDrop(channel: string, reason: string): void {
    this.droppedTotals.set(channel, this.dropped(channel) + 1);
    const now = Date.now();
    const entry = this.drops.get(channel) ?? { count: 0, lastLogged: 0 };
    entry.count += 1;
    this.drops.set(channel, entry);
    if (now - entry.lastLogged < DROP_LOG_INTERVAL_MS) return;
    this.log.warn({ channel, reason, droppedSinceLastLog: entry.count }, 'dropped a replica message that is not validly sealed (forged, replayed, stale or from a replica with another key)');
    entry.lastLogged = now;
    entry.count = 0;
  }
}
