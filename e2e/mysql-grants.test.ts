import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startMysqlFixture, type MysqlFixture } from './support/mysql-fixture.js';

/** Connecting needs a just-in-time grant, which requesters get at once for up to 2 h. */
const POLICY = `
@id("admins") permit (principal, action, resource) when { principal.gatewayRoles.contains("admin") };
@id("my-connect-jit") @require_grant("true")
permit (principal, action == Gateway::Action::"connect", resource)
  when { principal.gatewayRoles.contains("requester") && resource.type == "mysql" };
@id("my-read") permit (principal, action in Gateway::Action::"sql:read", resource) when { principal.gatewayRoles.contains("requester") };
@id("my-self-service") @max_session("2h")
permit (principal, action == Gateway::Action::"request_access", resource) when { principal.gatewayRoles.contains("requester") };
`;

describe('mysql sessions under just-in-time grants', () => {
  let fx: MysqlFixture;
  const api = (method: string, path: string, token = fx.stack.admin, body?: unknown) => fx.stack.cp.request(method, path, { token, body });

  beforeAll(async () => {
    fx = await startMysqlFixture('grants', { policy: POLICY });
  }, 60_000);
  afterAll(async () => {
    await fx?.close();
  });

  it('without a grant the login is refused (1045, saying a grant is needed); with one the session opens; revoking it ends the session', async () => {
    await expect(fx.gateway()).rejects.toMatchObject({ errno: 1045, message: expect.stringMatching(/just-in-time grant is required/) as unknown });
    const res = await api('POST', '/api/v1/access-requests', fx.token, { resource: fx.resource, role: fx.role, duration: '1h', reason: 'nightly reconciliation' });
    expect(res.status).toBe(201);
    const grant = res.body.grant as { id: string };
    const c = await fx.gateway();
    c.on('error', () => undefined);
    const [rows] = await c.query('SELECT COUNT(*) AS n FROM customers');
    expect(rows).toEqual([{ n: 2 }]);
    const sleeping = c.query('SELECT SLEEP(60)').then(() => 'completed', (e: Error) => e.message);
    expect((await api('DELETE', `/api/v1/grants/${grant.id}`, await fx.stack.cp.token('approver'))).status).toBe(200);
    expect(await sleeping).toMatch(/revoked|closed|terminat/i);
    await expect(fx.gateway()).rejects.toMatchObject({ errno: 1045 });
  });
});
