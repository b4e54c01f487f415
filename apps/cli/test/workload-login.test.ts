import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEV_TENANT_ID, FEDERATION_AUDIENCE, githubClaims, kubernetesClaims, startDevIdp, type DevIdp } from '@gw/dev-idp';
import { DEFAULT_ROLE_MAPPINGS, TokenVerifier, type Principal } from '@gw/identity';
import { buildProgram } from '../src/program.js';
import { declaredProcess } from '../src/acquire/declared-process.js';

const exec = promisify(execFile);
const AUDIENCE = 'api://gateway';
let idp: DevIdp;
let verifier: TokenVerifier;
let dir: string;

async function gw(args: string[], env: Record<string, string>): Promise<{ out: string; error?: Error }> {
  let out = '';
  const program = buildProgram({ env: { GW_CONFIG_DIR: join(dir, 'cfg'), ...env }, out: (t) => void (out += t), err: () => undefined, interrupted: () => Promise.resolve() });
  try {
    await program.parseAsync(args, { from: 'user' });
    return { out };
  } catch (error) {
    return { out, error: error as Error };
  }
}

/** Logs in with the method and returns the principal the saved token proves. */
async function loginAs(args: string[], env: Record<string, string>): Promise<Principal> {
  const login = await gw(['login', ...args], env);
  expect(login.error?.message).toBeUndefined();
  expect(login.out).toMatch(/token saved to/);
  const { out } = await gw(['token'], env);
  return verifier.verify(out.trim());
}

const azure = () => ({ AZURE_CLIENT_ID: 'ci-pipeline', AZURE_TENANT_ID: DEV_TENANT_ID, AZURE_AUTHORITY_HOST: idp.issuer });

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'gw-workload-'));
  idp = await startDevIdp({ port: 0, keyFile: join(dir, 'keys.json') });
  verifier = TokenVerifier.fromConfig([
    { issuer: idp.issuer, audience: AUDIENCE, kind: 'entra' },
    { issuer: `${idp.issuer}/github-actions`, audience: AUDIENCE, kind: 'github-actions' },
    { issuer: `${idp.issuer}/kubernetes`, audience: AUDIENCE, kind: 'kubernetes' },
  ], DEFAULT_ROLE_MAPPINGS);
});

