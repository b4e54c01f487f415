import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PII, startPgFixture, type PgFixture } from './support/pg-fixture.js';
import { mcpClient, type McpTestClient } from './support/mcp-client.js';

/** Reads allowed, DELETE held for one approver, DDL forbidden (by the agent), the `-closed` resource refused at connect. */
const POLICY = `
@id("admins") permit (principal, action, resource) when { principal.gatewayRoles.contains("admin") };
@id("pg-connect") permit (principal, action == Gateway::Action::"connect", resource)
  when { principal.gatewayRoles.contains("requester") && resource.type == "postgres" };
@id("closed-door") @reason("this database is closed to workloads")
forbid (principal, action == Gateway::Action::"connect", resource) when { resource.hasTag("closed") };
@id("pg-read") permit (principal, action in Gateway::Action::"sql:read", resource) when { principal.gatewayRoles.contains("requester") };
@id("pg-delete-held") @approval("required") @approvers("role:approver")
permit (principal, action == Gateway::Action::"sql:delete", resource) when { principal.gatewayRoles.contains("requester") };
@id("no-ddl") @reason("no schema changes")
forbid (principal, action in Gateway::Action::"sql:ddl", resource) when { principal.gatewayRoles.contains("requester") };
`;

interface SessionView {
  id: string;
  status: string;
  principal: { id: string };
  tokenId: string | null;
  resource: { name: string; type: string };
  declared: { mcp?: { clientName: string; clientVersion: string; declared: boolean } };
  parentSessionId: string | null;
  endReason: string | null;
}
interface ToolCallEvent {
  seq: number;
  type: string;
  data: {
    tool: string;
    arguments: Record<string, unknown>;
    outcome: string;
    decision: { effect: string; policies?: string[] } | null;
    result: Record<string, unknown>;
    durationMs: number;
    resourceSessionId?: string;
    approvalId?: string;
  };
}

