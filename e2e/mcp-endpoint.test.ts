import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { SignJWT, decodeJwt, decodeProtectedHeader, importJWK, type JWK } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_KEY_FILE, requestClientCredentialsToken } from '@gw/dev-idp';
import { startStack, type Stack } from './support/stack.js';
import { initializeBody, mcpClient, rawMcp } from './support/mcp-client.js';

/** mcp-remote as a desktop agent runs it: JSON-RPC lines on its stdin/stdout, Streamable HTTP to the gateway. */
async function stdioBridge(url: string, bearer: string) {
  const configDir = await mkdtemp(join(tmpdir(), 'gw-mcp-remote-'));
  const child = spawn(process.execPath, ['node_modules/mcp-remote/dist/proxy.js', url, '--transport', 'http-only', '--header', `Authorization:Bearer ${bearer}`], {
    env: { ...process.env, MCP_REMOTE_CONFIG_DIR: configDir },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  const waiting = new Map<number, (msg: any) => void>();
  createInterface({ input: child.stdout }).on('line', (line) => {
    try {
      const msg = JSON.parse(line) as { id?: number };
      if (typeof msg.id === 'number') waiting.get(msg.id)?.(msg);
    } catch {
      /* not JSON-RPC */
    }
  });
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr = (stderr + chunk.toString('utf8')).slice(-20_000)));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  let nextId = 1;
  return {
    exited,
    stderr: () => stderr,
    request(method: string, params: unknown): Promise<any> {
      const id = nextId++;
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no answer to ${method}`)), 20_000);
        waiting.set(id, (msg) => {
          clearTimeout(timer);
          resolve(msg);
        });
        child.stdin.write(`${JSON.stringify({ jsonrpc: '2.0', id, method, params })}\n`);
      });
    },
    notify(method: string) {
      child.stdin.write(`${JSON.stringify({ jsonrpc: '2.0', method })}\n`);
    },
    close() {
      child.kill();
      void rm(configDir, { recursive: true, force: true });
    },
  };
}

const POLICY = `
@id("admins") permit (principal, action, resource) when { principal.gatewayRoles.contains("admin") };
@id("pg-connect") permit (principal, action == Gateway::Action::"connect", resource)
  when { principal.gatewayRoles.contains("requester") && resource.type == "postgres" };
@id("pg-read") permit (principal, action in Gateway::Action::"sql:read", resource) when { principal.gatewayRoles.contains("requester") };
@id("no-mcp-schema") @reason("schema reads over MCP are off here")
forbid (principal, action == Gateway::Action::"connect", resource) when { context has via && context.via == "mcp" && context has tool && context.tool == "postgres_schema" };
`;

/** A token signed by the dev IdP's own key, for the gateway's audience, that expired an hour ago. */
async function expiredToken(fresh: string): Promise<string> {
  const { kid } = decodeProtectedHeader(fresh);
  const keys = (JSON.parse(await readFile(DEFAULT_KEY_FILE, 'utf8')) as { keys: JWK[] }).keys;
  const jwk = keys.find((k) => k.kid === kid)!;
  const now = Math.floor(Date.now() / 1000);
  const claims = { ...decodeJwt(fresh), iat: now - 7200, nbf: now - 7200, exp: now - 3600 };
  return new SignJWT(claims).setProtectedHeader({ alg: jwk.alg!, kid: jwk.kid!, typ: 'at+jwt' }).sign(await importJWK(jwk, jwk.alg));
}

describe('MCP endpoint: protected resource metadata, tokens, Origin, sessions, malformed and oversized requests', () => {
  let stack: Stack;
  let token: string;
  let base: string;

  beforeAll(async () => {
    stack = await startStack({
      policy: POLICY,
      env: { MCP_ALLOWED_ORIGINS: 'https://console.example.com', MCP_MAX_REQUEST_BYTES: '65536' },
      resources: [{ name: 'pg-offline', type: 'postgres', address: '127.0.0.1:5432', extra: { credentials: { user: 'literal:postgres' }, postgres: { database: 'postgres' } } }],
    });
    token = await stack.cp.token('ai-agent');
    base = stack.cp.baseUrl;
  }, 60_000);
  afterAll(async () => {
    await stack?.close();
  });

  it('serves RFC 9728 metadata (root and /mcp path form) naming the trusted issuer', async () => {
    const issuer = (stack.cp.config.identity.issuers as { issuer: string }[])[0]!.issuer;
    for (const path of ['/.well-known/oauth-protected-resource', '/.well-known/oauth-protected-resource/mcp']) {
      const res = await stack.cp.request('GET', path);
      expect(res.status).toBe(200);
      expect(res.body).toMatchObject({ resource: stack.cp.config.mcp.resourceUrl, authorization_servers: [issuer], bearer_methods_supported: ['header'], scopes_supported: ['api://gateway/.default'] });
    }
  });

  it('401 with WWW-Authenticate resource_metadata without a token, with a token for another audience, and with an expired one; a refused token is audited', async () => {
    const metadata = `resource_metadata="${new URL(stack.cp.config.mcp.resourceUrl).origin}/.well-known/oauth-protected-resource/mcp"`;
    const none = await rawMcp(base, { body: initializeBody() });
    expect(none.status).toBe(401);
    expect(none.headers.get('www-authenticate')).toBe(`Bearer ${metadata}`);
    expect(none.json).toMatchObject({ jsonrpc: '2.0', error: { code: -32000 } });

    const wrongAud = await rawMcp(base, { token: await issueFor('api://something-else'), body: initializeBody() });
    expect(wrongAud.status).toBe(401);
    expect(wrongAud.headers.get('www-authenticate')).toContain(metadata);
    expect(wrongAud.headers.get('www-authenticate')).toContain('error="invalid_token"');

    const expired = await rawMcp(base, { token: await expiredToken(token), body: initializeBody() });
    expect(expired.status).toBe(401);
    expect(expired.headers.get('www-authenticate')).toMatch(/error="invalid_token", error_description="[^"]*expired/);

    const audit = await stack.cp.request('GET', '/api/v1/audit/events?action=auth.token_refused', { token: stack.admin });
    expect(audit.body.items.filter((e: { details: { path: string } }) => e.details.path === 'mcp').length).toBeGreaterThanOrEqual(2);
    // The SDK client fails the same way: nothing is listed without a valid token.
    await expect(mcpClient(base, 'not-a-token')).rejects.toThrow();
  });

  /** A real dev IdP token for the same workload, issued for another resource (audience). */
  const issueFor = (resource: string) =>
    requestClientCredentialsToken(`${(stack.cp.config.identity.issuers as { issuer: string }[])[0]!.issuer}/token`, 'ai-agent', { resource });

  it('a foreign Origin gets 403; an allowed one and none (not a browser) are served', async () => {
    const foreign = await rawMcp(base, { token, body: initializeBody(), headers: { origin: 'https://evil.example' } });
    expect(foreign.status).toBe(403);
    expect(foreign.json).toMatchObject({ error: { code: -32000 } });
    const allowed = await rawMcp(base, { token, body: initializeBody(), headers: { origin: 'https://console.example.com' } });
    expect(allowed.status).toBe(200);
  });

  it('negotiates 2025-06-18 and 2025-11-25, gives a session id, refuses requests without it (400) or with an unknown or ended one (404)', async () => {
    for (const version of ['2025-06-18', '2025-11-25']) {
      const init = await rawMcp(base, { token, body: initializeBody(1, version) });
      expect(init.status).toBe(200);
      expect(init.json.result.protocolVersion).toBe(version);
      expect(init.json.result.serverInfo.name).toBe('gateway');
      const sid = init.headers.get('mcp-session-id')!;
      expect(sid).toMatch(/^[0-9a-f-]{36}$/);
      const headers = { 'mcp-session-id': sid, 'mcp-protocol-version': version };
      const list = await rawMcp(base, { token, headers, body: JSON.stringify({ jsonrpc: '2.0', id: 2, method: 'tools/list' }) });
      expect(list.status).toBe(200);
      expect(list.json.result.tools.length).toBe(7);
      // The session is the principal's: another principal's token does not find it.
      const other = await rawMcp(base, { token: await stack.cp.token('approver'), headers, body: JSON.stringify({ jsonrpc: '2.0', id: 3, method: 'tools/list' }) });
      expect(other.status).toBe(404);
      expect((await rawMcp(base, { token, method: 'DELETE', headers })).status).toBe(204);
      const after = await rawMcp(base, { token, headers, body: JSON.stringify({ jsonrpc: '2.0', id: 4, method: 'tools/list' }) });
      expect(after.status).toBe(404);
      expect(after.json).toMatchObject({ error: { code: -32001 } });
    }
    const missing = await rawMcp(base, { token, body: JSON.stringify({ jsonrpc: '2.0', id: 5, method: 'tools/list' }) });
    expect(missing.status).toBe(400);
    expect((await rawMcp(base, { token, method: 'GET' })).status).toBe(405);
  });

  it('malformed JSON gets -32700, a non-JSON-RPC message -32700/-32600, an oversized body 413, an unknown method -32601, unknown tool arguments a tool error', async () => {
    const bad = await rawMcp(base, { token, body: '{"jsonrpc":"2.0", "id": 1, "method": ' });
    expect(bad.status).toBe(400);
    expect(bad.json).toMatchObject({ jsonrpc: '2.0', error: { code: -32700 }, id: null });
    const big = await rawMcp(base, { token, body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'initialize', params: { pad: 'x'.repeat(70_000) } }) });
    expect(big.status).toBe(413);
    const init = await rawMcp(base, { token, body: initializeBody() });
    const headers = { 'mcp-session-id': init.headers.get('mcp-session-id')!, 'mcp-protocol-version': '2025-06-18' };
    const notRpc = await rawMcp(base, { token, headers, body: JSON.stringify({ hello: 'world' }) });
    expect(notRpc.status).toBe(400);
    expect([-32700, -32600]).toContain(notRpc.json.error.code);
    const unknownMethod = await rawMcp(base, { token, headers, body: JSON.stringify({ jsonrpc: '2.0', id: 7, method: 'no/such' }) });
    expect(unknownMethod.json).toMatchObject({ id: 7, error: { code: -32601 } });
    // A request without an id is not a notification; ids are strings or numbers, once per batch.
    const noId = await rawMcp(base, { token, headers, body: JSON.stringify({ jsonrpc: '2.0', method: 'tools/call', params: { name: 'list_resources', arguments: {} } }) });
    expect(noId.status).toBe(400);
    expect(noId.json.error).toMatchObject({ code: -32600, message: expect.stringMatching(/"tools\/call" without an id: only notifications/) });
    const twice = await rawMcp(base, { token, headers, body: JSON.stringify([1, 2].map(() => ({ jsonrpc: '2.0', id: 9, method: 'tools/list' }))) });
    expect(twice.json.error.message).toMatch(/id 9 is used twice in the batch/);
    const badArgs = await rawMcp(base, { token, headers, body: JSON.stringify({ jsonrpc: '2.0', id: 8, method: 'tools/call', params: { name: 'postgres_query', arguments: { resource: 'pg-offline' } } }) });
    const error = badArgs.json.error ?? (badArgs.json.result?.isError ? badArgs.json.result : undefined);
    expect(error).toBeDefined();
    expect(JSON.stringify(badArgs.json)).not.toMatch(/at .*\.js:\d+/); // no stack trace
  });

  it('an MCP client program not written here (mcp-remote, the stdio-to-HTTP bridge desktop agents use) lists and calls tools with the token, and gets nothing without it', async () => {
    const bridge = await stdioBridge(`${base}/mcp`, token);
    try {
      const init = await bridge.request('initialize', { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'desktop-agent', version: '9.9' } });
      expect(init.result.serverInfo.name).toBe('gateway');
      bridge.notify('notifications/initialized');
      const tools = await bridge.request('tools/list', {});
      expect(tools.result.tools.map((t: { name: string }) => t.name)).toContain('postgres_query');
      const listed = await bridge.request('tools/call', { name: 'list_resources', arguments: {} });
      expect(JSON.stringify(listed.result.structuredContent)).toContain('pg-offline');
    } finally {
      bridge.close();
    }
    const refused = await stdioBridge(`${base}/mcp`, 'not-a-token');
    try {
      // Without a valid token the bridge never gets a session: it exits or answers with an error.
      const outcome = await Promise.race([
        refused.request('initialize', { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'x', version: '1' } }).then((r) => (r.error ? 'error' : 'served')),
        refused.exited.then(() => 'exited'),
      ]);
      expect(outcome).not.toBe('served');
    } finally {
      refused.close();
    }
  });

  it('policy sees MCP calls as such (context.via and context.tool on connect): a forbid on one tool refuses it with its reason', async () => {
    const mcp = await mcpClient(base, token);
    try {
      const res = await mcp.call('postgres_schema', { resource: 'pg-offline', role: 'postgres' });
      expect(res.isError).toBe(true);
      expect(res.structuredContent).toMatchObject({ error: 'denied' });
      expect(res.structuredContent.message).toContain('schema reads over MCP are off here');
      const dry = await stack.cp.request('POST', '/api/v1/policies/dry-run', {
        token: stack.admin,
        body: { principal: { id: 'x', gatewayRoles: ['requester'] }, action: 'connect', resource: { name: 'pg-offline', type: 'postgres' }, context: { via: 'mcp', tool: 'postgres_query' } },
      });
      expect(dry.body).toMatchObject({ decision: { effect: 'allow', determiningPolicies: ['pg-connect'] } });
    } finally {
      await mcp.close();
    }
  });

  it('a call while the agent is offline is a tool error saying so, recorded in the audit chain', async () => {
    const mcp = await mcpClient(base, token);
    try {
      for (const agent of stack.agents) await agent.close();
      await stack.waitOnline('pg-offline', false);
      const res = await mcp.call('postgres_query', { resource: 'pg-offline', role: 'postgres', sql: 'SELECT 1' });
      expect(res.isError).toBe(true);
      expect(res.structuredContent).toMatchObject({ error: 'resource_offline' });
      expect(res.structuredContent.message).toMatch(/offline/);
      const audit = await stack.cp.request('GET', '/api/v1/audit/events?action=mcp.tool_call', { token: stack.admin });
      expect(audit.body.items[0]).toMatchObject({ outcome: 'failure', resource: 'pg-offline', details: { tool: 'postgres_query', error: 'resource_offline' } });
    } finally {
      await mcp.close();
    }
  });
});
