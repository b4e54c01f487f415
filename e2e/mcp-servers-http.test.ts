import { spawn, type ChildProcess } from 'node:child_process';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { CreateMessageRequestSchema, ElicitRequestSchema, type CallToolResult, type Progress } from '@modelcontextprotocol/sdk/types.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startStack, type Stack } from './support/stack.js';
import { assertAgentBuilt } from './support/pg-fixture.js';
import { freePort } from './support/sshd.js';

/** Workloads may call the echo tool (masked) and nothing else of this server. */
const POLICY = `
@id("admins") permit (principal, action, resource) when { principal.gatewayRoles.contains("admin") };
@id("mcp-connect") @mask("email:partial")
permit (principal, action == Gateway::Action::"connect", resource) when { principal.gatewayRoles.contains("requester") && resource.type == "mcp" };
@id("echo-only") permit (principal, action == Gateway::Action::"mcp:call_tool", resource)
  when { principal.gatewayRoles.contains("requester") && context has tool && context.tool == "echo" };
@id("asks-tools") permit (principal, action == Gateway::Action::"mcp:call_tool", resource)
  when { principal.gatewayRoles.contains("requester") && resource.name == "everything-asks" && context has tool
    && ["trigger-sampling-request", "trigger-elicitation-request", "trigger-long-running-operation"].contains(context.tool) };
@id("asks-may-sample") permit (principal, action in [Gateway::Action::"mcp:sampling", Gateway::Action::"mcp:elicitation"], resource)
  when { principal.gatewayRoles.contains("requester") && resource.name == "everything-asks" };
`;
const SERVER = 'node_modules/@modelcontextprotocol/server-everything/dist/index.js';
/** A client that would let the server sample its model, ask its user and read its roots. */
const CAPABLE = { capabilities: { sampling: {}, elicitation: {}, roots: { listChanged: true } } };

describe('MCP servers behind the gateway: @modelcontextprotocol/server-everything over Streamable HTTP', () => {
  let stack: Stack;
  let server: ChildProcess;
  let serverUrl: string;
  let token: string;
  const clients: Client[] = [];

  const connect = async (url: string, headers: Record<string, string> = {}) => {
    const client = new Client({ name: 'e2e-everything', version: '1.0.0' }, CAPABLE);
    // Requests the server makes of this client would be answered here; the gateway must never let one through.
    const asked: string[] = [];
    client.fallbackRequestHandler = (request) => {
      asked.push(request.method);
      return Promise.resolve({});
    };
    await client.connect(new StreamableHTTPClientTransport(new URL(url), { requestInit: { headers } }));
    clients.push(client);
    return { client, asked };
  };

  beforeAll(async () => {
    assertAgentBuilt();
    const port = await freePort();
    serverUrl = `http://127.0.0.1:${port}/mcp`;
    server = spawn(process.execPath, [SERVER, 'streamableHttp'], { env: { ...process.env, PORT: String(port) }, stdio: ['ignore', 'ignore', 'pipe'] });
    await new Promise<void>((resolve, reject) => {
      let log = '';
      server.stderr!.on('data', (chunk: Buffer) => {
        log += chunk.toString('utf8');
        if (log.includes('listening on port')) resolve();
      });
      server.once('exit', (code) => reject(new Error(`server-everything exited (${code}): ${log}`)));
    });
    stack = await startStack({
      policy: POLICY,
      resources: [
        { name: 'everything', type: 'mcp', extra: { mcp: { url: serverUrl, acceptNewTools: true } } },
        { name: 'everything-asks', type: 'mcp', extra: { mcp: { url: serverUrl, acceptNewTools: true } } },
      ],
    });
    token = await stack.cp.token('ai-agent');
  }, 90_000);
  afterAll(async () => {
    for (const c of clients) await c.close().catch(() => undefined);
    await stack?.close();
    server?.kill();
  });

  it('the server offers sampling and elicitation tools to a capable client directly, but through the gateway it never learns the client could', async () => {
    const direct = (await (await connect(serverUrl)).client.listTools()).tools.map((t) => t.name);
    expect(direct).toContain('trigger-sampling-request');
    expect(direct).toContain('trigger-elicitation-request');

    const { client, asked } = await connect(`${stack.cp.baseUrl}/mcp/everything`, { Authorization: `Bearer ${token}` });
    const through = (await client.listTools()).tools.map((t) => t.name);
    // Only what policy allows is listed, and the server registered no sampling or elicitation tool for this session.
    expect(through).toEqual(['echo']);
    const sampling = (await client.callTool({ name: 'trigger-sampling-request', arguments: { prompt: 'hi' } })) as CallToolResult;
    expect(sampling.isError).toBe(true);
    expect(asked).toEqual([]);
  });

  it('an allowed call reaches the server over Streamable HTTP and its answer comes back masked', async () => {
    const { client } = await connect(`${stack.cp.baseUrl}/mcp/everything`, { Authorization: `Bearer ${token}` });
    const res = (await client.callTool({ name: 'echo', arguments: { message: 'contact ada.lovelace@example.com' } })) as CallToolResult;
    expect(res.isError).toBeFalsy();
    const text = res.content.map((c) => (c.type === 'text' ? c.text : '')).join('');
    expect(text).toMatch(/^Echo: contact a\*+@example\.com$/);
  });

  it('where policy allows sampling and elicitation for the resource, the server\'s requests reach the client over the SSE stream of the call and the answers reach the server; progress comes through', async () => {
    const { client, asked } = await connect(`${stack.cp.baseUrl}/mcp/everything-asks`, { Authorization: `Bearer ${token}` });
    client.setRequestHandler(CreateMessageRequestSchema, (request) => {
      asked.push(request.method);
      return { model: 'e2e-model', role: 'assistant', content: { type: 'text', text: 'sampled by the client' } };
    });
    client.setRequestHandler(ElicitRequestSchema, (request) => {
      asked.push(request.method);
      return { action: 'decline' };
    });
    const names = (await client.listTools()).tools.map((t) => t.name);
    expect(names).toEqual(expect.arrayContaining(['trigger-sampling-request', 'trigger-elicitation-request']));

    const sampled = (await client.callTool({ name: 'trigger-sampling-request', arguments: { prompt: 'hi' } })) as CallToolResult;
    expect(sampled.isError).toBeFalsy();
    expect(JSON.stringify(sampled.content)).toContain('sampled by the client');
    const elicited = (await client.callTool({ name: 'trigger-elicitation-request', arguments: {} })) as CallToolResult;
    expect(JSON.stringify(elicited.content)).toMatch(/declined/);
    expect(asked).toEqual(['sampling/createMessage', 'elicitation/create']);

    const progress: Progress[] = [];
    await client.callTool({ name: 'trigger-long-running-operation', arguments: { duration: 1, steps: 2 } }, undefined, { onprogress: (p) => void progress.push(p) });
    expect(progress.map((p) => p.progress)).toEqual([1, 2]);
  });
});
