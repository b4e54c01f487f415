import { describe, expect, it } from 'vitest';
import { Masker } from '@gw/masking';
import { isGatewayNotification, isServerRequestMethod, maskedError, maskedNotification, withAllowedCapabilities } from './server-messages.js';

const masker = new Masker({ entities: [{ entity: 'email', style: 'full' }], columns: [] }, { key: 'k'.repeat(32) });
const initialize = { jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-11-25', capabilities: { sampling: {}, elicitation: {}, roots: { listChanged: true }, experimental: {} }, clientInfo: { name: 'c', version: '1' } } };

describe('MCP server-initiated messages', () => {
  it('keeps only the client capabilities whose server requests policy allows; the rest of initialize is untouched', () => {
    const none = withAllowedCapabilities(initialize, () => false);
    expect(none).toEqual({ ...initialize, params: { ...initialize.params, capabilities: { experimental: {} } } });
    const sampling = withAllowedCapabilities(initialize, (m) => m === 'sampling/createMessage');
    expect((sampling.params as { capabilities: object }).capabilities).toEqual({ sampling: {}, experimental: {} });
    expect(withAllowedCapabilities({ jsonrpc: '2.0', id: 1, method: 'initialize' }, () => false)).toEqual({ jsonrpc: '2.0', id: 1, method: 'initialize' });
  });

  it('knows the three server requests by method, and nothing else (not even inherited object keys)', () => {
    expect(['sampling/createMessage', 'elicitation/create', 'roots/list'].every(isServerRequestMethod)).toBe(true);
    for (const m of ['ping', 'toString', '__proto__', 'tools/call', 42]) expect(isServerRequestMethod(m)).toBe(false);
  });

  it("masks the text of every notification (log, progress, a resource's URI, the server's own kinds), never progress tokens or request ids; the gateway's own namespace is recognised", () => {
    const log = maskedNotification({ jsonrpc: '2.0', method: 'notifications/message', params: { level: 'info', data: { who: 'ada@example.com', n: 1 } } }, masker);
    expect(JSON.stringify(log)).not.toContain('ada@example.com');
    expect(log).toMatchObject({ params: { level: 'info', data: { n: 1 } } });
    const progress = maskedNotification({ jsonrpc: '2.0', method: 'notifications/progress', params: { progressToken: 'ada@example.com', progress: 1, message: 'mail ada@example.com' } }, masker);
    expect(progress.params).toMatchObject({ progressToken: 'ada@example.com', progress: 1, message: expect.not.stringContaining('ada@') });
    // A URI is masked as resources/list shows it (the client never saw the address unmasked).
    const updated = maskedNotification({ jsonrpc: '2.0', method: 'notifications/resources/updated', params: { uri: 'file:///ada@example.com.txt' } }, masker);
    expect(JSON.stringify(updated)).not.toContain('ada@example.com');
    const own = maskedNotification({ jsonrpc: '2.0', method: 'notifications/acme/customer', params: { customer: 'ada@example.com', nested: [{ 'ada@example.com': 1 }] } }, masker);
    expect(JSON.stringify(own)).not.toContain('ada@example.com');
    const cancelled = maskedNotification({ jsonrpc: '2.0', method: 'notifications/cancelled', params: { requestId: 'ada@example.com', reason: 'for ada@example.com' } }, masker);
    expect(cancelled.params).toMatchObject({ requestId: 'ada@example.com', reason: expect.not.stringContaining('ada@') });
    expect(isGatewayNotification({ jsonrpc: '2.0', method: 'notifications/gateway/held_call' })).toBe(true);
    expect(isGatewayNotification({ jsonrpc: '2.0', method: 'notifications/message' })).toBe(false);
  });

  it("masks a server error's message and data, keeping its code", () => {
    const error = maskedError({ code: -32000, message: 'no customer ada@example.com', data: { email: 'ada@example.com', n: 2 } }, masker) as Record<string, unknown>;
    expect(error.code).toBe(-32000);
    expect(JSON.stringify(error)).not.toContain('ada@example.com');
    expect(error.data).toMatchObject({ n: 2 });
    expect(maskedError({ code: 1, message: 'x' }, undefined)).toEqual({ code: 1, message: 'x' });
  });
});
