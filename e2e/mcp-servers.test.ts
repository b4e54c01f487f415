import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startStack, type Stack } from './support/stack.js';
import { assertAgentBuilt } from './support/pg-fixture.js';
import { mcpClient } from './support/mcp-client.js';

/** Workloads may read (masked), writes wait for an approver, moving files is denied (and hidden). */
const POLICY = `
@id("admins") permit (principal, action, resource) when { principal.gatewayRoles.contains("admin") };
@id("mcp-connect") @mask("email:partial, card:full")
permit (principal, action == Gateway::Action::"connect", resource) when { principal.gatewayRoles.contains("requester") && resource.type == "mcp" };
@id("mcp-read") permit (principal, action == Gateway::Action::"mcp:call_tool", resource)
  when { principal.gatewayRoles.contains("requester") && context has toolReadOnly && context.toolReadOnly };
@id("mcp-write-held") @approval("required") @approvers("role:approver")
permit (principal, action == Gateway::Action::"mcp:call_tool", resource)
  when { principal.gatewayRoles.contains("requester") && context has tool && ["write_file", "edit_file", "create_directory"].contains(context.tool) };
@id("no-move") @reason("moving files is not allowed for workloads")
forbid (principal, action == Gateway::Action::"mcp:call_tool", resource) when { context has tool && context.tool == "move_file" };
`;

const EMAIL = 'ada.lovelace@example.com';
const CARD = '4111 1111 1111 1111';
const SERVER = 'node_modules/@modelcontextprotocol/server-filesystem/dist/index.js';

const text = (r: CallToolResult) => r.content.map((c) => (c.type === 'text' ? c.text : '')).join('\n');

