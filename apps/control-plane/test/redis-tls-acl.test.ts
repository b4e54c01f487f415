import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig, redactedConfig, ConfigError } from '../src/config/app-config.js';
import { DomainEvents } from '../src/events/domain-events.service.js';
import type { DomainEvent } from '../src/events/domain-event.js';
import { startHarness, type Harness } from './support/harness.js';
import { startTlsAclRedis, type TlsAclRedis } from './support/tls-acl-redis.js';

describe('REDIS_URL with rediss:// (TLS, private CA) and an ACL user', () => {
  let redis: TlsAclRedis;
  let h: Harness | undefined;

  beforeAll(async () => {
    redis = await startTlsAclRedis();
  }, 30_000);
  afterAll(async () => {
    await h?.close();
    await redis?.stop();
  });

  const url = (password = redis.password, user = redis.user) => `rediss://${user}:${encodeURIComponent(password)}@127.0.0.1:${redis.port}`;

  it('every connection (pub/sub, BullMQ queues and workers) uses TLS and the ACL user; sealed events flow', async () => {
    h = await startHarness({ REDIS_URL: url(), REDIS_TLS_CA_FILE: redis.caFile });
    await expect.poll(async () => (await h!.request('GET', '/readyz')).status, { timeout: 10_000 }).toBe(200);
    const seen: DomainEvent[] = [];
    const unsubscribe = h.app.get(DomainEvents).subscribe((e) => seen.push(e));
    const event = await h.app.get(DomainEvents).publish('grant.created', { grant: { id: 'g' } });
    await expect.poll(() => seen.some((e) => e.id === event.id), { timeout: 5000 }).toBe(true);
    unsubscribe();
    // The server has no plain port: every client it lists came over TLS, and each is the ACL user.
    const admin = new Redis(url(), { tls: { ca: (await import('node:fs')).readFileSync(redis.caFile, 'utf8') } });
    const clients = (await admin.client('LIST')) as string;
    admin.disconnect();
    const users = clients.trim().split('\n').map((line) => /\buser=(\S+)/.exec(line)?.[1]);
    // pub, sub, jobs queue + worker, webhook queue + worker, and ours.
    expect(users.length).toBeGreaterThanOrEqual(5);
    expect(new Set(users)).toEqual(new Set(['gw']));
  }, 60_000);

  it.each([
    ['a wrong password', () => ({ REDIS_URL: url('not-the-password'), REDIS_TLS_CA_FILE: redis.caFile })],
    ['the default user (no ACL user)', () => ({ REDIS_URL: `rediss://127.0.0.1:${redis.port}`, REDIS_TLS_CA_FILE: redis.caFile })],
    ['a CA that did not sign the server', () => ({ REDIS_URL: url(), REDIS_TLS_CA_FILE: redis.otherCaFile })],
    ['no CA (the system store does not trust the test CA)', () => ({ REDIS_URL: url() })],
    ['plain redis:// to a TLS-only server', () => ({ REDIS_URL: url().replace('rediss://', 'redis://') })],
  ])('refuses to become ready with %s', async (_name, env) => {
    const bad = await startHarness(env());
    try {
      await new Promise((r) => setTimeout(r, 1500));
      expect((await bad.request('GET', '/readyz')).status).toBe(503);
    } finally {
      await bad.close();
    }
  }, 60_000);
});

describe('Redis settings are checked at boot and the password never reaches the logs', () => {
  it.each([
    ['http://127.0.0.1:6379', /REDIS_URL must start with redis:\/\/ or rediss:\/\//],
    ['unix:///tmp/redis.sock', /REDIS_URL must start with redis:\/\/ or rediss:\/\//],
    ['127.0.0.1:6379', /REDIS_URL/],
  ])('REDIS_URL=%s is refused', (value, message) => {
    expect(() => loadConfig({ REDIS_URL: value })).toThrow(message);
  });

  it('REDIS_TLS_CA_FILE needs rediss:// and a readable file, and says which variable is wrong', () => {
    expect(() => loadConfig({ REDIS_URL: 'redis://127.0.0.1:6379', REDIS_TLS_CA_FILE: '/etc/hostname' })).toThrow(ConfigError);
    expect(() => loadConfig({ REDIS_URL: 'redis://127.0.0.1:6379', REDIS_TLS_CA_FILE: '/etc/hostname' })).toThrow(/REDIS_TLS_CA_FILE.*rediss/);
    expect(() => loadConfig({ REDIS_URL: 'rediss://127.0.0.1:6379', REDIS_TLS_CA_FILE: '/nonexistent/ca.pem' })).toThrow(/REDIS_TLS_CA_FILE: cannot read/);
  });

  it.each([
    ['rediss://gw:s3cr3t-Pass@redis.internal:6380', 'gw'],
    ['redis://:s3cr3t-Pass@127.0.0.1:6379', ''],
    ['rediss://user.name:s3cr3t-Pass@10.0.0.1:6380/2', 'user.name'],
    ['redis://gw:s3cr3t%40Pass@127.0.0.1:6379', 'gw'],
  ])('the password of %s is redacted in the logged config', (redisUrl, user) => {
    const text = JSON.stringify(redactedConfig(loadConfig({ REDIS_URL: redisUrl })));
    expect(text).not.toMatch(/s3cr3t/);
    expect(text).toContain(`//${user}:***@`);
  });
});
