import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ACCESS_TIMERS_QUEUE } from '../src/jobs/job-catalogue.js';
import { connectFakeAgent } from './support/fake-agent.js';
import { startHarness, type Harness } from './support/harness.js';
import { PrivateRedis } from './support/private-redis.js';

const POLICY = `
@id("admins") permit (principal, action, resource) when { principal.gatewayRoles.contains("admin") && action != Gateway::Action::"request_access" };
@id("dev-self-service") permit (principal, action == Gateway::Action::"request_access", resource)
  when { principal.gatewayRoles.contains("requester") && resource.hasTag("env") && resource.getTag("env") == "dev" };
`;

/** A Redis restart without persistence loses every queued job; the workers put them back from the database. */
describe('background jobs across a Redis restart', () => {
  let redis: PrivateRedis;
  let h: Harness;
  let queue: Queue;
  let queueRedis: Redis;
  let closeAgent: () => void;
  let agentToken: string;

  const askForGrant = async (): Promise<string> => {
    const res = await h.request('POST', '/api/v1/access-requests', { token: agentToken, body: { resource: 'pg-dev', role: 'app_rw', duration: '30m', reason: 'nightly maintenance' } });
    expect(res.status).toBe(201);
    return res.body.grant.id as string;
  };
  const job = async (grantId: string) => (await queue.getJob(`grant-expiry-${grantId}`)) ?? null;

  beforeAll(async () => {
    redis = await PrivateRedis.start();
    h = await startHarness({ REDIS_URL: redis.url, JOB_RECONCILE_INTERVAL_MS: '500' });
    const admin = await h.token('security-admin');
    agentToken = await h.token('ai-agent');
    const reg = await h.request('POST', '/api/v1/agents', { token: admin, body: { name: 'edge-jobs' } });
    closeAgent = (await connectFakeAgent(h.baseUrl, { credential: reg.body.credential }, [{ name: 'pg-dev', type: 'postgres', labels: { env: 'dev' } }])).close;
    expect((await h.request('POST', '/api/v1/policies', { token: admin, body: { text: POLICY, activate: true } })).status).toBe(201);
    queueRedis = new Redis(redis.url, { maxRetriesPerRequest: null });
    queueRedis.on('error', () => undefined);
    queue = new Queue(ACCESS_TIMERS_QUEUE, { connection: queueRedis, prefix: `${h.config.redis.prefix}:bull` });
  });
  afterAll(async () => {
    await queue?.close();
    queueRedis?.disconnect();
    closeAgent?.();
    await h?.close();
    await redis?.down();
  });

  it('a grant-expiry job lost with Redis is queued again, and a grant that fell due meanwhile is expired', async () => {
    const pending = await askForGrant();
    const overdue = await askForGrant();
    expect(await job(pending)).not.toBeNull();

    await redis.down();
    // While Redis is away, the second grant's time passes (its job is gone with Redis).
    const db = new pg.Client({ connectionString: h.dbUrl });
    db.on('error', () => undefined);
    await db.connect();
    await db.query(`UPDATE grants SET starts_at = now() - interval '2 seconds', expires_at = now() - interval '1 second' WHERE id = $1`, [overdue]);
    await db.end();
    await redis.up();

    await expect.poll(() => job(pending), { timeout: 15_000 }).not.toBeNull();
    const admin = await h.token('security-admin');
    await expect.poll(async () => (await h.request('GET', `/api/v1/grants/${overdue}`, { token: admin })).body.state, { timeout: 15_000 }).toBe('expired');
    expect((await h.request('GET', `/api/v1/grants/${pending}`, { token: admin })).body.state).toBe('active');
  });
});
