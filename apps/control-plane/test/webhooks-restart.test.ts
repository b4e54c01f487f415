import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DomainEvents } from '../src/events/domain-events.service.js';
import { DeliveryStore } from '../src/webhooks/delivery-store.js';
import { startHarness, type Harness } from './support/harness.js';
import { PrivateRedis } from './support/private-redis.js';
import { sleep, waitFor, WebhookReceiver } from './support/webhook-receiver.js';
import { deliveries, subscribe } from './support/webhooks.js';

/** The periodic sweep is effectively off here: only the queued job or the sweep at start can deliver. */
describe('webhook delivery across a control plane restart', () => {
  let h: Harness;
  let r: WebhookReceiver;
  beforeAll(async () => {
    h = await startHarness({ WEBHOOK_MAX_ATTEMPTS: '4', WEBHOOK_BACKOFF_MS: '1500', WEBHOOK_TIMEOUT_MS: '1000', WEBHOOK_SWEEP_INTERVAL_MS: '3600000' });
    r = await WebhookReceiver.start();
  });
  afterAll(async () => {
    await r?.stop();
    await h?.close();
  });

  it('a delivery waiting for its retry is delivered once by the restarted control plane', async () => {
    r.calls.length = 0;
    r.respond = (n) => (n === 1 ? 503 : 200);
    const { id } = await subscribe(h, { url: r.url, events: ['grant.created'] });
    await h.app.get(DomainEvents).publish('grant.created', { grant: { id: 'g-1', principalId: 'p', resource: 'postgres-demo', role: 'reader' } });
    await waitFor(() => r.calls.length === 1, 'the first, failed attempt');
    await h.restart();
    const [delivered] = await waitFor(async () => {
      const rows = await deliveries(h, id, 'delivered');
      return rows.length ? rows : undefined;
    }, 'delivery after the restart');
    expect(r.calls.map((c) => c.answeredWith)).toEqual([503, 200]);
    expect(r.calls.map((c) => c.headers['x-gateway-delivery'])).toEqual([delivered.id, delivered.id]);
    expect(delivered.attempts).toBe(2);
    await sleep(500);
    expect(r.calls).toHaveLength(2);
  });

  it('a delivery stored while its job never reached Redis is queued by the sweep at start', async () => {
    r.calls.length = 0;
    r.respond = () => 200;
    const { id } = await subscribe(h, { url: r.url, events: ['grant.created'] });
    const event = { id: randomUUID(), type: 'grant.created' as const, occurredAt: new Date().toISOString(), data: { grant: { id: 'g-2' } } };
    const [job] = await h.app.get(DeliveryStore).createDeliveries(event, [id]);
    await sleep(1000);
    expect(r.calls).toHaveLength(0); // no job, no periodic sweep: nothing moves before the restart
    await h.restart();
    await waitFor(() => r.calls.length === 1, 'the swept delivery');
    expect(r.calls[0]!.headers['x-gateway-delivery']).toBe(job!.deliveryId);
    await waitFor(async () => (await deliveries(h, id, 'delivered')).length === 1, 'delivered');
  });
});

describe('webhook delivery through a Redis outage', () => {
  let redis: PrivateRedis;
  let h: Harness;
  let r: WebhookReceiver;
  beforeAll(async () => {
    redis = await PrivateRedis.start();
    h = await startHarness({ REDIS_URL: redis.url, WEBHOOK_BACKOFF_MS: '100', WEBHOOK_SWEEP_INTERVAL_MS: '500' });
    r = await WebhookReceiver.start();
  });
  afterAll(async () => {
    await r?.stop();
    await h?.close();
    await redis?.down();
  });

  it('an event published while Redis is down is stored, the API answers, and it is delivered once Redis is back', async () => {
    const { id } = await subscribe(h, { url: r.url, events: ['approval.requested'] });
    await redis.down();
    const event = await h.app.get(DomainEvents).publish('approval.requested', { approval: { id: 'a-1', status: 'pending', resource: 'postgres-demo' } });
    const [pending] = await deliveries(h, id);
    expect(pending).toMatchObject({ eventId: event.id, status: 'pending', attempts: 0 });
    await sleep(700);
    expect(r.calls).toHaveLength(0);

    // A fresh, empty Redis: whatever the queue held is gone, the row is not.
    await redis.up();
    await waitFor(() => r.calls.length === 1, 'the delivery after Redis came back', 20_000);
    expect(r.calls[0]!.headers['x-gateway-delivery']).toBe(pending.id);
    await waitFor(async () => (await deliveries(h, id, 'delivered')).length === 1, 'delivered');
    await sleep(700);
    expect(r.calls).toHaveLength(1);
  });
});
