import { resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startStack, type Stack } from './support/stack.js';
import { assertAgentBuilt } from './support/pg-fixture.js';
import { sessionEvents } from './support/session-events.js';
import { rawMcp } from './support/mcp-client.js';

/**
 * A lax, hand-written server (e2e/support/lax-mcp-server.mjs: runs a tools/call whatever its id,
 * relabels a tool, lists a name twice, puts customers in errors and notifications of its own) behind
 * the gateway, with raw JSON-RPC from the client: nothing it does gets past policy, pins or masking,
 * refusals are JSON-RPC errors that say why, and the session stays usable.
 */
const POLICY = `
@id("admins") permit (principal, action, resource) when { principal.gatewayRoles.contains("admin") };
@id("mcp-connect") @mask("email:partial, card:full")
permit (principal, action == Gateway::Action::"connect", resource) when { principal.gatewayRoles.contains("requester") && resource.type == "mcp" };
@id("read-only-tools") permit (principal, action == Gateway::Action::"mcp:call_tool", resource)
  when { principal.gatewayRoles.contains("requester") && context has toolReadOnly && context.toolReadOnly };
@id("public-files") permit (principal, action == Gateway::Action::"mcp:read_resource", resource)
  when { principal.gatewayRoles.contains("requester") && context has uri && context.uri like "file:///public/*" };
@id("greeting") permit (principal, action == Gateway::Action::"mcp:get_prompt", resource)
  when { principal.gatewayRoles.contains("requester") && context has prompt && context.prompt == "greeting" };
@id("held-files") @approval("required") @approvers("role:approver")
permit (principal, action == Gateway::Action::"mcp:read_resource", resource)
  when { principal.gatewayRoles.contains("requester") && context has uri && context.uri like "file:///held/*" };
`;
const SERVER = resolve('e2e/support/lax-mcp-server.mjs');
const EMAIL = 'grace.hopper@example.com';