describe('MCP sessions: every tool call is an event of its MCP session in /api/v1/sessions, resource sessions linked both ways', () => {
  let fx: PgFixture;
  let mcp: McpTestClient;
  let mcpSessionId: string;
  let approver: string;

  const api = async (method: string, path: string, token = fx.stack.admin, body?: unknown) => fx.stack.cp.request(method, path, { token, body });
  const mcpSessions = async (): Promise<SessionView[]> => (await api('GET', '/api/v1/sessions?type=mcp&limit=500')).body.items;
  const events = async (id = mcpSessionId): Promise<ToolCallEvent[]> => (await api('GET', `/api/v1/sessions/${id}/events?limit=1000`)).body.items;
  /** Makes a call and returns it with the MCP session's event it produced (always the newest one). */
  const callAndRecord = async (tool: string, args: Record<string, unknown>) => {
    const before = (await events()).length;
    const result = await mcp.call(tool, args);
    const after = await events();
    expect(after).toHaveLength(before + 1);
    return { result, event: after.at(-1)! };
  };
  const cpQuery = async (sql: string, values: unknown[]) => {
    const c = new pg.Client({ connectionString: fx.stack.cp.dbUrl });
    await c.connect();
    try {
      return (await c.query(sql, values)).rows;
    } finally {
      await c.end();
    }
  };
  const until = async <T>(what: string, probe: () => Promise<T | undefined>): Promise<T> => {
    const deadline = Date.now() + 20_000;
    for (;;) {
      const value = await probe();
      if (value !== undefined) return value;
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
      await new Promise((r) => setTimeout(r, 200));
    }
  };

  beforeAll(async () => {
    fx = await startPgFixture('mcpsess', { policy: POLICY, env: { MCP_HOUSEKEEPING_INTERVAL_MS: '1000', MCP_RETENTION_DAYS: '1' } });
    const offline = await fx.stack.addAgent('edge-gone', [{ name: 'pg-gone', type: 'postgres', address: '127.0.0.1:5432', extra: { credentials: { user: 'literal:postgres' }, postgres: { database: fx.resource } } }]);
    await offline.close();
    await fx.stack.waitOnline('pg-gone', false);
    approver = await fx.stack.cp.token('approver');
    mcp = await mcpClient(fx.stack.cp.baseUrl, fx.token);
    mcpSessionId = mcp.transport.sessionId!;
  }, 90_000);
  afterAll(async () => {
    await mcp?.close();
    await fx?.close();
  });

  it('initialize opens a session of type mcp: the Mcp-Session-Id, the principal, its token id and the declared client', async () => {
    const mine = (await mcpSessions()).find((s) => s.id === mcpSessionId);
    expect(mine).toMatchObject({
      status: 'active',
      resource: { name: 'gateway', type: 'mcp' },
      declared: { mcp: { clientName: 'e2e-agent', clientVersion: '1.2.3', declared: true } },
      parentSessionId: null,
    });
    expect(mine!.tokenId).toEqual(expect.any(String));
    const token = JSON.parse(Buffer.from(fx.token.split('.')[1]!, 'base64url').toString('utf8')) as { jti: string };
    expect(mine!.tokenId).toBe(token.jti);
  });

  it('list_resources, an allowed query (SQL params masked in the record), and the resource session linked both ways', async () => {
    const listed = await callAndRecord('list_resources', {});
    expect(listed.event).toMatchObject({ type: 'mcp.tool_call', data: { tool: 'list_resources', outcome: 'success', decision: { effect: 'allow' }, result: { resources: 3 } } });
    expect(listed.event.data.durationMs).toEqual(expect.any(Number));

    const { result, event } = await callAndRecord('postgres_query', { resource: fx.resource, role: fx.role, sql: 'SELECT id FROM customers WHERE email = $1', params: [PII.ada.email] });
    expect(result.isError).toBeFalsy();
    expect(event.data).toMatchObject({
      tool: 'postgres_query', outcome: 'success', decision: { effect: 'allow' }, result: { rowCount: 1, command: 'SELECT' },
      arguments: { resource: fx.resource, role: fx.role, sql: 'SELECT id FROM customers WHERE email = $1', params: ['<masked>'] },
      resourceSessionId: result.structuredContent.sessionId,
    });
    expect(JSON.stringify(await events())).not.toContain(PII.ada.email);

    const child = (await api('GET', `/api/v1/sessions/${result.structuredContent.sessionId}`)).body as SessionView;
    expect(child).toMatchObject({ resource: { name: fx.resource, type: 'postgres' }, parentSessionId: mcpSessionId });
    const parent = (await api('GET', `/api/v1/sessions/${mcpSessionId}`)).body as SessionView;
    expect(parent.principal).toEqual(child.principal);
    expect(parent.tokenId).toBe(child.tokenId);
    const children = (await api('GET', `/api/v1/sessions?parent=${mcpSessionId}`)).body.items as SessionView[];
    expect(children.map((s) => s.id)).toContain(child.id);
    expect(children.every((s) => s.parentSessionId === mcpSessionId)).toBe(true);
  });

  it('a statement the agent denies, a connect that policy refuses before any agent, an unknown and an offline resource: each one an event', async () => {
    const drop = await callAndRecord('postgres_query', { resource: fx.resource, role: fx.role, sql: 'DROP TABLE orders' });
    expect(drop.result.isError).toBe(true);
    expect(drop.event.data).toMatchObject({ outcome: 'denied', decision: { effect: 'deny' }, result: { error: 'denied' } });
    expect(String(drop.event.data.result.message)).toMatch(/no schema changes/);

    const closed = await callAndRecord('postgres_query', { resource: fx.closedResource, role: fx.role, sql: 'SELECT 1' });
    expect(closed.result.structuredContent).toMatchObject({ error: 'denied' });
    expect(closed.event.data).toMatchObject({ outcome: 'denied', decision: { effect: 'deny', policies: ['closed-door'] }, result: { error: 'denied' } });
    expect(closed.event.data.resourceSessionId).toBeUndefined();

    const unknown = await callAndRecord('postgres_schema', { resource: 'no-such-db', role: fx.role });
    expect(unknown.event.data).toMatchObject({ tool: 'postgres_schema', outcome: 'failure', decision: null, result: { error: 'unknown_resource' } });

    const offline = await callAndRecord('postgres_query', { resource: 'pg-gone', role: fx.role, sql: 'SELECT 1' });
    expect(offline.result.structuredContent).toMatchObject({ error: 'resource_offline' });
    expect(offline.event.data).toMatchObject({ outcome: 'failure', decision: null, result: { error: 'resource_offline' }, arguments: { resource: 'pg-gone' } });
    expect(String(offline.event.data.result.message)).toMatch(/offline/);
  });

  it('a held DELETE, get_approval, the approval, wait_for_approval, and request_access: each one an event with its approval', async () => {
    const held = await callAndRecord('postgres_query', { resource: fx.resource, role: fx.role, sql: "DELETE FROM orders WHERE item = 'pen'" });
    const id = held.result.structuredContent.approvalId as string;
    expect(held.event.data).toMatchObject({ outcome: 'held', decision: { effect: 'require_approval' }, approvalId: id, result: { error: 'approval_required', approvalId: id } });

    const pending = await callAndRecord('get_approval', { id });
    expect(pending.event.data).toMatchObject({ tool: 'get_approval', arguments: { id }, approvalId: id, result: { approval: { id, status: 'pending' } } });

    expect((await api('POST', `/api/v1/approvals/${id}/approve`, approver, {})).status).toBe(200);
    const done = await callAndRecord('wait_for_approval', { id, timeoutSeconds: 30 });
    expect(done.event.data).toMatchObject({ tool: 'wait_for_approval', outcome: 'success', approvalId: id, result: { rowCount: 1, command: 'DELETE', approval: { id, status: 'approved' } } });

    const access = await callAndRecord('request_access', { resource: fx.resource, role: fx.role, duration: '1h', reason: 'INC-1 cleanup' });
    expect(access.result.structuredContent).toMatchObject({ error: 'denied' });
    expect(access.event.data).toMatchObject({ tool: 'request_access', outcome: 'denied', decision: { effect: 'deny' }, arguments: { duration: '1h', reason: 'INC-1 cleanup' } });
  });

  it('every call is also in the audit chain with this MCP session id, and the chain verifies', async () => {
    const recorded = (await events()).filter((e) => e.type === 'mcp.tool_call');
    const audit = (await api('GET', '/api/v1/audit/events?action=mcp.tool_call&limit=500')).body.items as { details: { mcpSessionId: string; tool: string } }[];
    const mine = audit.filter((e) => e.details.mcpSessionId === mcpSessionId);
    expect(mine).toHaveLength(recorded.length);
    expect(new Set(mine.map((e) => e.details.tool))).toEqual(new Set(recorded.map((e) => e.data.tool)));
    expect((await api('GET', '/api/v1/audit/verify')).body).toMatchObject({ ok: true });
  });

  it('DELETE ends the MCP session and its record', async () => {
    const other = await mcpClient(fx.stack.cp.baseUrl, fx.token, { name: 'short-lived', version: '0.1' });
    const id = other.transport.sessionId!;
    await other.call('list_resources', {});
    await other.close();
    const ended = (await api('GET', `/api/v1/sessions/${id}`)).body as SessionView;
    expect(ended).toMatchObject({ status: 'ended', endReason: expect.stringMatching(/client ended the MCP session/) });
    expect(await events(id)).toHaveLength(1);
  });

  it('housekeeping ends idle MCP sessions and deletes MCP state past MCP_RETENTION_DAYS; the session record stays', async () => {
    const idle = await mcpClient(fx.stack.cp.baseUrl, fx.token, { name: 'idle-agent', version: '0.1' });
    const id = idle.transport.sessionId!;
    await cpQuery(`UPDATE mcp_sessions SET last_seen_at = now() - interval '25 hours' WHERE id = $1`, [id]);
    const ended = await until('the idle session to end', async () => {
      const s = (await api('GET', `/api/v1/sessions/${id}`)).body as SessionView;
      return s.status === 'ended' ? s : undefined;
    });
    expect(ended.endReason).toMatch(/expired after 24 h without a request/);
    // The client is told the session is gone.
    await expect(idle.client.listTools()).rejects.toThrow(/404|not found/i);
    await idle.close();

    const oldHeld = (await cpQuery(`SELECT approval_id FROM mcp_held_calls WHERE mcp_session_id = $1`, [mcpSessionId]))[0] as { approval_id: string };
    await cpQuery(`UPDATE mcp_sessions SET ended_at = now() - interval '2 days' WHERE id = $1`, [id]);
    await cpQuery(`UPDATE mcp_held_calls SET finished_at = now() - interval '2 days' WHERE approval_id = $1`, [oldHeld.approval_id]);
    await until('MCP state past retention to be deleted', async () => {
      const left = await cpQuery(`SELECT (SELECT count(*) FROM mcp_sessions WHERE id = $1)::int AS s, (SELECT count(*) FROM mcp_held_calls WHERE approval_id = $2)::int AS h`, [id, oldHeld.approval_id]);
      return (left[0] as { s: number; h: number }).s + (left[0] as { s: number; h: number }).h === 0 ? true : undefined;
    });
    // The live session's own state is untouched, and the deleted session's record stays.
    expect(await cpQuery(`SELECT 1 FROM mcp_sessions WHERE id = $1`, [mcpSessionId])).toHaveLength(1);
    expect((await api('GET', `/api/v1/sessions/${id}`)).status).toBe(200);
  });
});
