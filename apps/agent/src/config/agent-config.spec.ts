import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inspect } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { AgentConfigError, loadAgentConfig, parseAgentConfig } from './agent-config.js';

const dir = mkdtempSync(join(tmpdir(), 'gw-agent-config-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const GOOD = `
controlPlane:
  url: http://127.0.0.1:8080
auth:
  credential: env:GW_AGENT_CREDENTIAL
resources:
  - name: redis
    type: tcp
    address: 127.0.0.1:6379
    labels: { demo: "true", env: dev }
  - name: postgres-demo
    type: postgres
    address: "[::1]:5432"
    environment: dev
    credentials:
      user: literal:postgres
`;
const env = { GW_AGENT_CREDENTIAL: 'gwa_secret_value' };

function issuesOf(text: string, e: Record<string, string> = env): string[] {
  try {
    parseAgentConfig(text, { env: e });
  } catch (error) {
    if (error instanceof AgentConfigError) return error.issues;
    throw error;
  }
  throw new Error('expected the config to be refused');
}

describe('agent config', () => {
  it('parses a good file, applies defaults and resolves references', () => {
    const config = parseAgentConfig(GOOD, { env });
    expect(config.controlPlane.url).toBe('http://127.0.0.1:8080');
    expect(config.spoolDir).toBe('.data/agent');
    expect(config.logLevel).toBe('info');
    expect(config.resources[0]).toMatchObject({ name: 'redis', type: 'tcp', address: { host: '127.0.0.1', port: 6379 }, labels: { demo: 'true', env: 'dev' } });
    expect(config.resources[1]?.address).toEqual({ host: '::1', port: 5432 });
    expect(config.resources[1]?.labels).toEqual({});
    if (!('credential' in config.auth)) throw new Error('expected credential auth');
    expect(config.auth.credential.reveal()).toBe('gwa_secret_value');
    expect(config.resources[1]?.credentials?.user?.reveal()).toBe('postgres');
  });

  it('never prints or serializes a resolved secret', () => {
    const config = parseAgentConfig(GOOD, { env });
    const dumped = JSON.stringify(config) + inspect(config, { depth: 10 }) + String((config.auth as { credential: unknown }).credential);
    expect(dumped).not.toContain('gwa_secret_value');
    expect(dumped).toContain('[redacted]');
  });

  it('names the bad field', () => {
    expect(issuesOf(GOOD.replace('127.0.0.1:5432', 'x').replace('"[::1]:5432"', 'db.internal'))).toEqual([
      'resources[1].address: expected host:port',
    ]);
    expect(issuesOf(GOOD.replace('127.0.0.1:6379', '127.0.0.1:70000'))).toEqual(['resources[0].address: expected host:port']);
    expect(issuesOf(GOOD.replace('type: tcp', 'type: redis'))[0]).toMatch(/^resources\[0\]\.type: expected one of postgres, mysql/);
    expect(issuesOf(GOOD.replace('name: redis', 'name: Redis!'))[0]).toMatch(/^resources\[0\]\.name: /);
    expect(issuesOf(GOOD.replace('name: postgres-demo', 'name: redis'))).toEqual(['resources[1].name: duplicate resource name redis']);
    expect(issuesOf(GOOD.replace('http://127.0.0.1:8080', 'ftp://cp'))).toEqual(['controlPlane.url: expected an http(s) URL without credentials']);
    expect(issuesOf(GOOD.replace('logLevel', 'x') + 'logLevel: loud\n')[0]).toMatch(/^logLevel: /);
    expect(issuesOf(GOOD + 'extra: 1\n')[0]).toMatch(/^\(root\): .*extra/);
    expect(issuesOf('controlPlane: {}\n')).toEqual(expect.arrayContaining([expect.stringMatching(/^controlPlane\.url: /), expect.stringMatching(/^auth: /)]));
  });

  it('reads a mysql block with its defaults, and only on a mysql resource', () => {
    const mysql = `${GOOD}  - name: shop-db\n    type: mysql\n    address: 127.0.0.1:3306\n    mysql: { mode: fixed }\n`;
    const config = parseAgentConfig(mysql, { env });
    expect(config.resources[2]?.mysql).toMatchObject({ mode: 'fixed', ephemeralHost: '%', sampleRows: 50, privilegedRoles: [] });
    expect(issuesOf(mysql.replace('mode: fixed', 'mode: shared'))[0]).toMatch(/^resources\[2\]\.mysql\.mode: /);
    expect(issuesOf(mysql.replace('type: mysql', 'type: tcp'))).toEqual(['resources[2].mysql: a mysql block needs type: mysql']);
  });

  it('accepts OIDC auth with a default resource and refuses a half-filled one', () => {
    const oidc = GOOD.replace(
      '  credential: env:GW_AGENT_CREDENTIAL',
      '  agentName: edge-1\n  oidc:\n    tokenUrl: http://127.0.0.1:9000/token\n    clientId: edge\n    clientSecret: env:GW_AGENT_CREDENTIAL',
    );
    const config = parseAgentConfig(oidc, { env });
    if (!('oidc' in config.auth)) throw new Error('expected oidc auth');
    expect(config.auth.oidc.resource).toBe('api://gateway');
    expect(config.auth.agentName).toBe('edge-1');
    expect(issuesOf(oidc.replace('  agentName: edge-1\n', ''))[0]).toMatch(/^auth.agentName: /);
  });

  it('refuses a missing env var, an unreadable file and an unknown scheme, naming the field', () => {
    expect(issuesOf(GOOD, {})).toEqual(['auth.credential: environment variable GW_AGENT_CREDENTIAL is not set']);
    expect(issuesOf(GOOD.replace('env:GW_AGENT_CREDENTIAL', `file:${dir}/missing`))).toEqual([`auth.credential: cannot read ${dir}/missing: ENOENT`]);
    expect(issuesOf(GOOD.replace('literal:postgres', 'postgres'))).toEqual([
      'resources[1].credentials.user: expected env:VAR, file:/absolute/path or literal:value',
    ]);
    expect(issuesOf(GOOD.replace('env:GW_AGENT_CREDENTIAL', 'file:relative/path'))).toEqual(['auth.credential: file: references need an absolute path']);
  });

  it('reads file references without the trailing newline', () => {
    const secretFile = join(dir, 'credential');
    writeFileSync(secretFile, 'gwa_from_file\n', { mode: 0o600 });
    const config = parseAgentConfig(GOOD.replace('env:GW_AGENT_CREDENTIAL', `file:${secretFile}`), { env: {} });
    expect((config.auth as { credential: { reveal(): string } }).credential.reveal()).toBe('gwa_from_file');
  });

  it('loads from a path and reports unreadable files and bad YAML', () => {
    const path = join(dir, 'agent.yaml');
    writeFileSync(path, GOOD);
    expect(loadAgentConfig(path, { env }).resources).toHaveLength(2);
    expect(() => loadAgentConfig(join(dir, 'nope.yaml'), { env })).toThrow(/cannot read .*nope\.yaml: ENOENT/);
    expect(issuesOf('controlPlane: [unclosed')[0]).toMatch(/^\(root\): not valid YAML/);
  });

  it('takes an MCP server as a stdio command or a URL (no address), with its secrets as references', () => {
    const mcp = (block: string) => `${GOOD}  - name: files\n    type: mcp\n${block}`;
    const config = parseAgentConfig(mcp('    mcp:\n      command: node\n      args: [server.js, /srv]\n      env: { API_KEY: env:FILES_KEY }\n'), { env: { ...env, FILES_KEY: 'k-123' } });
    const files = config.resources[2]!;
    expect(files.mcp).toMatchObject({ command: 'node', args: ['server.js', '/srv'], acceptNewTools: false, maxCallsPerMinute: 120, callTimeoutSeconds: 60 });
    expect(files.mcp!.env.API_KEY!.reveal()).toBe('k-123');
    expect(JSON.stringify(files)).not.toContain('k-123');
    expect(parseAgentConfig(mcp('    mcp: { url: "http://10.0.0.7:3001/mcp", headers: { Authorization: "literal:Bearer x" } }\n'), { env }).resources[2]!.mcp!.url).toBe('http://10.0.0.7:3001/mcp');
    expect(issuesOf(mcp(''))).toEqual(['resources[2].mcp: an mcp resource needs an mcp block with a command (stdio) or a url (Streamable HTTP)']);
    expect(issuesOf(mcp('    mcp: { command: node, url: "http://x/mcp" }\n'))).toEqual(['resources[2].mcp: an mcp block needs exactly one of command (stdio) or url (Streamable HTTP)']);
    expect(issuesOf(mcp('    mcp: { command: node, env: { K: env:MISSING } }\n'))[0]).toMatch(/^resources\[2\]\.mcp\.env\.K: environment variable MISSING is not set/);
    expect(issuesOf(GOOD.replace('    address: 127.0.0.1:6379\n', ''))).toEqual(['resources[0].address: expected host:port']);
  });
});
