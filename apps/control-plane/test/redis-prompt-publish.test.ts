import { randomBytes } from 'node:crypto';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRedis, PROMPT_PUBLISH_OPTIONS } from '../src/redis/redis-connection.js';
import { RedisChannels } from '../src/redis/redis-channels.js';
import { ReplicaMessageSeal } from '../src/redis/replica-message-seal.js';
import { PrivateRedis } from './support/private-redis.js';

/**
 * A kill or cancel the API reported as failed (Redis down) must not be carried out later behind the
 * user's back: ioredis's offline queue would send it once Redis is back. The control case shows that
 * a queued connection does exactly that, so the test can tell the difference.
 */
const CHANNEL = 'gw-test:session:kill';

const ready = async (client: Redis) => {
  await expect.poll(() => client.status, { timeout: 15_000, interval: 50 }).toBe('ready');
};

async function publishesExecuted(client: Redis): Promise<number> {
  const stats = await client.info('commandstats');
  return Number(/cmdstat_publish:calls=(\d+)/.exec(stats)?.[1] ?? 0);
}

describe('publishNowOrNever: refused while Redis is down, and never sent afterwards', () => {
  let redis: PrivateRedis;
  const clients: Redis[] = [];
  const open = (options: Parameters<typeof createRedis>[1]) => {
    const c = createRedis({ url: redis.url, tls: false, prefix: 'gw-test' } as Parameters<typeof createRedis>[0], { ...options, retryStrategy: () => 100 });
    c.on('error', () => undefined);
    clients.push(c);
    return c;
  };

  beforeAll(async () => {
    redis = await PrivateRedis.start();
  });
  afterAll(async () => {
    for (const c of clients) c.disconnect();
    await redis?.down();
  });

  it('rejects at once while disconnected; after Redis returns, only the queued control message is sent', async () => {
    const key = randomBytes(32);
    const subscriber = open({ maxRetriesPerRequest: null });
    const queued = open({ maxRetriesPerRequest: null, enableOfflineQueue: true });
    const prompt = open(PROMPT_PUBLISH_OPTIONS);
    const channels = new RedisChannels(subscriber, queued, new ReplicaMessageSeal(key, { maxSkewMs: 30_000 }), prompt);
    const received: string[] = [];
    channels.listen(CHANNEL, (body) => received.push(body));
    await Promise.all([ready(subscriber), ready(queued), ready(prompt)]);
    await expect.poll(async () => Number((await queued.pubsub('NUMSUB', CHANNEL))[1]), { timeout: 5000 }).toBe(1);

    await redis.down();
    await expect.poll(() => prompt.status, { timeout: 5000 }).not.toBe('ready');
    await expect(channels.publishNowOrNever(CHANNEL, 'refused kill')).rejects.toThrow(/not connected/);
    // The control: an ordinary publish waits in the offline queue.
    const late = channels.publish(CHANNEL, 'queued message');

    await redis.up();
    // The restarted server counts every PUBLISH it executes: the queued one arrives, the refused one never.
    await late;
    await Promise.all([ready(subscriber), ready(prompt)]);
    await new Promise((r) => setTimeout(r, 1000));
    expect(await publishesExecuted(queued)).toBe(1);

    await expect.poll(async () => Number((await queued.pubsub('NUMSUB', CHANNEL))[1]), { timeout: 5000 }).toBe(1);
    await channels.publishNowOrNever(CHANNEL, 'kill after recovery');
    await expect.poll(() => received, { timeout: 5000 }).toContain('kill after recovery');
    expect(await publishesExecuted(queued)).toBe(2);
    expect(received).not.toContain('refused kill');
  });
});
