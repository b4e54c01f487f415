import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectFakeAgent } from './support/fake-agent.js';
import { startHarness, type Harness } from './support/harness.js';

// Connect permitted for one database role only: what GET /resources says about it, with and without `role`.
const POLICY = `@id("pg-role") permit (principal, action == Gateway::Action::"connect", resource)
when { principal.gatewayRoles.contains("requester") && resource.type == "postgres" && context has dbRole && context.dbRole == "app_reader" };`;

describe('GET /api/v1/resources: access for a role', () => {
  let h: Harness;
  let workload: string;
  let close: () => void;

  beforeAll(async () => {
    h = await startHarness();
    const admin = await h.token('security-admin');
    workload = await h.token('ai-agent');
    expect((await h.request('POST', '/api/v1/policies', { token: admin, body: { text: POLICY, activate: true } })).status).toBe(201);
    const reg = (await h.request('POST', '/api/v1/agents', { token: admin, body: { name: 'edge-roles' } })).body as { credential: string };
    const agent = await connectFakeAgent(h.baseUrl, { credential: reg.credential }, [{ name: 'orders', type: 'postgres', labels: {} }]);
    close = () => agent.close();
  });
  afterAll(async () => {
    close?.();
    await h?.close();
  });

  const access = async (query: string) => {
    const res = await h.request('GET', `/api/v1/resources${query}`, { token: workload });
    expect(res.status).toBe(200);
    return (res.body.items as { name: string; access: string }[]).find((r) => r.name === 'orders')?.access;
  };

  it('answers for the role asked about, and deny without one when policy permits only some roles', async () => {
    expect(await access('')).toBe('deny');
    expect(await access('?role=app_reader')).toBe('allow');
    expect(await access('?role=postgres')).toBe('deny');
    expect(await access('?role=APP_READER')).toBe('deny');
  });

  it.each(['?role=', `?role=${'x'.repeat(64)}`, '?role=a%00b', '?other=1'])('refuses a bad query %s with 400', async (query) => {
    expect((await h.request('GET', `/api/v1/resources${query}`, { token: workload })).status).toBe(400);
  });
});
