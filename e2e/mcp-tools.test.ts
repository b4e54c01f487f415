import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PII, startPgFixture, type PgFixture } from './support/pg-fixture.js';
import { startSshTarget, type SshTarget } from './support/ssh-fixture.js';
import { TEST_LOGIN } from './support/sshd.js';
import { sessionEvents } from './support/session-events.js';
import { mcpClient, type McpTestClient } from './support/mcp-client.js';

/** Reads masked, inserts, holds DELETE for one approver, forbids DDL; SSH: exec allowed, rm forbidden, sudo held. */
const POLICY = `
@id("admins") permit (principal, action, resource) when { principal.gatewayRoles.contains("admin") };
@id("pg-connect") permit (principal, action == Gateway::Action::"connect", resource)
  when { principal.gatewayRoles.contains("requester") && resource.type == "postgres" && !(resource.hasTag("closed")) };
@id("pg-read") @mask("email:partial, card:full, ssn:full, iban:partial, phone:partial")
permit (principal, action in Gateway::Action::"sql:read", resource) when { principal.gatewayRoles.contains("requester") };
@id("pg-insert") permit (principal, action == Gateway::Action::"sql:insert", resource) when { principal.gatewayRoles.contains("requester") };
@id("pg-delete-held") @approval("required") @approvers("role:approver")
permit (principal, action == Gateway::Action::"sql:delete", resource) when { principal.gatewayRoles.contains("requester") };
@id("no-ddl") @reason("no schema changes")
forbid (principal, action in [Gateway::Action::"sql:ddl", Gateway::Action::"sql:admin", Gateway::Action::"sql:procedural"], resource)
  when { principal.gatewayRoles.contains("requester") };
@id("ssh-connect") @mask("email:partial, card:full")
permit (principal, action == Gateway::Action::"connect", resource)
  when { principal.gatewayRoles.contains("requester") && resource.type == "ssh" && context has login && context.login == "${TEST_LOGIN}" };
@id("ssh-exec") permit (principal, action == Gateway::Action::"ssh:exec", resource)
  when { principal.gatewayRoles.contains("requester") && resource.type == "ssh" };
@id("no-rm") @reason("deleting files is not allowed for workloads")
forbid (principal, action == Gateway::Action::"ssh:exec", resource) when { context has programs && context.programs.contains("rm") };
@id("access-dev") permit (principal, action == Gateway::Action::"request_access", resource)
  when { principal.gatewayRoles.contains("requester") && resource.hasTag("env") && resource.getTag("env") == "dev" };
@id("sudo-held") @approval("required")
permit (principal, action == Gateway::Action::"ssh:exec", resource)
  when { principal.gatewayRoles.contains("requester") && context has command && context.command like "sudo *" };
`;