describe('MCP servers behind the gateway: @modelcontextprotocol/server-filesystem over stdio, run by the agent', () => {
  let stack: Stack;
  let dir: string;
  let token: string;
  let approver: string;
  const clients: Client[] = [];

  const connect = async (bearer = token, resource = 'mcp-files') => {
    const transport = new StreamableHTTPClientTransport(new URL(`${stack.cp.baseUrl}/mcp/${resource}`), { requestInit: { headers: { Authorization: `Bearer ${bearer}` } } });
    const client = new Client({ name: 'e2e-files-agent', version: '2.0.0' });
    await client.connect(transport);
    clients.push(client);
    return { client, transport, call: async (name: string, args: Record<string, unknown>) => (await client.callTool({ name, arguments: args })) as CallToolResult };
  };
  const api = (method: string, path: string, bearer = stack.admin, body?: unknown) => stack.cp.request(method, path, { token: bearer, body });

  beforeAll(async () => {
    assertAgentBuilt();
    dir = await mkdtemp(join(tmpdir(), 'gw-mcp-files-'));
    await writeFile(join(dir, 'customers.txt'), `Ada Lovelace <${EMAIL}> card ${CARD}\n`);
    stack = await startStack({
      policy: POLICY,
      resources: [
        { name: 'mcp-files', type: 'mcp', extra: { mcp: { command: process.execPath, args: [SERVER, dir], acceptNewTools: true } } },
        { name: 'mcp-pinned', type: 'mcp', extra: { mcp: { command: process.execPath, args: [SERVER, dir] } } },
      ],
    });
    token = await stack.cp.token('ai-agent');
    approver = await stack.cp.token('approver');
  }, 90_000);
  afterAll(async () => {
    for (const c of clients) await c.close().catch(() => undefined);
    await stack?.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('needs the gateway token (401 with the metadata), and an unknown resource is 404', async () => {
    const res = await fetch(`${stack.cp.baseUrl}/mcp/mcp-files`, { method: 'POST', headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream' }, body: '{}' });
    expect(res.status).toBe(401);
    expect(res.headers.get('www-authenticate')).toMatch(/resource_metadata=/);
    await expect(connect(token, 'no-such-server')).rejects.toThrow(/404|unknown resource/);
  });

  it("the gateway's own list_resources (on /mcp) names the server's endpoint", async () => {
    const gateway = await mcpClient(stack.cp.baseUrl, token);
    try {
      const listed = await gateway.call('list_resources', {});
      expect(listed.structuredContent.resources).toContainEqual(expect.objectContaining({ name: 'mcp-files', type: 'mcp', online: true, connect: 'allow', endpoint: '/mcp/mcp-files' }));
    } finally {
      await gateway.close();
    }
  });

  it('tools/list leaves out the tool that policy never allows (move_file); the others are listed with their annotations', async () => {
    const { client } = await connect();
    const names = (await client.listTools()).tools.map((t) => t.name);
    expect(names).toContain('read_text_file');
    expect(names).toContain('write_file');
    expect(names).not.toContain('move_file');
  });

  it('a read is allowed and its text comes back masked, in content and structuredContent', async () => {
    const { call } = await connect();
    const res = await call('read_text_file', { path: join(dir, 'customers.txt') });
    expect(res.isError).toBeFalsy();
    const all = JSON.stringify(res);
    expect(all).toContain('Ada Lovelace');
    expect(all).not.toContain(EMAIL);
    expect(all).not.toContain('4111');
    expect(text(res)).toMatch(/a\*+@example\.com/);
  });

  it('move_file called anyway is refused, naming the policy, and nothing moves', async () => {
    const { call } = await connect();
    const res = await call('move_file', { source: join(dir, 'customers.txt'), destination: join(dir, 'moved.txt') });
    expect(res.isError).toBe(true);
    expect(text(res)).toMatch(/denied by policy "no-move": moving files is not allowed/);
    expect(await readFile(join(dir, 'customers.txt'), 'utf8')).toContain('Ada');
  });

  it('a write is held (not run) until an approver approves it; then it runs, once, and the same call sent again gets its answer', async () => {
    const { call } = await connect();
    const args = { path: join(dir, 'notes.txt'), content: 'approved note\n' };
    const held = await call('write_file', args);
    expect(held.isError).toBe(true);
    const approvalId = /held for approval ([0-9a-f-]{36})/.exec(text(held))?.[1];
    expect(approvalId).toBeDefined();
    await expect(readFile(join(dir, 'notes.txt'), 'utf8')).rejects.toThrow(/ENOENT/);

    const still = await call('write_file', args);
    expect(text(still)).toMatch(/still held for approval/);
    expect((await api('POST', `/api/v1/approvals/${approvalId}/approve`, approver, { comment: 'ok' })).status).toBe(200);
    let ran: CallToolResult | undefined;
    for (let i = 0; i < 50 && !ran; i++) {
      const again = await call('write_file', args);
      if (!again.isError) ran = again;
      else await new Promise((r) => setTimeout(r, 100));
    }
    expect(ran).toBeDefined();
    expect(await readFile(join(dir, 'notes.txt'), 'utf8')).toBe('approved note\n');
    // The approval ran it once: the next identical call is held again.
    const next = await call('write_file', args);
    expect(next.isError).toBe(true);
    expect(text(next)).toMatch(/held for approval/);
  });

  it('wait_for_approval (the gateway\'s tool on /mcp) waits for a call held on /mcp/<resource>: approved, the gateway runs that call once and returns its real result', async () => {
    const { call } = await connect();
    const gateway = await mcpClient(stack.cp.baseUrl, token);
    try {
      const path = join(dir, 'waited.txt');
      const args = { path, content: 'waited note\n' };
      const held = await call('write_file', args);
      const approvalId = /held for approval ([0-9a-f-]{36})/.exec(text(held))?.[1];
      expect(text(held)).toMatch(/wait_for_approval/);
      const pending = await gateway.call('wait_for_approval', { id: approvalId, timeoutSeconds: 0 });
      expect(pending.structuredContent).toMatchObject({ status: 'pending' });
      await expect(readFile(path, 'utf8')).rejects.toThrow(/ENOENT/);

      const waiting = gateway.call('wait_for_approval', { id: approvalId, timeoutSeconds: 60 });
      expect((await api('POST', `/api/v1/approvals/${approvalId}/approve`, approver, { comment: 'ok' })).status).toBe(200);
      const done = await waiting;
      expect(done.isError).toBeFalsy();
      expect(done.structuredContent).toMatchObject({ approval: { status: 'approved' }, result: { content: [{ type: 'text', text: expect.stringMatching(/Successfully wrote/) }] } });
      expect(await readFile(path, 'utf8')).toBe('waited note\n');

      // It ran once: the same call sent again gets that run's answer and does not write again.
      await writeFile(path, 'changed by hand\n');
      const again = await call('write_file', args);
      expect(again.isError).toBeFalsy();
      expect(text(again)).toMatch(/Successfully wrote/);
      expect(await readFile(path, 'utf8')).toBe('changed by hand\n');
      expect(text(await call('write_file', args))).toMatch(/held for approval/);
    } finally {
      await gateway.close();
    }
  });

  it('wait_for_approval on a held call that an approver denies: says it was denied, and it never ran', async () => {
    const { call } = await connect();
    const gateway = await mcpClient(stack.cp.baseUrl, token);
    try {
      const path = join(dir, 'denied.txt');
      const held = await call('write_file', { path, content: 'no\n' });
      const approvalId = /held for approval ([0-9a-f-]{36})/.exec(text(held))?.[1];
      const waiting = gateway.call('wait_for_approval', { id: approvalId, timeoutSeconds: 60 });
      expect((await api('POST', `/api/v1/approvals/${approvalId}/deny`, approver, { comment: 'not today' })).status).toBe(200);
      const denied = await waiting;
      expect(denied.isError).toBe(true);
      expect(denied.structuredContent).toMatchObject({ error: 'denied' });
      expect(text(denied)).toMatch(/did not run: the approval was denied \(not today\)/);
      await expect(readFile(path, 'utf8')).rejects.toThrow(/ENOENT/);
    } finally {
      await gateway.close();
    }
  });

  it('each MCP server has its own protected resource metadata in the path form (RFC 9728), which a 401 names', async () => {
    const root = (await (await fetch(`${stack.cp.baseUrl}/.well-known/oauth-protected-resource/mcp`)).json()) as { resource: string; authorization_servers: string[] };
    const meta = await fetch(`${stack.cp.baseUrl}/.well-known/oauth-protected-resource/mcp/mcp-files`);
    expect(meta.status).toBe(200);
    expect(await meta.json()).toMatchObject({ resource: `${root.resource}/mcp-files`, authorization_servers: root.authorization_servers, bearer_methods_supported: ['header'] });
    expect((await fetch(`${stack.cp.baseUrl}/.well-known/oauth-protected-resource/mcp/no-such-server`)).status).toBe(404);
    const res = await fetch(`${stack.cp.baseUrl}/mcp/mcp-files`, { method: 'POST', headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream' }, body: '{}' });
    expect(res.status).toBe(401);
    expect(res.headers.get('www-authenticate')).toMatch(/^Bearer resource_metadata="http[^"]+\/\.well-known\/oauth-protected-resource\/mcp\/mcp-files"$/);
  });

  it('the session is in /api/v1/sessions (type mcp) with every request, decision and (masked) answer recorded; DELETE ends it', async () => {
    const { call, transport } = await connect();
    await call('read_text_file', { path: join(dir, 'customers.txt') });
    await call('move_file', { source: join(dir, 'customers.txt'), destination: join(dir, 'x.txt') });
    const id = transport.sessionId!;
    const session = (await api('GET', `/api/v1/sessions/${id}`)).body;
    expect(session).toMatchObject({ resource: { name: 'mcp-files', type: 'mcp' }, status: 'active', declared: { mcp: { clientName: 'e2e-files-agent', declared: true } } });
    let events: { type: string; data: Record<string, unknown> }[] = [];
    for (let i = 0; i < 50; i++) {
      events = (await api('GET', `/api/v1/sessions/${id}/events`)).body.items;
      if (events.filter((e) => e.type === 'mcp.response').length >= 2) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    const requests = events.filter((e) => e.type === 'mcp.request');
    expect(requests).toContainEqual(expect.objectContaining({ data: expect.objectContaining({ target: 'tool "read_text_file"', decision: 'allow', policies: ['mcp-read'] }) }));
    expect(requests).toContainEqual(expect.objectContaining({ data: expect.objectContaining({ target: 'tool "move_file"', decision: 'deny', policies: ['no-move'] }) }));
    expect(JSON.stringify(events)).toContain('Ada Lovelace');
    expect(JSON.stringify(events)).not.toContain(EMAIL);

    await transport.terminateSession();
    let ended = '';
    for (let i = 0; i < 50 && ended !== 'ended'; i++) {
      ended = (await api('GET', `/api/v1/sessions/${id}`)).body.status;
      if (ended !== 'ended') await new Promise((r) => setTimeout(r, 100));
    }
    expect(ended).toBe('ended');
  });

  it('pinned tool definitions: new tools are withheld (listed nowhere, refused) until an admin accepts them; a changed definition is withheld again', async () => {
    const { client, call } = await connect(token, 'mcp-pinned');
    expect((await client.listTools()).tools).toEqual([]);
    const refused = await call('read_text_file', { path: join(dir, 'customers.txt') });
    expect(refused.isError).toBe(true);
    expect(text(refused)).toMatch(/withheld: its definition is new or changed/);

    const pins = (await api('GET', '/api/v1/mcp/tool-pins?resource=mcp-pinned&status=withheld')).body.items as { tool: string; hash: string; definition: { description?: string } }[];
    const read = pins.find((p) => p.tool === 'read_text_file')!;
    expect(read.hash).toMatch(/^[0-9a-f]{64}$/);
    expect(read.definition.description).toEqual(expect.any(String));
    const audit = (await api('GET', '/api/v1/audit/events?action=mcp.tool_withheld&resource=mcp-pinned')).body.items as { details: { tool: string; change: string } }[];
    expect(audit).toContainEqual(expect.objectContaining({ details: expect.objectContaining({ tool: 'read_text_file', change: 'new' }) }));
    expect((await api('POST', '/api/v1/mcp/tool-pins/accept', token, { resource: 'mcp-pinned', tool: 'read_text_file', hash: read.hash })).status).toBe(403);
    expect((await api('POST', '/api/v1/mcp/tool-pins/accept', stack.admin, { resource: 'mcp-pinned', tool: 'read_text_file', hash: read.hash })).body).toMatchObject({ status: 'accepted' });

    // The agent checks again at the next tools/list: the accepted tool is offered and runs (masked).
    expect((await client.listTools()).tools.map((t) => t.name)).toEqual(['read_text_file']);
    const ok = await call('read_text_file', { path: join(dir, 'customers.txt') });
    expect(ok.isError).toBeFalsy();
    expect(JSON.stringify(ok)).not.toContain(EMAIL);

    // What was accepted is no longer what the server offers (as after an update that rewrote the description): withheld again, reported as changed.
    const db = new pg.Client({ connectionString: stack.cp.dbUrl });
    await db.connect();
    try {
      await db.query(`UPDATE mcp_tool_pins SET hash = repeat('0', 64), definition = '{"description":"an older description"}' WHERE resource = 'mcp-pinned' AND tool = 'read_text_file'`);
    } finally {
      await db.end();
    }
    expect((await client.listTools()).tools).toEqual([]);
    const changed = (await api('GET', '/api/v1/audit/events?action=mcp.tool_withheld&resource=mcp-pinned')).body.items as { details: { tool: string; change: string; previous?: { description: string } } }[];
    expect(changed).toContainEqual(expect.objectContaining({ details: expect.objectContaining({ tool: 'read_text_file', change: 'changed', previous: { description: 'an older description' } }) }));
  });
});
