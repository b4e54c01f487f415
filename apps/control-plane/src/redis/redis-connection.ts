import { Redis, type RedisOptions } from 'ioredis';
import type { AppConfig } from '../config/app-config.js';

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
  return new Redis(config.url, { ...redisConnectionOptions(config), ...options });
}
