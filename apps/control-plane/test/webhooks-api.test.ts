import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHarness, type Harness } from './support/harness.js';

const NO_SUCH_ID = '00000000-0000-4000-8000-000000000000';

describe('webhook subscriptions API', () => {
  let h: Harness;
  let admin: string;
  beforeAll(async () => {
    h = await startHarness();
    admin = await h.token('security-admin');
  });
  afterAll(async () => {
    await h?.close();
  });

  const create = (body: unknown, token = admin) => h.request('POST', '/api/v1/webhooks', { token, body });

  it('creates a subscription and shows the generated secret and full URL only in that answer', async () => {
    const url = 'https://hooks.slack.com/services/T0001/B0001/very-secret-path';
    const res = await create({ url, events: ['approval.*', 'grant.created', 'approval.*'], format: 'slack', description: 'security channel' });
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({ url, events: ['approval.*', 'grant.created'], format: 'slack', status: 'active', description: 'security channel' });
    expect(res.body.secret).toMatch(/^whsec_[A-Za-z0-9_-]{43}$/);
    const { id, secret } = res.body;

    const one = await h.request('GET', `/api/v1/webhooks/${id}`, { token: admin });
    expect(one.status).toBe(200);
    expect(one.body).toMatchObject({ id, url: 'https://hooks.slack.com/…', format: 'slack', status: 'active' });
    const list = await h.request('GET', '/api/v1/webhooks', { token: await h.token('auditor') });
    expect(list.status).toBe(200);
    expect(list.body.items.map((w: { id: string }) => w.id)).toContain(id);
    for (const body of [one.body, list.body]) {
      const text = JSON.stringify(body);
      expect(text).not.toContain(secret);
      expect(text).not.toContain('very-secret-path');
      expect(text).not.toMatch(/"secret"/);
    }
  });

  it('keeps a secret given by the caller, returned once', async () => {
    const secret = 'my-own-secret-of-32-characters!!';
    const res = await create({ url: 'http://10.1.2.3:8080/hook', events: ['*'], secret });
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({ secret, format: 'json', url: 'http://10.1.2.3:8080/hook' });
  });

  it('refuses bad input with a message per field', async () => {
    const cases: [unknown, string, RegExp][] = [
      [{ url: 'ftp://example.com/x', events: ['*'] }, 'url', /http and https/],
      [{ url: 'https://u:p@example.com/', events: ['*'] }, 'url', /credentials/],
      [{ url: 'not a url', events: ['*'] }, 'url', /valid absolute URL/],
      [{ url: 'https://example.com/', events: ['approval.requested', 'approval.bogus'] }, 'events.1', /approval\.\*/],
      [{ url: 'https://example.com/', events: [] }, 'events', /at least one/],
      [{ url: 'https://example.com/', events: ['*'], format: 'xml' }, 'format', /json|slack/],
      [{ url: 'https://example.com/', events: ['*'], secret: 'short' }, 'secret', /24/],
      [{ url: 'https://example.com/', events: ['*'], enabled: true }, '(body)', /unknown field\(s\): enabled/],
      [{ events: ['*'] }, 'url', /.+/],
    ];
    for (const [body, path, message] of cases) {
      const res = await create(body);
      expect(res.status, JSON.stringify(body)).toBe(400);
      expect(res.body.error).toBe('validation_failed');
      const field = (res.body.fields as { path: string; message: string }[]).find((f) => f.path === path);
      expect(field, `${JSON.stringify(body)} -> ${JSON.stringify(res.body.fields)}`).toBeDefined();
      expect(field!.message).toMatch(message);
    }
    const list = await h.request('GET', '/api/v1/webhooks', { token: admin });
    expect(JSON.stringify(list.body)).not.toContain('ftp://');
  });

  it('lets only admins write, and admins and auditors read', async () => {
    const { body: created } = await create({ url: 'https://example.com/hook', events: ['*'] });
    const writes = [
      () => ['POST', '/api/v1/webhooks', { url: 'https://example.com/', events: ['*'] }] as const,
      () => ['DELETE', `/api/v1/webhooks/${created.id}`, undefined] as const,
      () => ['POST', `/api/v1/webhooks/${created.id}/test`, undefined] as const,
      () => ['POST', `/api/v1/webhooks/deliveries/${NO_SUCH_ID}/redeliver`, undefined] as const,
    ];
    const reads = [`/api/v1/webhooks`, `/api/v1/webhooks/${created.id}`, `/api/v1/webhooks/${created.id}/deliveries`, `/api/v1/webhooks/deliveries`];
    for (const client of ['approver', 'ai-agent', 'auditor']) {
      const token = await h.token(client);
      for (const write of writes) {
        const [method, path, body] = write();
        const res = await h.request(method, path, { token, body });
        expect(res.status, `${client} ${method} ${path}`).toBe(403);
      }
      for (const path of reads) {
        const res = await h.request('GET', path, { token });
        expect(res.status, `${client} GET ${path}`).toBe(client === 'auditor' ? 200 : 403);
      }
    }
    expect((await h.request('GET', '/api/v1/webhooks', {})).status).toBe(401);
    expect((await h.request('GET', `/api/v1/webhooks/${created.id}`, { token: admin })).body.status).toBe('active');
  });

  it('deletes: the subscription shows as deleted, drops out of the default list, and both changes are audited', async () => {
    const { body: created } = await create({ url: 'https://example.com/hook', events: ['grant.*'] });
    const del = await h.request('DELETE', `/api/v1/webhooks/${created.id}`, { token: admin });
    expect(del.status).toBe(200);
    expect(del.body).toMatchObject({ id: created.id, status: 'deleted' });
    expect(del.body.deletedAt).toBeTruthy();
    const again = await h.request('DELETE', `/api/v1/webhooks/${created.id}`, { token: admin });
    expect(again.body.deletedAt).toBe(del.body.deletedAt);

    const active = await h.request('GET', '/api/v1/webhooks', { token: admin });
    expect(active.body.items.map((w: { id: string }) => w.id)).not.toContain(created.id);
    const all = await h.request('GET', '/api/v1/webhooks?includeDeleted=true', { token: admin });
    expect(all.body.items.find((w: { id: string }) => w.id === created.id)).toMatchObject({ status: 'deleted' });
    expect((await h.request('POST', `/api/v1/webhooks/${created.id}/test`, { token: admin })).status).toBe(409);

    for (const action of ['webhook.subscription.created', 'webhook.subscription.deleted']) {
      const audit = await h.request('GET', `/api/v1/audit/events?action=${action}&resource=webhook:${created.id}`, { token: admin });
      expect(audit.body.items, action).toHaveLength(1);
      expect(audit.body.items[0]).toMatchObject({ outcome: 'success', actor: { gatewayRoles: ['admin'] } });
      expect(JSON.stringify(audit.body.items[0])).not.toContain('whsec_');
    }
    expect((await h.request('GET', '/api/v1/audit/verify', { token: admin })).body.ok).toBe(true);
  });

  it('answers 404 for unknown ids and 400 for malformed ones', async () => {
    expect((await h.request('GET', `/api/v1/webhooks/${NO_SUCH_ID}`, { token: admin })).status).toBe(404);
    expect((await h.request('GET', `/api/v1/webhooks/${NO_SUCH_ID}/deliveries`, { token: admin })).status).toBe(404);
    expect((await h.request('POST', `/api/v1/webhooks/deliveries/${NO_SUCH_ID}/redeliver`, { token: admin })).status).toBe(404);
    expect((await h.request('GET', '/api/v1/webhooks/not-a-uuid', { token: admin })).status).toBe(400);
    const badQuery = await h.request('GET', `/api/v1/webhooks/${NO_SUCH_ID}/deliveries?status=lost`, { token: admin });
    expect(badQuery.status).toBe(400);
  });
});