describe('MCP tools: the SDK client over Streamable HTTP, through policy, approvals, masking and recording', () => {
  let fx: PgFixture;
  let target: SshTarget;
  let mcp: McpTestClient;
  let approver: string;

  const api = (method: string, path: string, token = fx.stack.admin, body?: unknown) => fx.stack.cp.request(method, path, { token, body });
  const orders = async () => (await fx.directQuery<{ item: string }>('SELECT item FROM orders ORDER BY id')).map((r) => r.item);

  beforeAll(async () => {
    fx = await startPgFixture('mcp', { policy: POLICY });
    target = await startSshTarget();
    await fx.stack.addAgent('edge-ssh', [target.resource('mcp-box', { env: 'dev' })]);
    approver = await fx.stack.cp.token('approver');
    mcp = await mcpClient(fx.stack.cp.baseUrl, fx.token);
  }, 90_000);
  afterAll(async () => {
    await mcp?.close();
    await fx?.close();
    await target?.sshd.remove();
  });

  it('lists the tools, and the resources the caller may use with their online status', async () => {
    const tools = (await mcp.client.listTools()).tools.map((t) => t.name).sort();
    expect(tools).toEqual(['get_approval', 'list_resources', 'postgres_query', 'postgres_schema', 'request_access', 'ssh_exec', 'wait_for_approval']);
    const listed = await mcp.call('list_resources', { role: fx.role });
    expect(listed.isError).toBeFalsy();
    const items = listed.structuredContent.resources as { name: string; online: boolean; connect: string; statements?: Record<string, string> }[];
    expect(items.find((r) => r.name === fx.resource)).toMatchObject({ online: true, connect: 'allow', statements: { 'sql:select': 'allow', 'sql:delete': 'require_approval', 'sql:ddl': 'deny' } });
    expect(items.find((r) => r.name === fx.closedResource)).toMatchObject({ connect: 'deny' });
  });

  it('postgres_query: rows come back masked by the agent, with columns, row count and truncation; the call is a session with the declared client', async () => {
    const res = await mcp.call('postgres_query', { resource: fx.resource, role: fx.role, sql: 'SELECT id, email, card FROM customers WHERE id <= $1 ORDER BY id', params: [2] });
    expect(res.isError).toBeFalsy();
    const out = res.structuredContent;
    expect(out.columns.map((c: { name: string }) => c.name)).toEqual(['id', 'email', 'card']);
    expect(out.rowCount).toBe(2);
    expect(out.truncated).toBe(false);
    expect(JSON.stringify(out.rows)).not.toContain(PII.ada.email);
    expect(JSON.stringify(out.rows)).not.toContain(PII.ada.card);
    expect(out.rows[0][0]).toBe('1');
    expect(out.rows[0][1]).toMatch(/^a\*+@example\.com$/);

    const cut = await mcp.call('postgres_query', { resource: fx.resource, role: fx.role, sql: 'SELECT id FROM customers ORDER BY id', maxRows: 2 });
    expect(cut.structuredContent).toMatchObject({ rows: [['1'], ['2']], truncated: true, truncatedBy: 'maxRows' });

    const session = await api('GET', `/api/v1/sessions/${out.sessionId}`);
    expect(session.status).toBe(200);
    expect(JSON.stringify(session.body)).toContain('e2e-agent');
    // The agent ships the statement's record on its own pace (its ship delay), not with the answer.
    await sessionEvents(fx.stack, out.sessionId, (events) => JSON.stringify(events).includes('SELECT id, email, card FROM customers'));
  });

  it('postgres_query limits: bytes cut with a message, the time limit cancels the statement, one statement per call', async () => {
    const wide = await mcp.call('postgres_query', { resource: fx.resource, role: fx.role, sql: "SELECT repeat('x', 200000) AS blob FROM generate_series(1, 5)" });
    expect(wide.isError).toBeFalsy();
    expect(wide.structuredContent).toMatchObject({ truncated: true, truncatedBy: 'maxBytes' });
    expect(wide.structuredContent.rows.length).toBe(2);
    expect(wide.structuredContent.message).toMatch(/cut at 512 KiB/);

    const slow = await mcp.call('postgres_query', { resource: fx.resource, role: fx.role, sql: 'SELECT count(*) FROM generate_series(1, 200000000)', timeoutSeconds: 1 });
    expect(slow.isError).toBe(true);
    expect(slow.structuredContent).toMatchObject({ error: 'limit_reached', sqlstate: '57014' });
    expect(slow.structuredContent.message).toMatch(/cancelled at the time limit of 1 s/);

    const two = await mcp.call('postgres_query', { resource: fx.resource, role: fx.role, sql: 'SELECT 1; SELECT 2' });
    expect(two.structuredContent).toMatchObject({ error: 'invalid_request' });
    expect(two.structuredContent.message).toMatch(/one statement per call/);
  });

  it('ssh_exec: the time limit ends the command', async () => {
    const slow = await mcp.call('ssh_exec', { resource: 'mcp-box', login: TEST_LOGIN, command: 'echo started; sleep 30', timeoutSeconds: 1 });
    expect(slow.isError).toBe(true);
    expect(slow.structuredContent).toMatchObject({ error: 'limit_reached', stdout: 'started\n' });
  });

  it('postgres_query: a DROP is denied by policy (named, with its reason) and nothing changes', async () => {
    const res = await mcp.call('postgres_query', { resource: fx.resource, role: fx.role, sql: 'DROP TABLE orders' });
    expect(res.isError).toBe(true);
    expect(res.structuredContent).toMatchObject({ error: 'denied', decision: { effect: 'deny' } });
    expect(res.structuredContent.message).toMatch(/no-ddl.*no schema changes|no schema changes/);
    expect((await fx.counts()).orders).toBeGreaterThan(0);
  });

  it('postgres_query: a held DELETE returns at once with the approval and does not run; approved through the REST API, wait_for_approval returns its result, run once', async () => {
    await fx.directQuery(`TRUNCATE orders RESTART IDENTITY; INSERT INTO orders (customer_id, amount, item) VALUES (1, 19.99, 'book'), (1, 5.00, 'pen'), (2, 100.00, 'desk')`);
    const held = await mcp.call('postgres_query', { resource: fx.resource, role: fx.role, sql: "DELETE FROM orders WHERE item = 'pen'" });
    expect(held.isError).toBe(true);
    expect(held.structuredContent).toMatchObject({ error: 'approval_required', approvers: ['role:approver'], decision: { effect: 'require_approval' } });
    const id = held.structuredContent.approvalId as string;
    expect(await orders()).toContain('pen');

    const pending = await mcp.call('get_approval', { id });
    expect(pending.structuredContent.approval).toMatchObject({ id, status: 'pending' });
    expect((await api('POST', `/api/v1/approvals/${id}/approve`, approver, { comment: 'ok' })).status).toBe(200);
    const done = await mcp.call('wait_for_approval', { id, timeoutSeconds: 30 });
    expect(done.isError).toBeFalsy();
    expect(done.structuredContent).toMatchObject({ approval: { id, status: 'approved' }, rowCount: 1, command: 'DELETE' });
    expect(await orders()).toEqual(['book', 'desk']);
    // The held call's result belongs to its principal: an approver sees the approval, never the rows.
    const other = await mcpClient(fx.stack.cp.baseUrl, approver, { name: 'someone-else', version: '1' });
    try {
      const foreign = await other.call('wait_for_approval', { id, timeoutSeconds: 0 });
      expect(foreign.structuredContent.approval).toMatchObject({ id, status: 'approved' });
      expect(foreign.structuredContent.rowCount).toBeUndefined();
    } finally {
      await other.close();
    }
    // Asking again returns the same result; the statement does not run again.
    await fx.directQuery(`INSERT INTO orders (customer_id, amount, item) VALUES (1, 5.00, 'pen')`);
    const again = await mcp.call('wait_for_approval', { id, timeoutSeconds: 5 });
    expect(again.structuredContent).toMatchObject({ rowCount: 1 });
    expect(await orders()).toContain('pen');

    // A replica that stopped after the approval but before storing the result: the wait does not hang on it.
    const cpDb = new pg.Client({ connectionString: fx.stack.cp.dbUrl });
    await cpDb.connect();
    try {
      await cpDb.query(`UPDATE mcp_held_calls SET status = 'held', result = NULL WHERE approval_id = $1`, [id]);
      await cpDb.query(`UPDATE approvals SET decided_at = now() - interval '1 hour' WHERE id = $1`, [id]);
    } finally {
      await cpDb.end();
    }
    const lost = await mcp.call('wait_for_approval', { id, timeoutSeconds: 5 });
    expect(lost.isError).toBe(true);
    expect(lost.structuredContent).toMatchObject({ error: 'resource_error' });
    expect(lost.structuredContent.message).toMatch(/result never arrived .* it may have run: see GET \/api\/v1\/sessions\/[0-9a-f-]{36}\/events/);
  });

  it('postgres_query: a held DELETE that is denied never runs, and wait_for_approval says who denied it', async () => {
    const held = await mcp.call('postgres_query', { resource: fx.resource, role: fx.role, sql: "DELETE FROM orders WHERE item = 'book'" });
    const id = held.structuredContent.approvalId as string;
    expect((await api('POST', `/api/v1/approvals/${id}/deny`, approver, { comment: 'not today' })).status).toBe(200);
    const res = await mcp.call('wait_for_approval', { id, timeoutSeconds: 30 });
    expect(res.isError).toBe(true);
    expect(res.structuredContent.message).toMatch(new RegExp(`approval ${id} was denied by Approver: not today; the statement did not run`));
    expect(await orders()).toContain('book');
  });

  it('postgres_schema: tables and columns the role can see', async () => {
    const res = await mcp.call('postgres_schema', { resource: fx.resource, role: fx.role, schema: 'public' });
    expect(res.isError).toBeFalsy();
    const tables = res.structuredContent.tables as { table: string; columns: { name: string; type: string }[] }[];
    expect(tables.map((t) => t.table).sort()).toEqual(['customers', 'orders']);
    expect(tables.find((t) => t.table === 'orders')?.columns).toContainEqual({ name: 'amount', type: 'numeric', nullable: false });
  });

  it('ssh_exec: allowed with stdout, stderr and exit status (masked); rm denied by policy; sudo held, then approved and completed', async () => {
    const ok = await mcp.call('ssh_exec', { resource: 'mcp-box', login: TEST_LOGIN, command: `echo hello; echo ${PII.ada.email} >&2; exit 3` });
    expect(ok.isError).toBeFalsy();
    expect(ok.structuredContent).toMatchObject({ stdout: 'hello\n', exitStatus: 3 });
    expect(ok.structuredContent.stderr).not.toContain(PII.ada.email);
    expect(ok.structuredContent.stderr).toMatch(/^a\*+@example\.com/);

    const denied = await mcp.call('ssh_exec', { resource: 'mcp-box', login: TEST_LOGIN, command: 'rm -rf /tmp/x' });
    expect(denied.isError).toBe(true);
    expect(denied.structuredContent).toMatchObject({ error: 'denied', exitStatus: 126 });
    expect(denied.structuredContent.message).toContain('no-rm');

    const held = await mcp.call('ssh_exec', { resource: 'mcp-box', login: TEST_LOGIN, command: 'sudo -n true; echo ran-after-approval' });
    expect(held.structuredContent).toMatchObject({ error: 'approval_required' });
    const id = held.structuredContent.approvalId as string;
    expect((await api('POST', `/api/v1/approvals/${id}/approve`, approver, {})).status).toBe(200);
    const done = await mcp.call('wait_for_approval', { id, timeoutSeconds: 30 });
    expect(done.structuredContent.stdout).toContain('ran-after-approval');

    const refused = await mcp.call('ssh_exec', { resource: 'mcp-box', login: TEST_LOGIN, command: 'sudo -n true; echo must-not-run' });
    const refusedId = refused.structuredContent.approvalId as string;
    expect((await api('POST', `/api/v1/approvals/${refusedId}/deny`, approver, { comment: 'no sudo today' })).status).toBe(200);
    const notRun = await mcp.call('wait_for_approval', { id: refusedId, timeoutSeconds: 30 });
    expect(notRun.isError).toBe(true);
    expect(notRun.structuredContent).toMatchObject({ error: 'denied' });
    expect(notRun.structuredContent.message).toMatch(/command was denied by Approver .*no sudo today/);
    expect(JSON.stringify(notRun.structuredContent)).not.toContain('must-not-run\n');
  });

  it('request_access: granted where policy allows it, refused (and stored) where it does not', async () => {
    const granted = await mcp.call('request_access', { resource: 'mcp-box', role: TEST_LOGIN, duration: '30m', reason: 'INC-4711 disk check' });
    expect(granted.isError).toBeFalsy();
    expect(granted.structuredContent).toMatchObject({ accessRequest: { status: 'approved' }, grant: { resource: 'mcp-box' } });
    const grants = await api('GET', '/api/v1/grants?active=true&resource=mcp-box');
    expect(grants.body.items).toHaveLength(1);

    const refused = await mcp.call('request_access', { resource: fx.resource, role: fx.role, duration: '1h', reason: 'INC-4711 cleanup' });
    expect(refused.isError).toBe(true);
    expect(refused.structuredContent).toMatchObject({ error: 'denied' });
    expect(refused.structuredContent.message).toMatch(/request_access/);
    const stored = await api('GET', '/api/v1/access-requests?status=denied');
    expect(stored.body.items).toContainEqual(expect.objectContaining({ resource: fx.resource, status: 'denied' }));
    const bad = await mcp.call('request_access', { resource: fx.resource, role: fx.role, duration: '3y', reason: 'INC-4711' });
    expect(bad.structuredContent).toMatchObject({ error: 'invalid_request' });
    expect(bad.structuredContent.message).toMatch(/^duration: /);
  });

  it('every call is in the audit chain with the principal, token id and declared client, and the chain verifies', async () => {
    const audit = await api('GET', '/api/v1/audit/events?action=mcp.tool_call');
    const items = audit.body.items as { actor: { id: string }; details: { tool: string; tokenId: string | null; declaredClient: { name: string; declared: boolean } } }[];
    const tools = new Set(items.map((e) => e.details.tool));
    for (const t of ['list_resources', 'postgres_query', 'postgres_schema', 'ssh_exec', 'request_access', 'get_approval', 'wait_for_approval']) expect(tools).toContain(t);
    const mine = items.find((e) => e.details.tool === 'postgres_query')!;
    expect(mine.details.declaredClient).toEqual({ name: 'e2e-agent', version: '1.2.3', declared: true });
    expect(mine.details.tokenId).toEqual(expect.any(String));
    expect((await api('GET', '/api/v1/audit/verify')).body).toMatchObject({ ok: true });
  });
});
