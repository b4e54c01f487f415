import { Global, Inject, Module, type OnApplicationShutdown } from '@nestjs/common';
import { Redis } from 'ioredis';
import { APP_CONFIG } from '../config/config.module.js';
import type { AppConfig } from '../config/app-config.js';
import { loggerFor } from '../common/logger.js';

export const REDIS = Symbol('REDIS');
/** A second connection: a subscribed ioredis client cannot issue other commands. */
export const REDIS_SUBSCRIBER = Symbol('REDIS_SUBSCRIBER');

const log = loggerFor('redis');

function connect(config: AppConfig): Redis {
  const client = new Redis(config.redis.url, { lazyConnect: false, maxRetriesPerRequest: 3, enableOfflineQueue: true });
  let lastLogged = 0;
  client.on('error', (err: Error) => {
    // ioredis retries by itself; log at most every 10 s instead of once per attempt.
    if (Date.now() - lastLogged > 10_000) {
      lastLogged = Date.now();
      log.warn({ err: err.message }, 'redis connection error');
    }
  });
  return client;
}

@Global()
@Module({
  providers: [
    { provide: REDIS, inject: [APP_CONFIG], useFactory: connect },
    { provide: REDIS_SUBSCRIBER, inject: [APP_CONFIG], useFactory: connect },
  ],
  exports: [REDIS, REDIS_SUBSCRIBER],
})
export class RedisModule implements OnApplicationShutdown {
  constructor(
    @Inject(REDIS) private readonly redis: Redis,
    @Inject(REDIS_SUBSCRIBER) private readonly subscriber: Redis,
  ) {}

  onApplicationShutdown(): void {
    this.redis.disconnect();
    this.subscriber.disconnect();
  }
}

/** Channel names, prefixed so several gateways can share one Redis. */
export const channels = (prefix: string) => ({
  policyActivated: `${prefix}:policy:activated`,
  agentRevoked: `${prefix}:agent:revoked`,
  sessionKill: `${prefix}:session:kill`,
});
