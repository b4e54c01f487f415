import type { NestExpressApplication } from '@nestjs/platform-express';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp } from '../apps/control-plane/src/app.js';
import { startPgFixture, type PgFixture } from './support/pg-fixture.js';
import { openSse } from '../apps/control-plane/test/support/sse.js';

const POLICY = `
@id("admins") permit (principal, action, resource) when { principal.gatewayRoles.contains("admin") };
@id("pg-connect-jit") @require_grant("true")
permit (principal, action == Gateway::Action::"connect", resource) when { principal.gatewayRoles.contains("requester") && resource.type == "postgres" };
@id("pg-read") permit (principal, action in Gateway::Action::"sql:read", resource) when { principal.gatewayRoles.contains("requester") };
@id("pg-delete-held") @approval("required")
permit (principal, action == Gateway::Action::"sql:delete", resource) when { principal.gatewayRoles.contains("requester") };
@id("pg-self-service") permit (principal, action == Gateway::Action::"request_access", resource) when { principal.gatewayRoles.contains("requester") };
`;

/**
 * Two control plane replicas on one Postgres and Redis. The agent and the client are on replica A;
 * the approver, the revocation and the live stream use replica B.
 */
describe('approvals and grants across control plane replicas', () => {
  let fx: PgFixture;
  let replicaB: NestExpressApplication;
  let baseB: string;

  const onB = async (method: string, path: string, token: string, body?: unknown) => {
    const res = await fetch(baseB + path, { method, headers: { authorization: `Bearer ${token}`, ...(body ? { 'content-type': 'application/json' } : {}) }, body: body ? JSON.stringify(body) : undefined });
    return { status: res.status, body: (await res.json()) as Record<string, any> };
  };

  beforeAll(async () => {
    fx = await startPgFixture('replicas', { policy: POLICY });
    const a = fx.stack.cp.config;
    replicaB = await createApp({ ...a, http: { ...a.http, port: 0 }, postgres: { ...a.postgres, port: 0 } , replica: { ...a.replica, name: 'replica-b' }, dataDir: `${a.dataDir}-b` });
    await replicaB.listen(0, '127.0.0.1');
    baseB = `http://127.0.0.1:${(replicaB.getHttpServer().address() as { port: number }).port}`;
  }, 60_000);
  afterAll(async () => {
    await replicaB?.close();
    await fx?.close();
  });

  it('a statement held on replica A is announced on B, approved on B and runs on A; revoking the grant on B ends the session on A', async () => {
    const approver = await fx.stack.cp.token('approver');
    const admin = fx.stack.admin;
    const stream = await openSse(`${baseB}/api/v1/approvals/stream`, approver);
    const granted = await onB('POST', '/api/v1/access-requests', fx.token, { resource: fx.resource, role: fx.role, duration: '10m', reason: 'cleanup' });
    expect(granted.status).toBe(201);

    const c = fx.gateway({ application_name: 'gw-e2e-replicas' });
    const ended = new Promise<string>((resolve) => c.on('error', (e) => resolve(e.message)));
    await c.connect();
    const held = c.query("DELETE FROM orders WHERE item = 'pen'");
    const announced = await stream.next((e) => e.event === 'statement.held', 10_000);
    const approvalId = announced.data.data.approval.id as string;
    expect(announced.data.data.approval).toMatchObject({ kind: 'statement', status: 'pending', subject: { text: "DELETE FROM orders WHERE item = 'pen'" } });
    expect((await onB('POST', `/api/v1/approvals/${approvalId}/approve`, approver, {})).status).toBe(200);
    expect((await held).rowCount).toBe(1);
    await stream.next((e) => e.event === 'statement.released' && e.data.data.approval.id === approvalId);
    stream.close();

    const t0 = Date.now();
    expect((await onB('DELETE', `/api/v1/grants/${granted.body.grant.id}`, admin)).status).toBe(200);
    const message = await Promise.race([ended, new Promise<string>((r) => setTimeout(() => r('still open'), 5000))]);
    expect(message).toMatch(/revoked/);
    expect(Date.now() - t0).toBeLessThan(2000);
  });
});
