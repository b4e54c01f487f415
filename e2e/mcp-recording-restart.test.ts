import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnAgent, type AgentProcess } from './support/agent-process.js';
import { assertAgentBuilt } from './support/pg-fixture.js';
import { startStack, type Stack } from './support/stack.js';
import type { SessionEvent } from './support/session-events.js';

const POLICY = `
@id("admins") permit (principal, action, resource) when { principal.gatewayRoles.contains("admin") };
@id("mcp-connect") @mask("email:partial")
permit (principal, action == Gateway::Action::"connect", resource) when { principal.gatewayRoles.contains("requester") && resource.type == "mcp" };
@id("mcp-read") permit (principal, action == Gateway::Action::"mcp:call_tool", resource)
  when { principal.gatewayRoles.contains("requester") && context has toolReadOnly && context.toolReadOnly };
`;
const SERVER = resolve('node_modules/@modelcontextprotocol/server-filesystem/dist/index.js');
const EMAIL = 'dorothy.vaughan@example.com';

/*
 * An answer of an MCP server reaches the client only once its record is on the agent's disk, and the
 * spool survives the agent: a SIGKILL mid-session loses nothing the client saw. Shipping is held back
 * for an hour, so whatever reaches /api/v1/sessions after the restart came from the spool.
 */
describe('MCP recording: a session survives a SIGKILL of the agent in its recording', () => {
  let stack: Stack;
  let dir: string;
  let credential: string;
  let agent: (AgentProcess & { dir: string }) | undefined;
  const resourceEntry = () => ({ name: 'mcp-rec', type: 'mcp', mcp: { command: process.execPath, args: [SERVER, dir], acceptNewTools: true } });

  beforeAll(async () => {
    assertAgentBuilt();
    dir = await mkdtemp(join(tmpdir(), 'gw-mcp-rec-'));
    await writeFile(join(dir, 'people.txt'), `Dorothy Vaughan <${EMAIL}>\n`);
    stack = await startStack({ policy: POLICY });
    credential = (await stack.cp.request('POST', '/api/v1/agents', { token: stack.admin, body: { name: 'edge-mcp-rec' } })).body.credential as string;
  }, 60_000);
  afterAll(async () => {
    await agent?.kill();
    await stack?.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('every request and (masked) answer the client saw before the kill is under /api/v1/sessions after the restart, in order', async () => {
    agent = spawnAgent({ controlPlaneUrl: stack.cp.baseUrl, credential, resources: [resourceEntry()], config: { recording: { shipDelayMs: 3_600_000 } } });
    await stack.waitOnline('mcp-rec');
    const transport = new StreamableHTTPClientTransport(new URL(`${stack.cp.baseUrl}/mcp/mcp-rec`), { requestInit: { headers: { Authorization: `Bearer ${await stack.cp.token('ai-agent')}` } } });
    const client = new Client({ name: 'e2e-rec', version: '1.0.0' });
    await client.connect(transport);
    const sessionId = transport.sessionId!;
    for (let i = 0; i < 3; i++) {
      const res = (await client.callTool({ name: 'read_text_file', arguments: { path: join(dir, 'people.txt') } })) as CallToolResult;
      expect(JSON.stringify(res)).toContain('Dorothy Vaughan');
    }
    const events = async () => (await stack.cp.request('GET', `/api/v1/sessions/${sessionId}/events?limit=1000`, { token: stack.admin })).body.items as SessionEvent[];
    expect(await events()).toEqual([]);

    await agent.kill('SIGKILL');
    await client.close().catch(() => undefined);
    agent = spawnAgent({ controlPlaneUrl: stack.cp.baseUrl, credential, resources: [resourceEntry()], dir: agent.dir });

    let stored: SessionEvent[] = [];
    await expect.poll(async () => {
      stored = await events();
      return stored.filter((e) => e.type === 'mcp.response' && e.data.target === 'tool "read_text_file"').length;
    }, { timeout: 20_000, interval: 200 }).toBe(3);
    expect(stored[0]).toMatchObject({ seq: 0, type: 'mcp.session', data: { resource: 'mcp-rec' } });
    expect(stored.map((e) => e.seq)).toEqual(stored.map((_, i) => i));
    expect(stored.filter((e) => e.type === 'mcp.request').map((e) => [e.data.target, e.data.decision])).toEqual(Array(3).fill(['tool "read_text_file"', 'allow']));
    expect(JSON.stringify(stored)).toContain('Dorothy Vaughan');
    expect(JSON.stringify(stored)).not.toContain(EMAIL);
  }, 60_000);

  it('a control plane restart mid-session loses nothing either: the agent ships what it spooled once the control plane is back', async () => {
    await agent?.kill();
    // The killed agent's connection may still count as online for a moment: wait until it does not,
    // or the new agent's wait below returns at once and the first call finds no agent.
    await stack.waitOnline('mcp-rec', false);
    // Shipping waits a few seconds, so the calls' records are still in the agent's spool when the control plane goes.
    agent = spawnAgent({ controlPlaneUrl: stack.cp.baseUrl, credential, resources: [resourceEntry()], config: { recording: { shipDelayMs: 4000 } } });
    await stack.waitOnline('mcp-rec');
    const transport = new StreamableHTTPClientTransport(new URL(`${stack.cp.baseUrl}/mcp/mcp-rec`), { requestInit: { headers: { Authorization: `Bearer ${await stack.cp.token('ai-agent')}` } } });
    const client = new Client({ name: 'e2e-rec-cp', version: '1.0.0' });
    await client.connect(transport);
    const sessionId = transport.sessionId!;
    for (let i = 0; i < 2; i++) {
      const res = (await client.callTool({ name: 'read_text_file', arguments: { path: join(dir, 'people.txt') } })) as CallToolResult;
      expect(JSON.stringify(res)).toContain('Dorothy Vaughan');
    }
    await stack.cp.restart(500);
    await client.close().catch(() => undefined);

    const events = async () => (await stack.cp.request('GET', `/api/v1/sessions/${sessionId}/events?limit=1000`, { token: stack.admin })).body.items as SessionEvent[];
    let stored: SessionEvent[] = [];
    await expect.poll(async () => {
      stored = await events().catch(() => []);
      return stored.filter((e) => e.type === 'mcp.response' && e.data.target === 'tool "read_text_file"').length;
    }, { timeout: 30_000, interval: 300 }).toBe(2);
    expect(stored.map((e) => e.seq)).toEqual(stored.map((_, i) => i));
    expect(JSON.stringify(stored)).not.toContain(EMAIL);
    // The session the restart cut short is ended with a reason, not left active.
    await expect.poll(async () => (await stack.cp.request('GET', `/api/v1/sessions/${sessionId}`, { token: stack.admin })).body.status, { timeout: 30_000, interval: 300 }).not.toBe('active');
  }, 90_000);
});
