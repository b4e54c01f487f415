import { resolve } from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import {
  CreateMessageRequestSchema, ElicitRequestSchema, ListRootsRequestSchema, LoggingMessageNotificationSchema, ToolListChangedNotificationSchema,
  type CallToolResult, type Progress,
} from '@modelcontextprotocol/sdk/types.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startStack, type Stack } from './support/stack.js';
import { assertAgentBuilt } from './support/pg-fixture.js';
import { sessionEvents } from './support/session-events.js';

/**
 * Failure injection with a small stdio MCP server written for the test (e2e/support/faulty-mcp-server.mjs):
 * what a misbehaving server does must reach the client as a clear answer, masked, within the limits,
 * and be recorded. Also the requests a server makes of the client (refused unless policy allows them
 * for the resource) and its notifications (relayed; a changed tool list is pinned again at once).
 */
const POLICY = `
@id("admins") permit (principal, action, resource) when { principal.gatewayRoles.contains("admin") };
@id("mcp-connect") @mask("email:partial, card:full, ssn:full")
permit (principal, action == Gateway::Action::"connect", resource) when { principal.gatewayRoles.contains("requester") && resource.type == "mcp" };
@id("calls") permit (principal, action == Gateway::Action::"mcp:call_tool", resource) when { principal.gatewayRoles.contains("requester") };
@id("faulty-asks-may-ask") permit (principal, action in [Gateway::Action::"mcp:sampling", Gateway::Action::"mcp:elicitation"], resource)
  when { principal.gatewayRoles.contains("requester") && resource.name == "faulty-asks" };
`;
const SERVER = resolve('e2e/support/faulty-mcp-server.mjs');
const EMAIL = 'grace.hopper@example.com';
const mcp = (extra: Record<string, unknown> = {}) => ({ mcp: { command: process.execPath, args: [SERVER], acceptNewTools: true, ...extra } });
const text = (r: CallToolResult) => r.content.map((c) => (c.type === 'text' ? c.text : '')).join('\n');

