import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
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
@id("mcp-connect") @mask("email:partial")
permit (principal, action == Gateway::Action::"connect", resource) when { principal.gatewayRoles.contains("requester") && resource.type == "mcp" };
@id("mcp-read") permit (principal, action == Gateway::Action::"mcp:call_tool", resource)
  when { principal.gatewayRoles.contains("requester") && context has toolReadOnly && context.toolReadOnly };
`;
const FILES_SERVER = resolve('node_modules/@modelcontextprotocol/server-filesystem/dist/index.js');

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
    // Heartbeats every 300 ms: B finds A's address (the holder of the /mcp/<resource> stream) at once.
    fx = await startPgFixture('mcprep', { policy: POLICY, env: { REPLICA_HEARTBEAT_MS: '300', REPLICA_STALE_AFTER_MS: '3000' } });
    const a = fx.stack.cp.config;
    replicaB = await createApp({ ...a, http: { ...a.http, port: 0 }, postgres: { ...a.postgres, port: 0 }, ssh: { ...a.ssh, port: 0 } , replica: { ...a.replica, name: 'replica-b' }, dataDir: `${a.dataDir}-b` });
    await replicaB.listen(0, '127.0.0.1');
    baseA = fx.stack.cp.baseUrl;
    baseB = `http://127.0.0.1:${(replicaB.getHttpServer().address() as { port: number }).port}`;
  }, 60_000);
  let dir: string | undefined;
  afterAll(async () => {
    await replicaB?.close();
    await fx?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
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

  it('a /mcp/<resource> session whose stream lives on A is served through B: calls and DELETE sent to B are passed to A', async () => {
    dir = await mkdtemp(join(tmpdir(), 'gw-mcp-rep-'));
    await writeFile(join(dir, 'people.txt'), 'Mary Jackson <mary.jackson@example.com>\n');
    await fx.stack.addAgent('edge-mcp-rep', [{ name: 'mcp-rep', type: 'mcp', extra: { mcp: { command: process.execPath, args: [FILES_SERVER, dir], acceptNewTools: true } } }]);
    const transport = new StreamableHTTPClientTransport(new URL(`${baseA}/mcp/mcp-rep`), { requestInit: { headers: { Authorization: `Bearer ${fx.token}` } } });
    const client = new Client({ name: 'e2e-rep', version: '1.0.0' });
    await client.connect(transport);
    const headers = { authorization: `Bearer ${fx.token}`, 'content-type': 'application/json', accept: 'application/json, text/event-stream', 'mcp-session-id': transport.sessionId!, 'mcp-protocol-version': '2025-11-25' };
    try {
      const onB = await fetch(`${baseB}/mcp/mcp-rep`, { method: 'POST', headers, body: JSON.stringify({ jsonrpc: '2.0', id: 50, method: 'tools/call', params: { name: 'read_text_file', arguments: { path: join(dir, 'people.txt') } } }) });
      expect(onB.status).toBe(200);
      const answer = (await onB.json()) as { id: number; result: { content: { text: string }[] } };
      expect(answer.id).toBe(50);
      expect(answer.result.content[0]!.text).toMatch(/^Mary Jackson <m\*+@example\.com>/);
      // Another principal's token: B passes it on, and A (which checks the session's owner) says no.
      const other = await fx.stack.cp.token('approver');
      expect((await fetch(`${baseB}/mcp/mcp-rep`, { method: 'POST', headers: { ...headers, authorization: `Bearer ${other}` }, body: JSON.stringify({ jsonrpc: '2.0', id: 51, method: 'tools/list' }) })).status).toBe(404);

      expect((await fetch(`${baseB}/mcp/mcp-rep`, { method: 'DELETE', headers })).status).toBe(204);
      const after = await fetch(`${baseA}/mcp/mcp-rep`, { method: 'POST', headers, body: JSON.stringify({ jsonrpc: '2.0', id: 52, method: 'tools/list' }) });
      expect(after.status).toBe(404);
    } finally {
      await client.close().catch(() => undefined);
    }
  });
});
