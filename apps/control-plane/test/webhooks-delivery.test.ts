import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { DomainEvents } from '../src/events/domain-events.service.js';
import { DeliveryQueue } from '../src/webhooks/delivery-queue.service.js';
import { DeliveryStore } from '../src/webhooks/delivery-store.js';
import { WebhookDispatcher } from '../src/webhooks/webhook-dispatcher.service.js';
import { startHarness, type Harness } from './support/harness.js';
import { sleep, waitFor, WebhookReceiver } from './support/webhook-receiver.js';
import { deliveries, pendingStatementApproval, subscribe } from './support/webhooks.js';

type Verify = (secret: string, rawBody: string | Buffer, headers: Record<string, unknown>, toleranceSeconds?: number) => boolean;

/** The verifier as documented in README "Webhooks", loaded from the README itself. */
async function readmeVerifier(): Promise<Verify> {
  const readme = readFileSync(new URL('../../../README.md', import.meta.url), 'utf8');
  const block = /```js\n(\/\/ verify-gateway-webhook\.mjs[\s\S]*?)```/.exec(readme)?.[1];
  if (!block) throw new Error('README has no verify-gateway-webhook.mjs block');
  const file = join(mkdtempSync(join(tmpdir(), 'gw-verify-')), 'verify-gateway-webhook.mjs');
  writeFileSync(file, block);
  return ((await import(pathToFileURL(file).href)) as { verifyGatewayWebhook: Verify }).verifyGatewayWebhook;
}

