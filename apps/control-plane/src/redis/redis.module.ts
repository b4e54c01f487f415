import { Global, Inject, Module, type OnApplicationShutdown } from '@nestjs/common';
import type { Redis } from 'ioredis';
import { DataSource } from 'typeorm';
import { APP_CONFIG } from '../config/config.module.js';
import type { AppConfig } from '../config/app-config.js';
import { loggerFor } from '../common/logger.js';
import { REDIS, REDIS_PROMPT_PUBLISHER, REDIS_SUBSCRIBER, REPLICA_MESSAGE_SEAL } from './redis-tokens.js';
import { RedisChannels } from './redis-channels.js';
import { createRedis, PROMPT_PUBLISH_OPTIONS } from './redis-connection.js';
import { loadOrCreateReplicaMessageKey } from './replica-message-key.js';
import { ReplicaMessageSeal } from './replica-message-seal.js';

export { REDIS, REDIS_SUBSCRIBER, channels } from './redis-tokens.js';

const log = loggerFor('redis');

function connect(config: AppConfig): Redis {
  return logErrors(createRedis(config.redis, { lazyConnect: false, maxRetriesPerRequest: 3, enableOfflineQueue: true }));
}

function connectPrompt(config: AppConfig): Redis {
  return logErrors(createRedis(config.redis, PROMPT_PUBLISH_OPTIONS));
}

function logErrors(client: Redis): Redis {
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
    { provide: REDIS_PROMPT_PUBLISHER, inject: [APP_CONFIG], useFactory: connectPrompt },
    {
      provide: REPLICA_MESSAGE_SEAL,
      inject: [DataSource, APP_CONFIG],
      useFactory: async (dataSource: DataSource, config: AppConfig) =>
        new ReplicaMessageSeal(await loadOrCreateReplicaMessageKey(dataSource), { maxSkewMs: config.redis.messageMaxSkewMs }),
    },
    RedisChannels,
  ],
  exports: [REDIS, REDIS_SUBSCRIBER, RedisChannels],
})
export class RedisModule implements OnApplicationShutdown {
  constructor(
    @Inject(REDIS) private readonly redis: Redis,
    @Inject(REDIS_SUBSCRIBER) private readonly subscriber: Redis,
    @Inject(REDIS_PROMPT_PUBLISHER) private readonly promptPublisher: Redis,
  ) {}

  onApplicationShutdown(): void {
    this.redis.disconnect();
    this.subscriber.disconnect();
    this.promptPublisher.disconnect();
  }
}
