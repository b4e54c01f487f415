import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CommanderError } from 'commander';
import { afterAll, describe, expect, it } from 'vitest';
import { CliError } from './errors.js';
import { buildProgram } from './program.js';
import { resourceRows } from './commands/resources.js';
import { resolveApiUrl } from './settings.js';

const dir = mkdtempSync(join(tmpdir(), 'gw-cli-prog-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function run(args: string[], env: Record<string, string> = { GW_CONFIG_DIR: dir }) {
  let out = '';
  let err = '';
  const program = buildProgram({ env, out: (t) => void (out += t), err: (t) => void (err += t), interrupted: () => Promise.resolve() });
  try {
    await program.parseAsync(args, { from: 'user' });
    return { out, err, error: undefined };
  } catch (error) {
    return { out, err, error: error as Error };
  }
}

describe('gw argument handling', () => {
  it('requires a resource for connect', async () => {
    const { error, err } = await run(['connect']);
    expect(error).toBeInstanceOf(CommanderError);
    expect(err).toMatch(/missing required argument 'resource'/);
  });

  it('refuses a port that is not a number in range', async () => {
    for (const port of ['abc', '70000', '-1']) {
      const { error, err } = await run(['connect', 'redis', '--port', port]);
      expect(error).toBeInstanceOf(CommanderError);
      expect(err).toMatch(/expected a port number from 0 to 65535|unknown option/);
    }
  });

  it('needs exactly one of --dev / --token / --method for login', async () => {
    expect((await run(['login'])).error).toEqual(new CliError('gw login needs exactly one of --dev <client>, --token <jwt> or --method <workload method|auto>'));
    expect((await run(['login', '--dev', 'a', '--method', 'auto'])).error).toBeInstanceOf(CliError);
    expect((await run(['login', '--dev', 'a', '--token', 'b'])).error).toBeInstanceOf(CliError);
  });

  it('asks for a login before connecting without a token', async () => {
    expect((await run(['connect', 'redis'])).error?.message).toBe('not logged in: run gw login (or set GW_TOKEN)');
  });

  it('refuses an invalid resource name and an invalid --api URL', async () => {
    const env = { GW_CONFIG_DIR: dir, GW_TOKEN: 'opaque' };
    expect((await run(['connect', 'Bad Name!'], env)).error?.message).toBe('invalid resource name: Bad Name!');
    expect((await run(['--api', 'ftp://x', 'whoami'], env)).error?.message).toBe('--api must be http(s): ftp://x');
  });

  it('saves a token given with --token and reports where', async () => {
    const { out, error } = await run(['login', '--token', 'opaque-token']);
    expect(error).toBeUndefined();
    expect(out).toBe(`token saved to ${join(dir, 'token.json')}\n`);
  });

  it('resolves the API URL from the flag, then GW_API_URL, then the default', () => {
    expect(resolveApiUrl('http://a:1/', { GW_API_URL: 'http://b:2' })).toBe('http://a:1');
    expect(resolveApiUrl(undefined, { GW_API_URL: 'https://b:2' })).toBe('https://b:2');
    expect(resolveApiUrl(undefined, {})).toBe('http://127.0.0.1:8080');
  });

  it('shows the ACCESS column only when the API returns access', () => {
    expect(resourceRows([{ name: 'redis', type: 'tcp', online: true, labels: { env: 'dev' } }])).toEqual([
      ['NAME', 'TYPE', 'STATUS', 'LABELS'],
      ['redis', 'tcp', 'online', 'env=dev'],
    ]);
    expect(resourceRows([{ name: 'pg', type: 'postgres', online: false, labels: {}, access: 'deny' }])[1]).toEqual(['pg', 'postgres', 'offline', '-', 'deny']);
  });
});
