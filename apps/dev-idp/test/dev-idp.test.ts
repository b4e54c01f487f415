import { execFile } from 'node:child_process';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createServer as createNetServer } from 'node:net';
import { promisify } from 'node:util';
import { createRemoteJWKSet, decodeProtectedHeader, jwtVerify } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEMO_CLIENTS, DEV_GROUPS, DEV_TENANT_ID, startDevIdp, TokenRequestError, type DevIdp } from '../src/index.js';

const run = promisify(execFile);
const TOKEN_CLI = resolve(import.meta.dirname, '../src/token.ts');
const TSX = resolve(import.meta.dirname, '../../../node_modules/.bin/tsx');

let dir: string;
let idp: DevIdp;

async function jwksOf(issuer: string) {
  const discovery = (await (await fetch(`${issuer}/.well-known/openid-configuration`)).json()) as { issuer: string; jwks_uri: string };
  expect(discovery.issuer).toBe(issuer);
  return createRemoteJWKSet(new URL(discovery.jwks_uri));
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'dev-idp-test-'));
  idp = await startDevIdp({ port: 0, keyFile: join(dir, 'keys.json') });
});

afterAll(async () => {
  await idp.close();
  await rm(dir, { recursive: true, force: true });
});

describe('dev IdP', () => {
  it('issues an Entra-like ES256 JWT access token for every demo client', async () => {
    const jwks = await jwksOf(idp.issuer);
    for (const client of DEMO_CLIENTS) {
      const token = await idp.issueToken(client.clientId);
      const { payload, protectedHeader } = await jwtVerify(token, jwks, { issuer: idp.issuer, audience: 'api://gateway', algorithms: ['ES256'] });
      expect(protectedHeader.alg).toBe('ES256');
      expect(payload).toMatchObject({
        tid: DEV_TENANT_ID,
        oid: client.oid,
        azp: client.clientId,
        roles: client.roles,
        groups: client.groups,
        idtyp: 'app',
        ver: '2.0',
        name: client.name,
      });
      expect(typeof payload.jti).toBe('string');
      expect(payload.exp! - payload.iat!).toBe(3600);
    }
  });

  it('puts the ai-agent in the data-readers group and gives agent-edge-1 the agent role', async () => {
    const jwks = await jwksOf(idp.issuer);
    const { payload: agent } = await jwtVerify(await idp.issueToken('ai-agent'), jwks);
    expect(agent['groups']).toEqual([DEV_GROUPS.dataReaders]);
    const { payload: edge } = await jwtVerify(await idp.issueToken('agent-edge-1'), jwks);
    expect(edge['roles']).toEqual(['Gateway.Agent']);
  });

  it('uses the requested resource indicator as the audience', async () => {
    const token = await idp.issueToken('ci-pipeline', { resource: 'api://reports' });
    const { payload } = await jwtVerify(token, await jwksOf(idp.issuer), { audience: 'api://reports' });
    expect(payload.aud).toBe('api://reports');
  });

  it('refuses an unknown client and a wrong secret', async () => {
    await expect(idp.issueToken('intruder')).rejects.toThrow(TokenRequestError);
    const response = await fetch(`${idp.issuer}/token`, {
      method: 'POST',
      headers: { authorization: `Basic ${Buffer.from('approver:approver-secrett').toString('base64')}`, 'content-type': 'application/x-www-form-urlencoded' },
      body: 'grant_type=client_credentials',
    });
    expect(response.status).toBe(401);
    expect(((await response.json()) as { error: string }).error).toBe('invalid_client');
  });

  it('keeps its signing keys in the key file across restarts, private to the owner', async () => {
    const keyFile = join(dir, 'restart', 'keys.json');
    const first = await startDevIdp({ port: 0, keyFile, signingAlg: 'RS256', tokenTtlSeconds: 120 });
    const token = await first.issueToken('auditor');
    const firstIssuer = first.issuer;
    await first.close();
    expect(decodeProtectedHeader(token).alg).toBe('RS256');
    expect((await stat(keyFile)).mode & 0o077).toBe(0);

    const second = await startDevIdp({ port: 0, keyFile });
    try {
      const { payload } = await jwtVerify(token, await jwksOf(second.issuer), { issuer: firstIssuer });
      expect(payload.exp! - payload.iat!).toBe(120);
    } finally {
      await second.close();
    }
  });

  it('prints a token from the running IdP with the token CLI, and explains when the IdP is down', async () => {
    const { stdout } = await run(TSX, [TOKEN_CLI, 'approver-2'], { env: { ...process.env, DEV_IDP_URL: idp.issuer } });
    const { payload } = await jwtVerify(stdout.trim(), await jwksOf(idp.issuer), { issuer: idp.issuer });
    expect(payload['azp']).toBe('approver-2');

    const failure = await run(TSX, [TOKEN_CLI, 'approver'], { env: { ...process.env, DEV_IDP_URL: 'http://127.0.0.1:1' } }).then(
      () => undefined,
      (error: unknown) => error as { code: number; stderr: string; stdout: string },
    );
    expect(failure?.code).toBe(1);
    expect(failure?.stderr).toContain('dev IdP not reachable at http://127.0.0.1:1, start it with npm start');
    expect(failure?.stdout).toBe('');
  });
});

describe('dev IdP start', () => {
  it('answers every request that arrives while it starts: 503 until ready, never a hang', async () => {
    const probe = createNetServer();
    await new Promise<void>((r) => probe.listen(0, '127.0.0.1', r));
    const port = (probe.address() as { port: number }).port;
    await new Promise<void>((r) => probe.close(() => r()));
    const startDir = await mkdtemp(join(tmpdir(), 'dev-idp-start-'));
    let ready: DevIdp | undefined;
    const starting = startDevIdp({ port, keyFile: join(startDir, 'keys.json') }).then((started) => (ready = started));
    const answers: (number | string)[] = [];
    // Probes back to back, as a readiness loop does, until the IdP is up and one more probe after.
    for (let after = 0; after < 2; ) {
      if (ready) after++;
      try {
        const response = await fetch(`http://127.0.0.1:${port}/.well-known/openid-configuration`, { signal: AbortSignal.timeout(3000) });
        answers.push(response.status);
      } catch (error) {
        const cause = (error as { cause?: { code?: string } }).cause?.code;
        answers.push(cause === 'ECONNREFUSED' ? 'refused' : `failed: ${(error as Error).name}`);
      }
    }
    await starting;
    await ready!.close();
    await rm(startDir, { recursive: true, force: true });
    expect(answers.filter((a) => typeof a === 'string' && a !== 'refused')).toEqual([]);
    expect(answers.every((a) => a === 'refused' || a === 503 || a === 200)).toBe(true);
    expect(answers.at(-1)).toBe(200);
  });
});
