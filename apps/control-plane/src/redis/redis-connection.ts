import { createRequire } from 'node:module';
import { Redis, type RedisOptions } from 'ioredis';
import type * as StandaloneModule from 'ioredis/built/connectors/StandaloneConnector.js';
import type { AppConfig } from '../config/app-config.js';

type StandaloneConnectorCtor = typeof StandaloneModule.default.default;
const { default: StandaloneConnector } = createRequire(import.meta.url)('ioredis/built/connectors/StandaloneConnector.js') as {
  default: StandaloneConnectorCtor;
};

/**
 * ioredis listens for its socket's first error only (`once`). A TLS socket can emit a second one (the
 * server's alert after the client refused its certificate), which would then be an uncaught exception
 * and end the whole control plane. The first error still reaches ioredis (it reconnects as usual).
 */
// Redis passes its whole options object, which is what StandaloneConnector reads (ioredis types it unknown).
class GuardedConnector extends StandaloneConnector {
  override async connect(...args: Parameters<InstanceType<StandaloneConnectorCtor>['connect']>) {
    const stream = await super.connect(...args);
    stream.on('error', () => undefined);
    return stream;
  }
}

/**
 * Every Redis connection of the control plane (pub/sub, BullMQ queues and workers) is made here, so
 * that TLS (`rediss://`, REDIS_TLS_CA_FILE) and the ACL user in REDIS_URL apply to all of them.
 * Certificates are always verified; a private CA is trusted through REDIS_TLS_CA_FILE.
 */
export function redisConnectionOptions(config: AppConfig['redis']): RedisOptions {
  if (!config.tls) return {};
  return { tls: config.tlsCa ? { ca: config.tlsCa, rejectUnauthorized: true } : { rejectUnauthorized: true } };
}

export function createRedis(config: AppConfig['redis'], options: RedisOptions = {}): Redis {
  return new Redis(config.url, { ...redisConnectionOptions(config), Connector: GuardedConnector as unknown as RedisOptions['Connector'], ...options });
}

/**
 * For messages that must arrive now or never (a kill, a cancel): a command fails at once while
 * disconnected (no offline queue, no retries) and is never written again after a reconnect.
 */
export const PROMPT_PUBLISH_OPTIONS: RedisOptions = { lazyConnect: false, maxRetriesPerRequest: 0, enableOfflineQueue: false, autoResendUnfulfilledCommands: false };
