import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { ResourceUpdatedNotificationSchema, type CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startStack, type Stack } from './support/stack.js';
import { assertAgentBuilt } from './support/pg-fixture.js';
import { sessionEvents } from './support/session-events.js';

/** Workloads may use the knowledge graph (results masked) but never delete from it. */
const POLICY = `
@id("admins") permit (principal, action, resource) when { principal.gatewayRoles.contains("admin") };
@id("mcp-connect") @mask("email:partial, card:full")
permit (principal, action == Gateway::Action::"connect", resource) when { principal.gatewayRoles.contains("requester") && resource.type == "mcp" };
@id("memory-use") permit (principal, action in Gateway::Action::"mcp", resource) when { principal.gatewayRoles.contains("requester") };
@id("no-deletes") @reason("workloads never delete from the knowledge graph")
forbid (principal, action == Gateway::Action::"mcp:call_tool", resource) when { context has toolDestructive && context.toolDestructive };
`;
const SERVER = 'node_modules/@modelcontextprotocol/server-memory/dist/index.js';
const EMAIL = 'katherine.johnson@example.com';
const CARD = '4111 1111 1111 1111';
const text = (r: CallToolResult) => r.content.map((c) => (c.type === 'text' ? c.text : '')).join('\n');

describe('MCP servers behind the gateway: @modelcontextprotocol/server-memory over stdio, run by the agent', () => {
  let stack: Stack;
  let dir: string;
  let token: string;
  const clients: Client[] = [];

  const connect = async () => {
    const transport = new StreamableHTTPClientTransport(new URL(`${stack.cp.baseUrl}/mcp/memory`), { requestInit: { headers: { Authorization: `Bearer ${token}` } } });
    const client = new Client({ name: 'e2e-memory-agent', version: '1.0.0' });
    await client.connect(transport);
    clients.push(client);
    return { client, transport, call: async (name: string, args: Record<string, unknown>) => (await client.callTool({ name, arguments: args })) as CallToolResult };
  };

  beforeAll(async () => {
    assertAgentBuilt();
    dir = await mkdtemp(join(tmpdir(), 'gw-mcp-memory-'));
    stack = await startStack({
      policy: POLICY,
      resources: [{ name: 'memory', type: 'mcp', extra: { mcp: { command: process.execPath, args: [SERVER], env: { MEMORY_FILE_PATH: `literal:${join(dir, 'memory.jsonl')}` }, acceptNewTools: true } } }],
    });
    token = await stack.cp.token('ai-agent');
  }, 90_000);
  afterAll(async () => {
    for (const c of clients) await c.close().catch(() => undefined);
    await stack?.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('creates entities and reads the graph back: the server stores the real values, the client sees them masked (content and structuredContent)', async () => {
    const { call, transport } = await connect();
    const created = await call('create_entities', { entities: [{ name: 'Katherine Johnson', entityType: 'person', observations: [`mail ${EMAIL}`, `card ${CARD}`] }] });
    expect(created.isError).toBeFalsy();
    expect(JSON.stringify(created)).not.toContain(EMAIL);
    // The server behind the gateway holds the real data; masking is on what leaves the agent.
    expect(await readFile(join(dir, 'memory.jsonl'), 'utf8')).toContain(EMAIL);

    const graph = await call('read_graph', {});
    expect(graph.isError).toBeFalsy();
    const all = JSON.stringify(graph);
    expect(all).toContain('Katherine Johnson');
    expect(all).not.toContain(EMAIL);
    expect(all).not.toContain('4111');
    expect(graph.structuredContent).toMatchObject({ entities: [{ name: 'Katherine Johnson', observations: [expect.stringMatching(/^mail k\*+@example\.com$/), expect.not.stringContaining('1111 1111')] }] });
    expect(text(graph)).toMatch(/k\*+@example\.com/);

    // Shipped in batches: wait for the last call's answer, not a count (initialize has answers too).
    const events = await sessionEvents(stack, transport.sessionId!, (e) => e.some((x) => x.type === 'mcp.response' && x.data.target === 'tool "read_graph"'));
    expect(events.filter((x) => x.type === 'mcp.request').map((x) => [x.data.target, x.data.decision])).toEqual([['tool "create_entities"', 'allow'], ['tool "read_graph"', 'allow']]);
    expect(JSON.stringify(events)).not.toContain(EMAIL);
  });

  it('destructive tools are hidden and refused, naming the policy; nothing is deleted', async () => {
    const { client, call } = await connect();
    const names = (await client.listTools()).tools.map((t) => t.name);
    expect(names).toContain('read_graph');
    expect(names).not.toContain('delete_entities');
    const refused = await call('delete_entities', { entityNames: ['Katherine Johnson'] });
    expect(refused.isError).toBe(true);
    expect(text(refused)).toMatch(/denied by policy "no-deletes": workloads never delete/);
    expect(await readFile(join(dir, 'memory.jsonl'), 'utf8')).toContain('Katherine Johnson');
  });

  it("the server's resources/updated notification reaches a subscribed client; reading the resource is masked", async () => {
    const { client, call } = await connect();
    const updated: string[] = [];
    client.setNotificationHandler(ResourceUpdatedNotificationSchema, (n) => void updated.push(n.params.uri));
    await client.subscribeResource({ uri: 'memory://knowledge-graph' });
    expect((await call('add_observations', { observations: [{ entityName: 'Katherine Johnson', contents: ['also reachable at kj@example.org'] }] })).isError).toBeFalsy();
    await expect.poll(() => updated).toEqual(['memory://knowledge-graph']);
    const read = await client.readResource({ uri: 'memory://knowledge-graph' });
    const body = JSON.stringify(read);
    expect(body).toContain('Katherine Johnson');
    expect(body).not.toContain(EMAIL);
    expect(body).not.toContain('kj@example.org');
  });
});
