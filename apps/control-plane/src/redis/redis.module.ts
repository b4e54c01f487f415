import { Global, Inject, Module, type OnApplicationShutdown } from '@nestjs/common';
import { Redis } from 'ioredis';
import { APP_CONFIG } from '../config/config.module.js';
import type { AppConfig } from '../config/app-config.js';
import { loggerFor } from '../common/logger.js';
import { REDIS, REDIS_SUBSCRIBER } from './redis-tokens.js';
import { RedisChannels } from './redis-channels.js';

export { REDIS, REDIS_SUBSCRIBER, channels } from './redis-tokens.js';

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
    RedisChannels,
  ],
  exports: [REDIS, REDIS_SUBSCRIBER, RedisChannels],
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