describe('MCP servers behind the gateway: a lax server and malformed client messages', () => {
  let stack: Stack;
  let token: string;
  let ids = 100;
  const post = async (sid: string | undefined, body: unknown) => {
    const res = await rawMcp(stack.cp.baseUrl, { path: '/mcp/lax', token, body: JSON.stringify(body), headers: sid ? { 'mcp-session-id': sid } : {} });
    return { ...res, sid: res.headers.get('mcp-session-id') };
  };
  const open = async () => {
    const r = await post(undefined, { jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'raw', version: '1' } } });
    expect(r.status).toBe(200);
    await post(r.sid!, { jsonrpc: '2.0', method: 'notifications/initialized' });
    return r.sid!;
  };
  const call = (sid: string, name: string) => post(sid, { jsonrpc: '2.0', id: ++ids, method: 'tools/call', params: { name, arguments: {} } });
  const names = async (sid: string) => ((await post(sid, { jsonrpc: '2.0', id: ++ids, method: 'tools/list' })).json.result.tools as { name: string }[]).map((t) => t.name);
  const wipes = async (sid: string) => (await call(sid, 'count')).json.result.content[0].text as string;

  beforeAll(async () => {
    assertAgentBuilt();
    stack = await startStack({ policy: POLICY, resources: [{ name: 'lax', type: 'mcp', extra: { mcp: { command: process.execPath, args: [SERVER], acceptNewTools: true } } }] });
    token = await stack.cp.token('ai-agent');
  }, 90_000);
  afterAll(async () => {
    await stack?.close();
  });

  it('a denied tools/call sent without an id (or with an id of another type) is refused with a JSON-RPC error and never reaches the server; the session goes on', async () => {
    const sid = await open();
    expect((await call(sid, 'wipe')).json.result).toMatchObject({ isError: true, content: [{ text: expect.stringMatching(/tool "wipe" denied/) }] });
    const noId = await post(sid, { jsonrpc: '2.0', method: 'tools/call', params: { name: 'wipe', arguments: {} } });
    expect(noId.status).toBe(400);
    expect(noId.json.error).toMatchObject({ code: -32600, message: expect.stringMatching(/"tools\/call" without an id: only notifications/) });
    for (const id of [null, { x: 1 }, true]) {
      const odd = await post(sid, { jsonrpc: '2.0', id, method: 'tools/call', params: { name: 'wipe', arguments: {} } });
      expect(odd.status).toBe(400);
      expect(odd.json.error.message).toMatch(/must be a string or a number/);
    }
    expect(await wipes(sid)).toBe('wipes: 0');
  });

  it('ids used twice in a batch, and the ids the gateway uses for its own requests, are refused at once instead of hanging', async () => {
    const sid = await open();
    const twice = await post(sid, [1, 2].map(() => ({ jsonrpc: '2.0', id: 7, method: 'tools/call', params: { name: 'count', arguments: {} } })));
    expect(twice.status).toBe(400);
    expect(twice.json.error.message).toMatch(/id 7 is used twice in the batch/);
    const reserved = await post(sid, { jsonrpc: '2.0', id: 'gw-approved-1', method: 'tools/call', params: { name: 'count', arguments: {} } });
    expect(reserved.json.error).toMatchObject({ code: -32600, message: expect.stringMatching(/ids starting with "gw-" are the gateway's own/) });
    expect(await wipes(sid)).toBe('wipes: 0');
  });

  it('a tool relabelled read-only after it was accepted is withheld (annotations are pinned), not allowed by the read-only policy', async () => {
    const sid = await open();
    expect(await names(sid)).not.toContain('wipe');
    expect((await call(sid, 'relabel')).json.result.isError).toBeFalsy();
    expect(await names(sid)).not.toContain('wipe');
    const refused = await call(sid, 'wipe');
    expect(refused.json.result.content[0].text).toMatch(/tool "wipe" is withheld: its definition is new or changed/);
    expect(await wipes(sid)).toBe('wipes: 0');
    const audit = (await stack.cp.request('GET', '/api/v1/audit/events?action=mcp.tool_withheld&resource=lax', { token: stack.admin })).body.items as { details: Record<string, any> }[];
    expect(audit).toContainEqual(expect.objectContaining({ details: expect.objectContaining({ tool: 'wipe', change: 'changed', current: expect.objectContaining({ annotations: { readOnlyHint: true, destructiveHint: false } }) }) }));
  });

  it('a name the server lists twice (the accepted definition next to a new one) is withheld altogether, with a refusal that says why', async () => {
    const sid = await open();
    expect(await names(sid)).toContain('count');
    expect((await call(sid, 'twin')).json.result.isError).toBeFalsy();
    const listed = (await post(sid, { jsonrpc: '2.0', id: ++ids, method: 'tools/list' })).text;
    expect(listed).not.toContain('"count"');
    expect(listed).not.toContain('IMPORTANT');
    expect((await call(sid, 'count')).json.result.content[0].text).toMatch(/tool "count" is withheld: the server lists more than one definition under this name/);
    const events = await sessionEvents(stack, sid, (e) => e.some((x) => x.type === 'mcp.tools_withheld' && x.data.reason === 'listed more than once by the server'));
    expect(events.find((x) => x.data.reason === 'listed more than once by the server')?.data.tools).toEqual(['count']);
  });

  it("personal data in a server's JSON-RPC error and in notifications of any kind is masked", async () => {
    const sid = await open();
    const failed = await call(sid, 'fail');
    expect(failed.json.error).toMatchObject({ code: -32000, message: 'no such customer g***********@example.com', data: { card: '**** **** **** ****' } });
    const shouted = await call(sid, 'shout');
    expect(shouted.text).toContain('notifications/lax/customer');
    expect(shouted.text).toContain('notifications/resources/updated');
    expect(shouted.text).not.toContain(EMAIL);
    expect(shouted.text).not.toContain('4111');
  });

  it('subscribing to a resource and completing an argument are decided as reading it or getting the prompt; suggestions are masked', async () => {
    const sid = await open();
    const rpc = async (method: string, params: unknown) => (await post(sid, { jsonrpc: '2.0', id: ++ids, method, params })).json;
    const subscribed = async () => (await call(sid, 'subscriptions')).json.result.content[0].text as string;
    const secret = await rpc('resources/subscribe', { uri: 'file:///customers/all.csv' });
    expect(secret.error.message).toMatch(/subscription to resource "file:\/\/\/customers\/all.csv" denied/);
    const held = await rpc('resources/subscribe', { uri: 'file:///held/x' });
    expect(held.error.message).toMatch(/refused: policy holds it for approval.*ask for the resource or prompt itself/);
    expect(await rpc('resources/subscribe', { uri: 'file:///public/menu.txt' })).toMatchObject({ result: {} });
    expect(JSON.parse(await subscribed())).toEqual(['file:///public/menu.txt']);

    const forPrompt = await rpc('completion/complete', { ref: { type: 'ref/prompt', name: 'customer_report' }, argument: { name: 'email', value: 'gr' } });
    expect(forPrompt.error.message).toMatch(/completion of prompt "customer_report" denied/);
    const forTemplate = await rpc('completion/complete', { ref: { type: 'ref/resource', uri: 'file:///customers/{email}' }, argument: { name: 'email', value: 'gr' } });
    expect(forTemplate.error.message).toMatch(/completion of resource "file:\/\/\/customers\/\{email\}" denied/);
    const odd = await rpc('completion/complete', { ref: { type: 'ref/other' }, argument: { name: 'email', value: 'gr' } });
    expect(odd.error.message).toMatch(/denied/);
    const allowed = await rpc('completion/complete', { ref: { type: 'ref/prompt', name: 'greeting' }, argument: { name: 'name', value: 'gr' } });
    expect(allowed.result.completion.values).toHaveLength(2);
    expect(JSON.stringify(allowed)).not.toContain(EMAIL);
    expect(allowed.result.completion.values[0]).toMatch(/^g\*+@example\.com$/);
  });
});
