import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEMO_POLICY } from '@gw/policy';
// @ts-expect-error: a plain .mjs tool of the quick start, without types
import { ensureDemoData } from '../tools/demo-data.mjs';
import { startStack, type Stack } from './support/stack.js';
import { mcpClient, type McpTestClient } from './support/mcp-client.js';

/**
 * The README's MCP walk-through, read from the README itself, run against the shipped demo policy and
 * the demo database `npm start` makes (`postgres-demo`, labelled env=prod as in examples/agent.yaml):
 * the tool calls it shows must do what its comments say. The held DELETE is denied here (the
 * approve path is in mcp-tools.test.ts), so the shared demo data stays as it is.
 */
const README = readFileSync(new URL('../README.md', import.meta.url), 'utf8');
const SECTION = README.slice(README.indexOf('### AI agents over MCP'), README.indexOf('\n## ', README.indexOf('### AI agents over MCP')));

/** The `tools/call` params of each `mcp '...'` line, in order. */
function toolCalls(): { name: string; arguments: Record<string, unknown> }[] {
  return [...SECTION.matchAll(/^mcp '(.*)'$/gm)].map((m) => (JSON.parse(m[1]!) as { params: { name: string; arguments: Record<string, unknown> } }).params);
}

describe('README "AI agents over MCP" under the demo policy', () => {
  let stack: Stack;
  let mcp: McpTestClient;

  beforeAll(async () => {
    await ensureDemoData();
    stack = await startStack({
      policy: DEMO_POLICY,
      resources: [{ name: 'postgres-demo', type: 'postgres', address: '127.0.0.1:5432', labels: { demo: 'true', env: 'prod' }, extra: { postgres: { database: 'gateway_demo', mode: 'ephemeral' }, credentials: { user: 'literal:postgres' } } }],
    });
    mcp = await mcpClient(stack.cp.baseUrl, await stack.cp.token('ai-agent'));
  }, 60_000);
  afterAll(async () => {
    await mcp?.close();
    await stack?.close();
  });

  it('shows a client settings snippet with the endpoint, the bearer token and the token command', () => {
    const json = /```json\n([\s\S]*?)```/.exec(SECTION)?.[1];
    const settings = JSON.parse(json!) as { mcpServers: { gateway: { type: string; url: string; headers: Record<string, string> } } };
    expect(settings.mcpServers.gateway).toMatchObject({ type: 'http', url: 'http://127.0.0.1:8080/mcp' });
    expect(settings.mcpServers.gateway.headers.Authorization).toMatch(/^Bearer /);
    expect(SECTION).toContain('npm run -s token -- ai-agent');
  });

  it('the Postgres calls do what the comments say: rows masked, DROP denied by the named policy, DELETE held', async () => {
    const calls = toolCalls().filter((c) => c.name !== 'wait_for_approval' && c.name !== 'ssh_exec');
    expect(calls.map((c) => c.name)).toEqual(['list_resources', 'postgres_query', 'postgres_query', 'postgres_query']);
    const listed = await mcp.call(calls[0]!.name, calls[0]!.arguments);
    expect(listed.structuredContent.resources).toContainEqual(expect.objectContaining({ name: 'postgres-demo', online: true, connect: 'allow' }));

    const rows = await mcp.call(calls[1]!.name, calls[1]!.arguments);
    expect(rows.isError).toBeFalsy();
    const text = JSON.stringify(rows.structuredContent.rows);
    expect(text).not.toContain('ada@example.com');
    expect(text).not.toContain('4111 1111 1111 1111');
    expect(text).toContain('a**@example.com');

    const denied = await mcp.call(calls[2]!.name, calls[2]!.arguments);
    expect(denied.isError).toBe(true);
    expect(denied.structuredContent.message).toMatch(/^denied by policy "requester-no-ddl-or-admin": /);
    expect(SECTION).toContain('isError: denied by policy "requester-no-ddl-or-admin"');

    const held = await mcp.call(calls[3]!.name, calls[3]!.arguments);
    expect(held.structuredContent).toMatchObject({ error: 'approval_required' });
    expect(held.structuredContent.message).toMatch(/^held for approval [0-9a-f-]{36}: it has NOT run/);
    const id = held.structuredContent.approvalId as string;
    const approver = await stack.cp.token('approver');
    expect((await stack.cp.request('POST', `/api/v1/approvals/${id}/deny`, { token: approver, body: { comment: 'README test' } })).status).toBe(200);
    const waited = await mcp.call('wait_for_approval', { id, timeoutSeconds: 30 });
    expect(waited.isError).toBe(true);
    expect(waited.structuredContent.message).toContain('did not run');
  });
});
