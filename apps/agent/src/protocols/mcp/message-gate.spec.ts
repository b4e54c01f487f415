import { describe, expect, it } from 'vitest';
import { Masker } from '@gw/masking';
import { createHash } from 'node:crypto';
import { duplicateToolNames, gatedRequest, isClientNotificationMethod, isReservedId, maskResult, toolHash, toolsOf, type ToolDefinition } from './message-gate.js';

const tools = new Map<string, ToolDefinition>([['write_file', { name: 'write_file', annotations: { readOnlyHint: false, destructiveHint: true } }]]);
const masker = new Masker({ entities: [{ entity: 'email', style: 'full' }], columns: [] }, { key: 'k'.repeat(32) });

describe('MCP message gate', () => {
  it('asks policy about a tool call with its name, arguments and the annotations of its listed definition', () => {
    const q = gatedRequest({ jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'write_file', arguments: { path: '/x', content: 'y' } } }, tools, '10.0.0.1');
    expect(q).toEqual({
      action: 'mcp:call_tool', target: 'tool "write_file"', tool: 'write_file',
      context: { sourceIp: '10.0.0.1', hasGrant: true, tool: 'write_file', arguments: '{"path":"/x","content":"y"}', argumentNames: ['path', 'content'], toolReadOnly: false, toolDestructive: true },
    });
    // A tool without annotations: the hints stay absent (policies test `context has`).
    expect(gatedRequest({ jsonrpc: '2.0', id: 2, method: 'tools/call', params: { name: 'other' } }, tools, '')?.context).not.toHaveProperty('toolReadOnly');
  });

  it('asks about resources/read and prompts/get, and lets lists, pings and initialize through undecided', () => {
    expect(gatedRequest({ jsonrpc: '2.0', id: 1, method: 'resources/read', params: { uri: 'file:///etc/passwd' } }, tools, '')).toMatchObject({ action: 'mcp:read_resource', context: { uri: 'file:///etc/passwd' } });
    expect(gatedRequest({ jsonrpc: '2.0', id: 1, method: 'prompts/get', params: { name: 'summary', arguments: { topic: 'x' } } }, tools, '')).toMatchObject({ action: 'mcp:get_prompt', context: { prompt: 'summary', argumentNames: ['topic'] } });
    for (const method of ['tools/list', 'ping', 'initialize', 'resources/list']) expect(gatedRequest({ jsonrpc: '2.0', id: 1, method }, tools, '')).toBeUndefined();
  });

  it('decides a subscription as reading the resource and a completion as the prompt or resource it completes, never as approvable', () => {
    expect(gatedRequest({ jsonrpc: '2.0', id: 1, method: 'resources/subscribe', params: { uri: 'db://customers' } }, tools, '')).toMatchObject({ action: 'mcp:read_resource', context: { uri: 'db://customers' }, approvable: false });
    expect(gatedRequest({ jsonrpc: '2.0', id: 1, method: 'completion/complete', params: { ref: { type: 'ref/prompt', name: 'report' }, argument: { name: 'customer', value: 'a' } } }, tools, ''))
      .toMatchObject({ action: 'mcp:get_prompt', context: { prompt: 'report', argumentNames: ['customer'], arguments: '{"customer":"a"}' }, approvable: false });
    expect(gatedRequest({ jsonrpc: '2.0', id: 1, method: 'completion/complete', params: { ref: { type: 'ref/resource', uri: 'db://customers/{email}' }, argument: { name: 'email', value: '' } } }, tools, ''))
      .toMatchObject({ action: 'mcp:read_resource', context: { uri: 'db://customers/{email}' }, approvable: false });
    // A reference of another kind (or none) is still decided, as reading an empty uri.
    expect(gatedRequest({ jsonrpc: '2.0', id: 1, method: 'completion/complete', params: { ref: { type: 'ref/new' } } }, tools, '')).toMatchObject({ action: 'mcp:read_resource', context: { uri: '' } });
    expect(gatedRequest({ jsonrpc: '2.0', id: 1, method: 'resources/unsubscribe', params: { uri: 'db://customers' } }, tools, '')).toBeUndefined();
  });

  it('masks every string leaf of a result and keeps its shape; cuts text past the limit with a note', () => {
    const result = { content: [{ type: 'text', text: 'mail ada@example.com' }], structuredContent: { content: 'ada@example.com', n: 3 }, isError: false };
    const { result: masked, truncated } = maskResult(result, masker, 10_000);
    expect(truncated).toBe(false);
    expect(JSON.stringify(masked)).not.toContain('ada@example.com');
    expect(masked).toMatchObject({ content: [{ type: 'text' }], structuredContent: { n: 3 }, isError: false });
    // An image's data is left as it is when it is binary (however long); text labelled an image is masked.
    const png = Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), Buffer.alloc(4096, 0x00), Buffer.from('ada@example.com')]).toString('base64');
    const image = maskResult({ content: [{ type: 'image', data: png, mimeType: 'image/png' }, { type: 'image', data: 'YWRhQGV4YW1wbGUuY29t', mimeType: 'image/png' }], structuredContent: { data: 'ada@example.com' } }, masker, 10_000).result;
    expect(image).toEqual({
      content: [{ type: 'image', data: png, mimeType: 'image/png' }, { type: 'image', data: Buffer.from('***@*******.***').toString('base64'), mimeType: 'image/png' }],
      structuredContent: { data: expect.not.stringContaining('ada@') },
    });
    const cut = maskResult({ content: [{ type: 'text', text: 'x'.repeat(5000) }] }, undefined, 1024);
    expect(cut.truncated).toBe(true);
    expect((cut.result as { content: { text: string }[] }).content[0]!.text).toMatch(/^x{1024}\n\[gateway: cut at 1024 bytes of result text\]$/);
  });

  it('masks keys, numbers and bare digits a key names in structured content; structural strings are masked but never cut', () => {
    const all = new Masker({ entities: (['email', 'card', 'ssn', 'phone'] as const).map((entity) => ({ entity, style: 'full' as const })), columns: [] }, { key: 'k'.repeat(32) });
    const result = {
      content: [{ type: 'text', text: 'see structured content' }],
      structuredContent: {
        accounts: { 'ada@example.com': { card: 4111111111111111, ssn: '536221234', ssns: ['772104321'], mobile: 14155550132, id: 536221234, type: 'bob@example.org' } },
      },
    };
    const { result: masked } = maskResult(result, all, 10_000);
    expect(masked).toEqual({
      content: [{ type: 'text', text: 'see structured content' }],
      structuredContent: { accounts: { '***@*******.***': { card: null, ssn: '*********', ssns: ['*********'], mobile: null, id: 536221234, type: '***@*******.***' } } },
    });
    // With the budget spent, a text is cut but a content item's type is not.
    const cut = maskResult({ content: [{ text: 'x'.repeat(100), type: 'text' }] }, all, 10).result as { content: { type: string; text: string }[] };
    expect(cut.content[0]!.type).toBe('text');
  });

  it('hashes a tool by name, description and input schema, whatever the key order; any change gives another hash', () => {
    const a = toolHash({ name: 't', description: 'd', inputSchema: { type: 'object', properties: { a: { type: 'string' } } } });
    const b = toolHash({ name: 't', description: 'd', inputSchema: { properties: { a: { type: 'string' } }, type: 'object' } });
    expect(a).toBe(b);
    expect(toolHash({ name: 't', description: 'd2', inputSchema: { type: 'object', properties: { a: { type: 'string' } } } })).not.toBe(a);
    expect(toolHash({ name: 't', description: 'd', inputSchema: { type: 'object' } })).not.toBe(a);
  });

  it('pins the annotations policy decides by (and title, output schema): relabelling a destructive tool read-only is a change', () => {
    const destructive = { name: 'wipe', description: 'd', inputSchema: { type: 'object' }, annotations: { readOnlyHint: false, destructiveHint: true } };
    const relabelled = { ...destructive, annotations: { readOnlyHint: true, destructiveHint: false } };
    expect(toolHash(relabelled)).not.toBe(toolHash(destructive));
    expect(toolHash({ ...destructive, title: 'Wipe' })).not.toBe(toolHash(destructive));
    expect(toolHash({ ...destructive, outputSchema: { type: 'object' } })).not.toBe(toolHash(destructive));
    // A tool without them keeps the hash it had before they were pinned (no re-acceptance needed).
    const plain = { name: 't', description: 'd', inputSchema: { type: 'object' } };
    expect(toolHash(plain)).toBe(createHash('sha256').update('{"description":"d","inputSchema":{"type":"object"},"name":"t"}').digest('hex'));
  });

  it('finds names a tool list holds more than once', () => {
    expect([...duplicateToolNames([{ name: 'a' }, { name: 'b' }, { name: 'a', description: 'other' }])]).toEqual(['a']);
    expect(duplicateToolNames([{ name: 'a' }, { name: 'b' }]).size).toBe(0);
  });

  it('lets only notifications go without an id, and keeps the gateway\'s own request ids to itself', () => {
    expect(isClientNotificationMethod('notifications/cancelled')).toBe(true);
    for (const m of ['tools/call', 'resources/read', 'prompts/get', 'notificationsX', 42]) expect(isClientNotificationMethod(m)).toBe(false);
    expect(isReservedId('gw-approved-1')).toBe(true);
    expect(isReservedId('gw-tools-1')).toBe(true);
    expect(isReservedId(7)).toBe(false);
    expect(isReservedId('client-1')).toBe(false);
  });

  it('reads tool definitions from a tools/list result, dropping malformed entries', () => {
    expect(toolsOf({ tools: [{ name: 'ok' }, { nope: 1 }, 'x', { name: 'n'.repeat(300) }] }).map((t) => t.name)).toEqual(['ok']);
    expect(toolsOf({})).toEqual([]);
  });
});