describe('webhook delivery', () => {
  let h: Harness;
  let events: DomainEvents;
  const receivers: WebhookReceiver[] = [];
  const receiver = async (respond?: (n: number) => number | 'hang') => {
    const r = await WebhookReceiver.start(respond);
    receivers.push(r);
    return r;
  };

  beforeAll(async () => {
    h = await startHarness({
      WEBHOOK_MAX_ATTEMPTS: '5',
      WEBHOOK_BACKOFF_MS: '100',
      WEBHOOK_TIMEOUT_MS: '1000',
      WEBHOOK_SWEEP_INTERVAL_MS: '1000',
      PUBLIC_URL: 'https://gw.example.com',
    });
    events = h.app.get(DomainEvents);
  });
  afterEach(async () => {
    for (const r of receivers.splice(0)) await r.stop();
  });
  afterAll(async () => {
    await h?.close();
  });

  it('signs each delivery so that the README verifier accepts it and refuses a tampered body', async () => {
    const r = await receiver();
    const { id, secret } = await subscribe(h, { url: r.url, events: ['approval.requested'] });
    const approval = pendingStatementApproval();
    const event = await events.publish('approval.requested', { approval });
    await waitFor(() => r.calls.length === 1, 'the delivery');
    const [call] = r.calls;
    const verify = await readmeVerifier();

    expect(call!.headers['content-type']).toBe('application/json');
    expect(call!.headers['x-gateway-event']).toBe('approval.requested');
    expect(Math.abs(Number(call!.headers['x-gateway-timestamp']) - Date.now() / 1000)).toBeLessThan(60);
    expect(verify(secret, call!.body, call!.headers)).toBe(true);
    expect(verify(secret, Buffer.from(call!.body), call!.headers)).toBe(true);
    expect(verify(secret, call!.body.replace('postgres-demo', 'postgres-test'), call!.headers)).toBe(false);
    expect(verify('whsec_someone-elses-secret-000000', call!.body, call!.headers)).toBe(false);
    expect(verify(secret, call!.body, { ...call!.headers, 'x-gateway-timestamp': String(Number(call!.headers['x-gateway-timestamp']) - 1) })).toBe(false);

    const [delivery] = await deliveries(h, id);
    expect(call!.headers['x-gateway-delivery']).toBe(delivery.id);
    expect(call!.json).toEqual({
      id: delivery.id,
      event: { id: event.id, type: 'approval.requested', occurredAt: event.occurredAt, data: { approval } },
      summary: `http://127.0.0.1:9000#ai-agent asks to run a sql:delete statement on postgres-demo (decide before ${approval.expiresAt})`,
      links: {
        approve: `https://gw.example.com/api/v1/approvals/${approval.id}/approve`,
        deny: `https://gw.example.com/api/v1/approvals/${approval.id}/deny`,
        view: `https://gw.example.com/approvals/${approval.id}`,
        api: `https://gw.example.com/api/v1/approvals/${approval.id}`,
      },
    });
    expect(JSON.stringify(call!.headers)).not.toContain(secret);
  });

  it('a receiver failing three times (500, timeout, 503) then answering 200 gets 4 calls and exactly one delivered delivery', async () => {
    const answers: (number | 'hang')[] = [500, 'hang', 503, 200];
    const r = await receiver((n) => answers[n - 1] ?? 200);
    const { id } = await subscribe(h, { url: r.url, events: ['access_request.*'] });
    await events.publish('access_request.created', {
      accessRequest: { id: 'r-1', principalId: 'alice', resource: 'postgres-demo', role: 'dba', durationSeconds: 3600, reason: 'INC-7', status: 'pending' },
    });
    const [delivered] = await waitFor(async () => {
      const rows = await deliveries(h, id, 'delivered');
      return rows.length ? rows : undefined;
    }, 'the delivery to be marked delivered');
    expect(r.calls).toHaveLength(4);
    expect(new Set(r.calls.map((c) => c.headers['x-gateway-delivery']))).toEqual(new Set([delivered.id]));
    expect(r.calls.map((c) => c.headers['x-gateway-attempt'])).toEqual(['1', '2', '3', '4']);
    expect(new Set(r.calls.map((c) => JSON.stringify(c.json)))).toHaveLength(1);
    expect(delivered).toMatchObject({ status: 'delivered', attempts: 4, lastStatusCode: 200, lastError: null });
    expect(await deliveries(h, id)).toHaveLength(1);

    // Nothing more arrives: no retry of a delivered row, not even from a late duplicate job or event.
    await h.app.get(DeliveryQueue).enqueue([{ deliveryId: delivered.id, round: 0 }]);
    const event = (r.calls[0]!.json as { event: { id: string; type: 'access_request.created'; occurredAt: string; data: Record<string, unknown> } }).event;
    await h.app.get(WebhookDispatcher).dispatch(event);
    await sleep(1500);
    expect(r.calls).toHaveLength(4);
    expect(await deliveries(h, id)).toEqual([expect.objectContaining({ id: delivered.id, status: 'delivered', attempts: 4 })]);

    const metrics = await h.request('GET', '/metrics');
    expect(metrics.body).toMatch(/gw_webhook_delivery_attempts_total\{outcome="delivered"\} [1-9]/);
  });

  it('a receiver that always fails puts the delivery on the audited dead-letter list; redeliver sends it again', async () => {
    const r = await receiver(() => 503);
    const { id } = await subscribe(h, { url: r.url, events: ['grant.revoked'] });
    await events.publish('grant.revoked', { grant: { id: 'g-1', principalId: 'bob', resource: 'postgres-demo', role: 'reader', revokedBy: 'alice' } });
    const [dead] = await waitFor(async () => {
      const rows = await deliveries(h, id, 'dead');
      return rows.length ? rows : undefined;
    }, 'the dead letter');
    expect(r.calls).toHaveLength(5);
    expect(dead).toMatchObject({ eventType: 'grant.revoked', status: 'dead', attempts: 5, lastStatusCode: 503, lastError: 'HTTP 503: receiver says 503' });
    expect(await deliveries(h, id, 'delivered')).toEqual([]);
    const allDead = await h.request('GET', '/api/v1/webhooks/deliveries?status=dead', { token: await h.token('auditor') });
    expect(allDead.status).toBe(200);
    expect(allDead.body.items.map((d: { id: string }) => d.id)).toContain(dead.id);
    expect(allDead.body.items.every((d: { status: string }) => d.status === 'dead')).toBe(true);

    const admin = await h.token('security-admin');
    const audit = await h.request('GET', `/api/v1/audit/events?action=webhook.delivery.dead&resource=webhook:${id}`, { token: admin });
    expect(audit.body.items).toHaveLength(1);
    expect(audit.body.items[0]).toMatchObject({
      actorId: 'system:webhooks',
      outcome: 'failure',
      details: { deliveryId: dead.id, eventType: 'grant.revoked', attempts: 5, lastStatusCode: 503 },
    });
    await sleep(800);
    expect(r.calls).toHaveLength(5);

    r.respond = () => 204;
    const again = await h.request('POST', `/api/v1/webhooks/deliveries/${dead.id}/redeliver`, { token: admin });
    expect(again.status).toBe(202);
    expect(again.body).toMatchObject({ id: dead.id, status: 'pending', attempts: 0, redeliveries: 1 });
    await waitFor(async () => (await deliveries(h, id, 'delivered')).length === 1, 'the redelivery');
    expect(r.calls).toHaveLength(6);
    expect(r.calls[5]!.headers['x-gateway-delivery']).toBe(dead.id);
    expect(await deliveries(h, id, 'dead')).toEqual([]);
    const redelivered = await h.request('GET', `/api/v1/audit/events?action=webhook.delivery.redelivered&resource=webhook:${id}`, { token: admin });
    expect(redelivered.body.items[0].details).toMatchObject({ deliveryId: dead.id, previousStatus: 'dead' });
    expect((await h.request('GET', '/api/v1/audit/verify', { token: admin })).body.ok).toBe(true);
  });

  it('delivers each event only to subscriptions whose patterns match, and nothing to deleted ones', async () => {
    const [grants, requested, everything, deleted] = [await receiver(), await receiver(), await receiver(), await receiver()];
    const subGrants = await subscribe(h, { url: grants.url, events: ['grant.*'] });
    const subRequested = await subscribe(h, { url: requested.url, events: ['approval.requested'] });
    const subAll = await subscribe(h, { url: everything.url, events: ['*'] });
    const subDeleted = await subscribe(h, { url: deleted.url, events: ['*'] });
    await h.request('DELETE', `/api/v1/webhooks/${subDeleted.id}`, { token: await h.token('security-admin') });

    await events.publish('grant.created', { grant: { id: 'g', principalId: 'p', resource: 'r', role: 'reader' } });
    await events.publish('approval.decided', { approval: pendingStatementApproval({ status: 'approved' }) });
    await events.publish('approval.requested', { approval: pendingStatementApproval() });
    await events.publish('statement.held', { approval: pendingStatementApproval(), sessionId: 's' });

    // The rows exist as soon as publish returns.
    expect((await deliveries(h, subGrants.id)).map((d) => d.eventType)).toEqual(['grant.created']);
    expect((await deliveries(h, subRequested.id)).map((d) => d.eventType)).toEqual(['approval.requested']);
    expect((await deliveries(h, subAll.id)).map((d) => d.eventType).sort()).toEqual(['approval.decided', 'approval.requested', 'grant.created', 'statement.held']);
    expect(await deliveries(h, subDeleted.id)).toEqual([]);

    await waitFor(() => everything.calls.length === 4 && grants.calls.length === 1 && requested.calls.length === 1, 'all deliveries');
    await sleep(300);
    expect(grants.calls.map((c) => c.headers['x-gateway-event'])).toEqual(['grant.created']);
    expect(requested.calls.map((c) => c.headers['x-gateway-event'])).toEqual(['approval.requested']);
    expect(everything.calls).toHaveLength(4);
    expect(deleted.calls).toEqual([]);
    const decided = everything.calls.find((c) => c.headers['x-gateway-event'] === 'approval.decided')!;
    expect(Object.keys(decided.json.links)).toEqual(['view', 'api']);
  });

  it('deleting a subscription cancels its pending retries', async () => {
    const r = await receiver(() => 500);
    const { id } = await subscribe(h, { url: r.url, events: ['grant.expired'] });
    await events.publish('grant.expired', { grant: { id: 'g', principalId: 'p', resource: 'r', role: 'reader' } });
    await waitFor(() => r.calls.length >= 1, 'the first attempt');
    await h.request('DELETE', `/api/v1/webhooks/${id}`, { token: await h.token('security-admin') });
    const callsAtDelete = r.calls.length;
    await sleep(1500);
    expect(r.calls.length).toBeLessThanOrEqual(callsAtDelete + 1); // at most one attempt already in flight
    const [row] = await deliveries(h, id);
    expect(row.status).toBe('cancelled');
  });

  it('sends the Slack format: fallback text, blocks with the masked statement and approve/deny/view buttons', async () => {
    const r = await receiver();
    const { secret } = await subscribe(h, { url: r.url, events: ['statement.held'], format: 'slack' });
    const approval = pendingStatementApproval();
    await events.publish('statement.held', { approval, sessionId: approval.sessionId });
    await waitFor(() => r.calls.length === 1, 'the slack delivery');
    const body = r.calls[0]!.json as { text: string; blocks: any[] };
    expect(Object.keys(body).sort()).toEqual(['blocks', 'text']);
    expect(body.text).toBe("http://127.0.0.1:9000#ai-agent's sql:delete statement on postgres-demo is held until someone approves it");
    const texts = body.blocks.flatMap((b) => [b.text?.text, ...(b.fields ?? []).map((f: { text: string }) => f.text)]).filter(Boolean);
    expect(texts).toContain("```DELETE FROM customers WHERE email = 'a**@example.com'```");
    expect(texts).toContain('*Resource*\npostgres-demo');
    expect(texts).toContain('*Requested by*\nhttp://127.0.0.1:9000#ai-agent');
    expect(texts.some((t: string) => t.startsWith('*Expires*\n<!date^'))).toBe(true);
    const actions = body.blocks.find((b) => b.type === 'actions');
    expect(actions.elements.map((e: { url: string }) => e.url)).toEqual([
      `https://gw.example.com/approvals/${approval.id}?decide=approve`,
      `https://gw.example.com/approvals/${approval.id}?decide=deny`,
      `https://gw.example.com/approvals/${approval.id}`,
    ]);
    expect((await readmeVerifier())(secret, r.calls[0]!.body, r.calls[0]!.headers)).toBe(true);
  });

  it('sends a signed ping on POST /webhooks/:id/test', async () => {
    const r = await receiver();
    const { id, secret } = await subscribe(h, { url: r.url, events: ['grant.created'] });
    const res = await h.request('POST', `/api/v1/webhooks/${id}/test`, { token: await h.token('security-admin') });
    expect(res.status).toBe(202);
    expect(res.body).toMatchObject({ eventType: 'webhook.ping', status: 'pending' });
    await waitFor(() => r.calls.length === 1, 'the ping');
    expect(r.calls[0]!.headers['x-gateway-event']).toBe('webhook.ping');
    expect(r.calls[0]!.json).toMatchObject({ id: res.body.id, summary: `Test delivery for webhook subscription ${id}` });
    expect((await readmeVerifier())(secret, r.calls[0]!.body, r.calls[0]!.headers)).toBe(true);
  });

  it('does not follow redirects: a 3xx is a failed attempt', async () => {
    const r = await receiver(() => 302);
    const { id } = await subscribe(h, { url: r.url, events: ['grant.created'] });
    await events.publish('grant.created', { grant: { id: 'g', principalId: 'p', resource: 'r', role: 'reader' } });
    const [dead] = await waitFor(async () => {
      const rows = await deliveries(h, id, 'dead');
      return rows.length ? rows : undefined;
    }, 'the dead letter');
    expect(dead).toMatchObject({ lastStatusCode: 302, attempts: 5 });
    expect(dead.lastError).toMatch(/redirect .* not followed/);
  });

  it('queues a stored delivery that never reached Redis on the next sweep', async () => {
    const r = await receiver();
    const { id } = await subscribe(h, { url: r.url, events: ['grant.created'] });
    // What a publish during a Redis outage leaves behind: the row, without a job.
    const event = { id: crypto.randomUUID(), type: 'grant.created' as const, occurredAt: new Date().toISOString(), data: { grant: { id: 'g' } } };
    const [job] = await h.app.get(DeliveryStore).createDeliveries(event, [id]);
    await waitFor(() => r.calls.length === 1, 'the swept delivery');
    expect(r.calls[0]!.headers['x-gateway-delivery']).toBe(job!.deliveryId);
    await waitFor(async () => (await deliveries(h, id, 'delivered')).length === 1, 'delivered');
  });
});
