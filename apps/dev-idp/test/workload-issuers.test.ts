import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createRemoteJWKSet, decodeJwt, jwtVerify } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEV_TENANT_ID, FEDERATION_AUDIENCE, JWT_BEARER_ASSERTION, startDevIdp, WORKLOAD_PLATFORMS, type DevIdp } from '../src/index.js';

let dir: string;
let idp: DevIdp;

async function post(path: string, body: unknown): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await fetch(`${idp.issuer}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

async function verifyAt(platform: string, token: string, audience: string) {
  const discovery = (await (await fetch(`${idp.issuer}/${platform}/.well-known/openid-configuration`)).json()) as { issuer: string; jwks_uri: string };
  return jwtVerify(token, createRemoteJWKSet(new URL(discovery.jwks_uri)), { issuer: discovery.issuer, audience, algorithms: ['ES256'] });
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'dev-idp-workload-'));
  idp = await startDevIdp({ port: 0, keyFile: join(dir, 'keys.json') });
});

afterAll(async () => {
  await idp.close();
  await rm(dir, { recursive: true, force: true });
});

describe('dev IdP workload issuers', () => {
  it('each platform has its own issuer, discovery document and key (a token of one does not verify at another)', async () => {
    const kids = new Set<string>();
    for (const platform of WORKLOAD_PLATFORMS) {
      const discovery = (await (await fetch(`${idp.issuer}/${platform}/.well-known/openid-configuration`)).json()) as { issuer: string };
      expect(discovery.issuer).toBe(`${idp.issuer}/${platform}`);
      const jwks = (await (await fetch(`${idp.issuer}/${platform}/jwks`)).json()) as { keys: { kid: string; d?: string }[] };
      expect(jwks.keys).toHaveLength(1);
      expect(jwks.keys[0]!.d).toBeUndefined();
      kids.add(jwks.keys[0]!.kid);
    }
    expect(kids.size).toBe(WORKLOAD_PLATFORMS.length);
    const { body } = await post('/spiffe/svid', { spiffeId: 'spiffe://prod.acme/ns/a/sa/b', audience: 'api://gateway' });
    await expect(verifyAt('kubernetes', body.token as string, 'api://gateway')).rejects.toThrow();
  });

  it('serves the GitHub Actions ID token service for a registered run, with the run’s claims', async () => {
    const { body: job } = await post('/github-actions/runs', { repository: 'acme/deploy', ref: 'refs/heads/main', runId: '123', environment: 'prod' });
    const url = new URL(job.requestUrl as string);
    url.searchParams.set('audience', 'api://gateway');
    const res = await fetch(url, { headers: { authorization: `bearer ${job.requestToken as string}` } });
    const { value } = (await res.json()) as { value: string };
    const { payload } = await verifyAt('github-actions', value, 'api://gateway');
    expect(payload).toMatchObject({ sub: 'repo:acme/deploy:environment:prod', repository: 'acme/deploy', run_id: '123', environment: 'prod', ref_type: 'branch' });
    expect((await fetch(url, { headers: { authorization: 'bearer wrong' } })).status).toBe(401);
  });

  it('mints Kubernetes projected tokens, GitLab CI ID tokens and JWT-SVIDs; refuses bad input', async () => {
    const k8s = await post('/kubernetes/token', { namespace: 'jobs', serviceAccount: 'etl', podName: 'p', podUid: 'u', audience: 'api://gateway' });
    expect((await verifyAt('kubernetes', k8s.body.token as string, 'api://gateway')).payload['kubernetes.io']).toMatchObject({ namespace: 'jobs', pod: { name: 'p', uid: 'u' } });
    const gl = await post('/gitlab-ci/token', { projectPath: 'acme/api', ref: 'main', pipelineId: '5', jobId: '6', audience: 'api://gateway' });
    expect((await verifyAt('gitlab-ci', gl.body.token as string, 'api://gateway')).payload).toMatchObject({ project_path: 'acme/api', pipeline_id: '5', job_id: '6' });
    expect((await post('/spiffe/svid', { spiffeId: 'not-spiffe', audience: 'a' })).status).toBe(400);
    expect((await post('/kubernetes/token', { namespace: 'jobs' })).status).toBe(400);
  });

  it('the Entra-shaped token endpoint exchanges a federated assertion only for a trusted (issuer, subject)', async () => {
    const register = await post('/dev/federated-credentials', { clientId: 'ai-agent', issuer: `${idp.issuer}/kubernetes`, subject: 'system:serviceaccount:jobs:agent' });
    expect(register.status).toBe(200);
    const exchange = async (serviceAccount: string, audience = FEDERATION_AUDIENCE) => {
      const { body } = await post('/kubernetes/token', { namespace: 'jobs', serviceAccount, podName: 'p', podUid: 'u', audience });
      const res = await fetch(`${idp.issuer}/${DEV_TENANT_ID}/oauth2/v2.0/token`, {
        method: 'POST',
        body: new URLSearchParams({ grant_type: 'client_credentials', client_id: 'ai-agent', scope: 'api://gateway/.default', client_assertion_type: JWT_BEARER_ASSERTION, client_assertion: body.token as string }),
      });
      return { status: res.status, body: (await res.json()) as Record<string, unknown> };
    };
    const ok = await exchange('agent');
    expect(ok.status).toBe(200);
    expect(decodeJwt(ok.body.access_token as string)).toMatchObject({ iss: idp.issuer, aud: 'api://gateway', azp: 'ai-agent', tid: DEV_TENANT_ID, idtyp: 'app' });
    expect((await exchange('someone-else')).body.error).toBe('invalid_client');
    expect((await exchange('agent', 'api://gateway')).body.error_description).toMatch(/federated assertion is invalid/);
  });
});