afterAll(async () => {
  await idp.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('gw login / gw token from a workload environment, against the dev IdP', () => {
  it('azure-federated: the federated token file is the client assertion; a subject the app does not trust is refused', async () => {
    const k8s = idp.workloads.issuer('kubernetes');
    idp.workloads.assertions.trustFederated('ci-pipeline', k8s.issuer, 'system:serviceaccount:jobs:deployer');
    const file = join(dir, 'azure-identity-token');
    writeFileSync(file, await k8s.mint(kubernetesClaims({ namespace: 'jobs', serviceAccount: 'deployer', podName: 'd', podUid: 'u1' }), FEDERATION_AUDIENCE));
    const principal = await loginAs(['--method', 'azure-federated'], { ...azure(), AZURE_FEDERATED_TOKEN_FILE: file });
    expect(principal).toMatchObject({ appId: 'ci-pipeline', tenantId: DEV_TENANT_ID, kind: 'workload', gatewayRoles: ['requester'] });

    writeFileSync(file, await k8s.mint(kubernetesClaims({ namespace: 'jobs', serviceAccount: 'intruder', podName: 'x', podUid: 'u2' }), FEDERATION_AUDIENCE));
    const refused = await gw(['login', '--method', 'azure-federated'], { ...azure(), AZURE_FEDERATED_TOKEN_FILE: file });
    expect(refused.error?.message).toMatch(/invalid_client: no federated credential of ci-pipeline matches/);
    writeFileSync(file, await k8s.mint(kubernetesClaims({ namespace: 'jobs', serviceAccount: 'deployer', podName: 'd', podUid: 'u3' }), AUDIENCE));
    expect((await gw(['login', '--method', 'auto'], { ...azure(), AZURE_FEDERATED_TOKEN_FILE: file })).error?.message).toMatch(/federated assertion is invalid/);
  });

  it('client-certificate: an assertion signed with the registered certificate’s key; another certificate is refused', async () => {
    const pem = async (name: string) => {
      const key = join(dir, `${name}.key`);
      const cert = join(dir, `${name}.crt`);
      await exec('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-subj', `/CN=${name}`, '-days', '1', '-keyout', key, '-out', cert]);
      const combined = join(dir, `${name}.pem`);
      writeFileSync(combined, readFileSync(key, 'utf8') + readFileSync(cert, 'utf8'));
      return { combined, cert: readFileSync(cert, 'utf8') };
    };
    const registered = await pem('ci-cert');
    idp.workloads.assertions.registerCertificate('ci-pipeline', registered.cert);
    const principal = await loginAs(['--method', 'client-certificate'], { ...azure(), AZURE_CLIENT_CERTIFICATE_PATH: registered.combined });
    expect(principal.appId).toBe('ci-pipeline');
    const stranger = await pem('stranger');
    const refused = await gw(['login', '--method', 'client-certificate'], { ...azure(), AZURE_CLIENT_CERTIFICATE_PATH: stranger.combined });
    expect(refused.error?.message).toMatch(/no certificate registered for ci-pipeline/);
  });

  it('managed-identity: App Service endpoint with IDENTITY_HEADER, and the instance metadata endpoint; a wrong header is refused', async () => {
    const appService = await loginAs(['--method', 'managed-identity'], { IDENTITY_ENDPOINT: `${idp.issuer}/msi/token`, IDENTITY_HEADER: idp.workloads.identityHeader });
    expect(appService.process).toMatchObject({ platform: 'entra', managed_identity: expect.stringMatching(/managed-etl$/) });
    const imds = await loginAs(['--method', 'managed-identity'], { GW_IMDS_ENDPOINT: idp.issuer });
    expect(imds.appId).toBe('managed-etl');
    const refused = await gw(['login', '--method', 'managed-identity'], { IDENTITY_ENDPOINT: `${idp.issuer}/msi/token`, IDENTITY_HEADER: 'wrong' });
    expect(refused.error?.message).toMatch(/managed identity endpoint refused: unauthorized/);
  });

  it('github-actions: the job’s OIDC token for the gateway audience; its run is the process; a bad request token is refused', async () => {
    const job = idp.workloads.startGithubRun({ repository: 'acme/deploy', ref: 'refs/heads/main', runId: '4242' });
    const env = { ACTIONS_ID_TOKEN_REQUEST_URL: job.requestUrl, ACTIONS_ID_TOKEN_REQUEST_TOKEN: job.requestToken };
    const principal = await loginAs(['--method', 'auto'], env);
    expect(principal.process).toMatchObject({ platform: 'github-actions', run_id: '4242', repository: 'acme/deploy' });
    const refused = await gw(['login', '--method', 'github-actions'], { ...env, ACTIONS_ID_TOKEN_REQUEST_TOKEN: 'nope' });
    expect(refused.error?.message).toMatch(/GitHub Actions ID token service refused: Bad credentials/);
  });

  it('kubernetes: the projected token file, read again on every renewal', async () => {
    const file = join(dir, 'gateway-token');
    writeFileSync(file, await idp.workloads.issuer('kubernetes').mint(kubernetesClaims({ namespace: 'jobs', serviceAccount: 'etl', podName: 'etl-0', podUid: 'pod-1' }), AUDIENCE));
    const principal = await loginAs(['--method', 'kubernetes', '--token-file', file], {});
    expect(principal.process).toMatchObject({ platform: 'kubernetes', pod_uid: 'pod-1' });
  });

  it('a cached token is served until it nears expiry, then renewed from the environment (and the cache rewritten)', async () => {
    const job = idp.workloads.startGithubRun({ repository: 'acme/deploy', ref: 'refs/heads/main', runId: '777' });
    const env = { ACTIONS_ID_TOKEN_REQUEST_URL: job.requestUrl, ACTIONS_ID_TOKEN_REQUEST_TOKEN: job.requestToken };
    await gw(['login', '--method', 'github-actions'], env);
    const first = (await gw(['token'], env)).out.trim();
    expect((await gw(['token'], env)).out.trim()).toBe(first);
    const file = join(dir, 'cfg', 'token.json');
    const saved = JSON.parse(readFileSync(file, 'utf8')) as { expiresAt: number };
    writeFileSync(file, JSON.stringify({ ...saved, expiresAt: Math.floor(Date.now() / 1000) + 5 }));
    const renewed = (await gw(['token'], env)).out.trim();
    expect(renewed).not.toBe(first);
    expect((JSON.parse(readFileSync(file, 'utf8')) as { token: string }).token).toBe(renewed);
    expect((await verifier.verify(renewed)).process?.run_id).toBe('777');
  });

  it('--attest saves a process attestation beside an Entra token; gw token --with-attestation prints <token>~<attestation>', async () => {
    const job = idp.workloads.startGithubRun({ repository: 'acme/deploy', ref: 'refs/heads/main', runId: '9001' });
    const env = { GW_DEV_IDP_URL: idp.issuer, ACTIONS_ID_TOKEN_REQUEST_URL: job.requestUrl, ACTIONS_ID_TOKEN_REQUEST_TOKEN: job.requestToken };
    const login = await gw(['login', '--dev', 'ci-pipeline', '--attest', 'github-actions'], env);
    expect(login.out).toMatch(/with a process attestation from github-actions/);
    const [token, attestation, extra] = (await gw(['token', '--with-attestation'], env)).out.trim().split('~');
    expect(extra).toBeUndefined();
    expect((await verifier.verify(token!)).appId).toBe('ci-pipeline');
    expect((await verifier.verify(attestation!)).process?.run_id).toBe('9001');
    const credential = JSON.parse((await gw(['kube-credential'], env)).out) as { status: { token: string } };
    expect(credential.status.token).toBe(`${token}~${attestation}`);
  });

  it('refuses a method whose environment is missing, naming the variable', async () => {
    expect((await gw(['login', '--method', 'azure-federated'], { AZURE_CLIENT_ID: 'x' })).error?.message).toMatch(/needs AZURE_TENANT_ID/);
    expect((await gw(['login', '--method', 'auto'], {})).error?.message).toMatch(/no workload identity found/);
    expect((await gw(['login', '--method', 'nonsense'], {})).error?.message).toMatch(/--method must be auto or one of/);
  });
});

describe('declared process details', () => {
  it('name the command, pid and host, and never a token-like argument', () => {
    const declared = declaredProcess(['node', 'gw', 'login', '--token', 'eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJlc2lnbmF0dXJlc2lnbmF0dXJl']);
    expect(declared).toMatchObject({ command: 'gw login --token …', pid: process.pid, host: expect.any(String) });
    expect(githubClaims({ repository: 'a/b', ref: 'refs/heads/main', runId: '1' }).sub).toBe('repo:a/b:ref:refs/heads/main');
  });
});
