import type { NestExpressApplication } from '@nestjs/platform-express';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp } from '../apps/control-plane/src/app.js';
import { startPgFixture, type PgFixture } from './support/pg-fixture.js';
import { initializeBody, rawMcp } from './support/mcp-client.js';

const POLICY = `
@id("admins") permit (principal, action, resource) when { principal.gatewayRoles.contains("admin") };
@id("pg-connect") permit (principal, action == Gateway::Action::"connect", resource) when { principal.gatewayRoles.contains("requester") && resource.type == "postgres" };
@id("pg-read") permit (principal, action in Gateway::Action::"sql:read", resource) when { principal.gatewayRoles.contains("requester") };
@id("pg-delete-held") @approval("required")
permit (principal, action == Gateway::Action::"sql:delete", resource) when { principal.gatewayRoles.contains("requester") };
`;

/**
 * One MCP session served by two control plane replicas on one Postgres and Redis (the agent is
 * connected to replica A): the session, the held call and its result are in Postgres, not in a
 * replica's memory.
 */
describe('MCP across control plane replicas', () => {
  let fx: PgFixture;
  let replicaB: NestExpressApplication;
  let baseA: string;
  let baseB: string;

  beforeAll(async () => {
    fx = await startPgFixture('mcprep', { policy: POLICY });
    const a = fx.stack.cp.config;
    replicaB = await createApp({ ...a, http: { ...a.http, port: 0 }, postgres: { ...a.postgres, port: 0 }, ssh: { ...a.ssh, port: 0 } , replica: { ...a.replica, name: 'replica-b' }, dataDir: `${a.dataDir}-b` });
    await replicaB.listen(0, '127.0.0.1');
    baseA = fx.stack.cp.baseUrl;
    baseB = `http://127.0.0.1:${(replicaB.getHttpServer().address() as { port: number }).port}`;
  }, 60_000);
  afterAll(async () => {
    await replicaB?.close();
    await fx?.close();
  });

  it('a session opened on A is served by B; a DELETE held on A is waited for and completed on B; ending it on B ends it on A', async () => {
    const init = await rawMcp(baseA, { token: fx.token, body: initializeBody(1, '2025-11-25') });
    expect(init.status).toBe(200);
    const headers = { 'mcp-session-id': init.headers.get('mcp-session-id')!, 'mcp-protocol-version': '2025-11-25' };
    let id = 10;
    const call = async (base: string, name: string, args: Record<string, unknown>) => {
      const res = await rawMcp(base, { token: fx.token, headers, body: JSON.stringify({ jsonrpc: '2.0', id: id++, method: 'tools/call', params: { name, arguments: args } }) });
      expect(res.status).toBe(200);
      return res.json.result as { isError?: boolean; structuredContent: any };
    };

    const listedOnB = await rawMcp(baseB, { token: fx.token, headers, body: JSON.stringify({ jsonrpc: '2.0', id: 2, method: 'tools/list' }) });
    expect(listedOnB.status).toBe(200);
    expect(listedOnB.json.result.tools).toHaveLength(7);

    const held = await call(baseA, 'postgres_query', { resource: fx.resource, role: fx.role, sql: "DELETE FROM orders WHERE item = 'pen'" });
    expect(held.structuredContent).toMatchObject({ error: 'approval_required' });
    const approvalId = held.structuredContent.approvalId as string;
    const approver = await fx.stack.cp.token('approver');
    const vote = await fetch(`${baseB}/api/v1/approvals/${approvalId}/approve`, { method: 'POST', headers: { authorization: `Bearer ${approver}`, 'content-type': 'application/json' }, body: '{}' });
    expect(vote.status).toBe(200);
    const done = await call(baseB, 'wait_for_approval', { id: approvalId, timeoutSeconds: 30 });
    expect(done.isError).toBeFalsy();
    expect(done.structuredContent).toMatchObject({ approval: { status: 'approved' }, command: 'DELETE', rowCount: 1 });
    expect((await fx.directQuery<{ n: number }>(`SELECT count(*)::int AS n FROM orders WHERE item = 'pen'`))[0]!.n).toBe(0);

    expect((await rawMcp(baseB, { token: fx.token, method: 'DELETE', headers })).status).toBe(204);
    expect((await rawMcp(baseA, { token: fx.token, headers, body: JSON.stringify({ jsonrpc: '2.0', id: 99, method: 'tools/list' }) })).status).toBe(404);
  });
});
