import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHarness, type Harness } from './support/harness.js';

/** Which demo clients (and so which gateway roles) may call each route. */
/** Demo clients and the gateway role each maps to: security-admin=admin, approver, auditor, ai-agent=requester. */
type Client = 'security-admin' | 'approver' | 'auditor' | 'ai-agent';
const ALL: Client[] = ['security-admin', 'approver', 'auditor', 'ai-agent'];

const routes: { method: string; path: string; body?: unknown; allowed: Client[] }[] = [
  { method: 'GET', path: '/api/v1/whoami', allowed: ALL },
  { method: 'GET', path: '/api/v1/resources', allowed: ALL },
  { method: 'GET', path: '/api/v1/agents', allowed: ['security-admin', 'auditor'] },
  { method: 'POST', path: '/api/v1/agents', body: { name: 'x' }, allowed: ['security-admin'] },
  { method: 'DELETE', path: '/api/v1/agents/00000000-0000-4000-8000-000000000000', allowed: ['security-admin'] },
  { method: 'GET', path: '/api/v1/policies', allowed: ['security-admin', 'auditor'] },
  { method: 'GET', path: '/api/v1/policies/active', allowed: ['security-admin', 'auditor'] },
  { method: 'GET', path: '/api/v1/policies/1', allowed: ['security-admin', 'auditor'] },
  { method: 'POST', path: '/api/v1/policies', body: {}, allowed: ['security-admin'] },
  { method: 'POST', path: '/api/v1/policies/validate', body: {}, allowed: ['security-admin', 'auditor'] },
  { method: 'POST', path: '/api/v1/policies/dry-run', body: {}, allowed: ['security-admin', 'auditor'] },
  { method: 'POST', path: '/api/v1/policies/1/activate', allowed: ['security-admin'] },
  { method: 'GET', path: '/api/v1/audit/events', allowed: ['security-admin', 'auditor'] },
  { method: 'GET', path: '/api/v1/audit/verify', allowed: ['security-admin', 'auditor'] },
  { method: 'GET', path: '/api/v1/sessions', allowed: ['security-admin', 'auditor'] },
  { method: 'GET', path: '/api/v1/sessions/00000000-0000-4000-8000-000000000000', allowed: ['security-admin', 'auditor'] },
  { method: 'POST', path: '/api/v1/sessions/00000000-0000-4000-8000-000000000000/kill', allowed: ['security-admin'] },
  { method: 'POST', path: '/api/v1/access-requests', body: {}, allowed: ALL },
  { method: 'GET', path: '/api/v1/access-requests', allowed: ALL },
  { method: 'GET', path: '/api/v1/grants', allowed: ALL },
  { method: 'GET', path: '/api/v1/grants/00000000-0000-4000-8000-000000000000', allowed: ALL },
  { method: 'DELETE', path: '/api/v1/grants/00000000-0000-4000-8000-000000000000', allowed: ALL },
  { method: 'GET', path: '/api/v1/approvals?status=pending', allowed: ALL },
  { method: 'GET', path: '/api/v1/approvals/00000000-0000-4000-8000-000000000000', allowed: ALL },
  { method: 'POST', path: '/api/v1/approvals/00000000-0000-4000-8000-000000000000/approve', body: {}, allowed: ['security-admin', 'approver'] },
  { method: 'POST', path: '/api/v1/approvals/00000000-0000-4000-8000-000000000000/deny', body: {}, allowed: ['security-admin', 'approver'] },
];

describe('role checks on every route', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness();
  });
  afterAll(async () => {
    await h?.close();
  });

  for (const route of routes) {
    it(`${route.method} ${route.path}: 401 without a token, 403 for roles not allowed`, async () => {
      const anonymous = await h.request(route.method, route.path, { body: route.body });
      expect(anonymous.status).toBe(401);
      expect(anonymous.headers.get('www-authenticate')).toMatch(/^Bearer realm="gateway"/);
      for (const client of ALL) {
        const res = await h.request(route.method, route.path, { token: await h.token(client), body: route.body });
        if (route.allowed.includes(client)) expect([200, 201, 400, 404, 409], `${client} ${res.status}`).toContain(res.status);
        else {
          expect(res.status, `${client} should be refused`).toBe(403);
          expect(res.body.error).toBe('forbidden');
        }
      }
    });
  }

  it('every documented API route refuses an anonymous caller', async () => {
    const doc = (await h.request('GET', '/api/docs-json')).body as { paths: Record<string, Record<string, unknown>> };
    const apiPaths = Object.entries(doc.paths).filter(([p]) => p.startsWith('/api/v1'));
    expect(apiPaths.length).toBeGreaterThanOrEqual(routes.length - 2);
    for (const [path, ops] of apiPaths) {
      for (const method of Object.keys(ops)) {
        const concrete = path.replace(/\{[^}]+\}/g, (m) => (m.includes('id') ? '00000000-0000-4000-8000-000000000000' : '1'));
        const res = await h.request(method.toUpperCase(), concrete, { body: method === 'get' ? undefined : {} });
        expect(res.status, `${method} ${path}`).toBe(401);
      }
    }
  });

  it('whoami maps Entra-like claims of a dev token to the principal', async () => {
    const res = await h.request('GET', '/api/v1/whoami', { token: await h.token('ai-agent') });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ kind: 'workload', appId: 'ai-agent', gatewayRoles: ['requester'] });
    expect(res.body.tenantId).toMatch(/^[0-9a-f-]{36}$/);
    expect(res.body.tokenId).toBeTruthy();
  });

  it('a refused token gets 401 with a reason and lands in the audit trail without the token', async () => {
    const good = await h.token('ai-agent');
    const [head, payload, sig] = good.split('.');
    const tampered = `${head}.${payload}x.${sig}`;
    const res = await h.request('GET', '/api/v1/whoami', { token: tampered });
    expect(res.status).toBe(401);
    expect(res.headers.get('www-authenticate')).toContain('error="invalid_token"');
    expect(res.body.reason).toBeTruthy();
    const audit = await h.request('GET', '/api/v1/audit/events?action=auth.token_refused', { token: await h.token('auditor') });
    expect(audit.body.items.length).toBeGreaterThan(0);
    expect(JSON.stringify(audit.body)).not.toContain(tampered);
  });

  it('bad payloads get 400 with field-level messages and unknown fields are rejected', async () => {
    const admin = await h.token('security-admin');
    const res = await h.request('POST', '/api/v1/agents', { token: admin, body: { name: 'Bad Name!', extra: 1 } });
    expect(res.status).toBe(400);
    expect(res.body.error).toBe('validation_failed');
    const paths = res.body.fields.map((f: { path: string }) => f.path);
    expect(paths).toContain('name');
    expect(JSON.stringify(res.body.fields)).toContain('extra');
    const notJson = await h.request('POST', '/api/v1/agents', { token: admin, body: '{"name":', headers: {} });
    expect(notJson.status).toBe(400);
  });
});