describe('MCP servers behind the gateway: a misbehaving server, server requests and notifications', () => {
  let stack: Stack;
  let token: string;
  const clients: Client[] = [];

  /** A client that would answer sampling, elicitation and roots: what it was asked is counted. */
  const connect = async (resource: string) => {
    const client = new Client({ name: 'e2e-faults', version: '1.0.0' }, { capabilities: { sampling: {}, elicitation: {}, roots: {} } });
    const asked: string[] = [];
    client.setRequestHandler(CreateMessageRequestSchema, () => {
      asked.push('sampling');
      return { model: 'test-model', role: 'assistant', content: { type: 'text', text: 'hi from the client' } };
    });
    client.setRequestHandler(ElicitRequestSchema, () => {
      asked.push('elicitation');
      return { action: 'accept', content: { name: 'Ada' } };
    });
    client.setRequestHandler(ListRootsRequestSchema, () => {
      asked.push('roots');
      return { roots: [{ uri: 'file:///work' }] };
    });
    const transport = new StreamableHTTPClientTransport(new URL(`${stack.cp.baseUrl}/mcp/${resource}`), { requestInit: { headers: { Authorization: `Bearer ${token}` } } });
    await client.connect(transport);
    clients.push(client);
    return { client, transport, asked, call: async (name: string, args: Record<string, unknown> = {}) => (await client.callTool({ name, arguments: args })) as CallToolResult };
  };

  beforeAll(async () => {
    assertAgentBuilt();
    stack = await startStack({
      policy: POLICY,
      resources: [
        { name: 'faulty', type: 'mcp', extra: mcp({ maxResultBytes: 1024, callTimeoutSeconds: 1 }) },
        { name: 'faulty-asks', type: 'mcp', extra: mcp() },
        { name: 'faulty-pins', type: 'mcp', extra: mcp() },
        { name: 'faulty-per-minute', type: 'mcp', extra: mcp({ maxCallsPerMinute: 2 }) },
        { name: 'faulty-per-session', type: 'mcp', extra: mcp({ maxCallsPerSession: 2 }) },
      ],
    });
    token = await stack.cp.token('ai-agent');
  }, 90_000);
  afterAll(async () => {
    for (const c of clients) await c.close().catch(() => undefined);
    await stack?.close();
  });

  it('personal data in a result is masked in content and structuredContent, and the result still fits its output schema', async () => {
    const { call } = await connect('faulty');
    const res = await call('lookup', { name: 'Grace Hopper' });
    expect(res.isError).toBeFalsy();
    expect(JSON.stringify(res)).not.toContain(EMAIL);
    expect(JSON.stringify(res)).not.toContain('4111');
    expect(res.structuredContent).toEqual({ customer: { name: 'Grace Hopper', email: expect.stringMatching(/^g\*+@example\.com$/), card: expect.not.stringContaining('1111 1111') } });
  });

  it('personal data in keys, in numbers, as bare digits under a key that names them and as text labelled an image is masked', async () => {
    const { call } = await connect('faulty');
    const res = await call('ledger');
    expect(res.isError).toBeFalsy();
    expect(res.structuredContent).toEqual({ accounts: { 'g***********@example.com': { card: null, ssn: '*********', balance: 12.5 } } });
    const image = res.content.find((c) => c.type === 'image');
    expect(image?.type === 'image' ? Buffer.from(image.data, 'base64').toString() : '').toBe('owner g***********@example.com');
    expect(JSON.stringify(res)).not.toMatch(/grace\.hopper|4111111111111111|536228714/);
  });

  it('an oversized result is cut at the limit with a note, and recorded as cut', async () => {
    const { call, transport } = await connect('faulty');
    const res = await call('big', { bytes: 50_000 });
    expect(text(res)).toMatch(/^y{1024}\n\[gateway: cut at 1024 bytes of result text\]$/);
    const events = await sessionEvents(stack, transport.sessionId!, (e) => e.some((x) => x.type === 'mcp.response' && x.data.target === 'tool "big"'));
    expect(events.find((x) => x.type === 'mcp.response' && x.data.target === 'tool "big"')?.data).toMatchObject({ truncated: true });
  });

  it('a call that takes longer than the time per call gets a clear tool error; the session goes on', async () => {
    const { call } = await connect('faulty');
    const slow = await call('slow', { ms: 5000 });
    expect(slow.isError).toBe(true);
    expect(text(slow)).toMatch(/did not answer within 1 s/);
    expect((await call('lookup', { name: 'x' })).isError).toBeFalsy();
  });

  it('malformed lines from the server (not JSON, not JSON-RPC, an answer to nothing) are dropped and recorded; the call and the session go on', async () => {
    const { call, transport } = await connect('faulty');
    const res = await call('garble');
    expect(text(res)).toBe('still fine');
    expect((await call('lookup', { name: 'x' })).isError).toBeFalsy();
    const events = await sessionEvents(stack, transport.sessionId!, (e) => e.filter((x) => x.type === 'mcp.server_malformed').length >= 3);
    const malformed = events.filter((x) => x.type === 'mcp.server_malformed').map((x) => JSON.stringify(x.data));
    expect(malformed.some((m) => m.includes('an answer to no request in progress'))).toBe(true);
  });

  it("the server's log and progress notifications reach the client during the call, log text masked", async () => {
    const { client } = await connect('faulty');
    const logs: unknown[] = [];
    client.setNotificationHandler(LoggingMessageNotificationSchema, (n) => void logs.push(n.params.data));
    const progress: Progress[] = [];
    const res = (await client.callTool({ name: 'chatty', arguments: {} }, undefined, { onprogress: (p) => void progress.push(p) })) as CallToolResult;
    expect(text(res)).toBe('chatted');
    expect(progress).toEqual([{ progress: 1, total: 2, message: 'half way' }, { progress: 2, total: 2, message: 'done' }]);
    expect(logs).toEqual([expect.stringMatching(/^looking up g\*+@example\.com$/)]);
  });

  it('requests of the server (sampling, elicitation, roots) are refused by default: the client is never asked and the refusal names the policy action', async () => {
    const { call, asked, transport } = await connect('faulty');
    for (const what of ['sampling', 'elicitation', 'roots']) {
      const res = await call('ask', { what });
      expect(res.isError).toBe(true);
      expect(text(res)).toMatch(new RegExp(`refused by the gateway.*policy action mcp:${what}`));
    }
    expect(asked).toEqual([]);
    const events = await sessionEvents(stack, transport.sessionId!, (e) => e.filter((x) => x.type === 'mcp.server_request').length >= 3);
    expect(events.filter((x) => x.type === 'mcp.server_request').map((x) => [x.data.method, x.data.decision])).toEqual([['sampling/createMessage', 'deny'], ['elicitation/create', 'deny'], ['roots/list', 'deny']]);
  });

  it('where policy allows them for the resource, sampling and elicitation reach the client and its answers reach the server; roots stay refused', async () => {
    const { call, asked, transport } = await connect('faulty-asks');
    expect(text(await call('ask', { what: 'sampling' }))).toBe('sampled: hi from the client');
    expect(text(await call('ask', { what: 'elicitation' }))).toBe('elicited: accept {"name":"Ada"}');
    const roots = await call('ask', { what: 'roots' });
    expect(roots.isError).toBe(true);
    expect(asked).toEqual(['sampling', 'elicitation']);
    const events = await sessionEvents(stack, transport.sessionId!, (e) => e.filter((x) => x.type === 'mcp.server_response').length >= 2 && e.filter((x) => x.type === 'mcp.server_request').length >= 3);
    expect(events.filter((x) => x.type === 'mcp.server_request').map((x) => [x.data.method, x.data.decision])).toEqual([['sampling/createMessage', 'allow'], ['elicitation/create', 'allow'], ['roots/list', 'deny']]);
    expect(events.find((x) => x.type === 'mcp.server_request')?.data.policies).toEqual(['faulty-asks-may-ask']);
  });

  it('a tool whose description changes mid-session is withheld at once: the client hears list_changed, the tool is gone from the list and refused, and the audit says what changed', async () => {
    const { client, call } = await connect('faulty-pins');
    expect((await client.listTools()).tools.map((t) => t.name)).toContain('lookup');
    let changed = 0;
    client.setNotificationHandler(ToolListChangedNotificationSchema, () => void (changed += 1));
    expect(text(await call('rewrite'))).toBe('rewritten');
    await expect.poll(() => changed).toBeGreaterThan(0);
    const refused = await call('lookup', { name: 'x' });
    expect(refused.isError).toBe(true);
    expect(text(refused)).toMatch(/withheld: its definition is new or changed/);
    expect((await client.listTools()).tools.map((t) => t.name)).not.toContain('lookup');
    const audit = (await stack.cp.request('GET', '/api/v1/audit/events?action=mcp.tool_withheld&resource=faulty-pins', { token: stack.admin })).body.items as { details: { tool: string; change: string } }[];
    expect(audit).toContainEqual(expect.objectContaining({ details: expect.objectContaining({ tool: 'lookup', change: 'changed' }) }));
  });

  it('calls per minute and calls per session are limited, with a refusal that says which', async () => {
    const perMinute = await connect('faulty-per-minute');
    expect((await perMinute.call('lookup', { name: 'a' })).isError).toBeFalsy();
    expect((await perMinute.call('lookup', { name: 'b' })).isError).toBeFalsy();
    expect(text(await perMinute.call('lookup', { name: 'c' }))).toMatch(/limit of 2 tool calls per minute reached/);

    const perSession = await connect('faulty-per-session');
    expect((await perSession.call('lookup', { name: 'a' })).isError).toBeFalsy();
    expect((await perSession.call('lookup', { name: 'b' })).isError).toBeFalsy();
    expect(text(await perSession.call('lookup', { name: 'c' }))).toMatch(/this session reached its limit of 2 tool calls: start a new session/);
  });

  it('a server that dies mid-call: the client gets a JSON-RPC error, the session is recorded and ended, the next call is told to start a new session', async () => {
    const { call, transport } = await connect('faulty');
    const id = transport.sessionId!;
    await expect(call('crash')).rejects.toThrow(/the MCP server ended \(the MCP server closed its connection/);
    await expect(call('lookup', { name: 'x' })).rejects.toThrow(/Session not found: it ended \(the MCP server closed its connection.*initialize a new session/);
    await expect.poll(async () => (await stack.cp.request('GET', `/api/v1/sessions/${id}`, { token: stack.admin })).body.status).toBe('ended');
    const events = await sessionEvents(stack, id, (e) => e.some((x) => x.type === 'mcp.server_closed') && e.some((x) => x.type === 'session.end'));
    expect(events).toContainEqual(expect.objectContaining({ type: 'mcp.request', data: expect.objectContaining({ target: 'tool "crash"', decision: 'allow' }) }));
    expect(events).toContainEqual(expect.objectContaining({ type: 'mcp.response', data: expect.objectContaining({ target: 'tool "crash"', isError: true }) }));
    // A new session starts a new server.
    const again = await connect('faulty');
    expect((await again.call('lookup', { name: 'x' })).isError).toBeFalsy();
  });
});
