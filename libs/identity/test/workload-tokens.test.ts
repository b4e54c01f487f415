import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { JWTPayload } from 'jose';
import { DEFAULT_ROLE_MAPPINGS, TokenRejectedError, TokenVerifier, type IssuerConfigInput, type Principal, type TokenRejectionCode } from '../src/index.js';
import { FixtureServer } from './support/jwks-server.js';
import { makeKey, nowSeconds, sign, type TestKey } from './support/keys.js';

const AUDIENCE = 'api://gateway';
const TENANT = '72f988bf-86f1-41af-91ab-2d7cd011db47';
const DEPLOY_APP = 'a1b2c3d4-e5f6-4a7b-8c9d-0e1f2a3b4c5d';
const OTHER_APP = 'b1b2c3d4-e5f6-4a7b-8c9d-0e1f2a3b4c5d';

const server = new FixtureServer();
const keys: Record<string, TestKey> = {};
let verifier: TokenVerifier;
let issuers: Record<'entra' | 'github' | 'gitlab' | 'k8s' | 'spiffe' | 'generic' | 'unattesting', string>;

function times(): JWTPayload {
  const now = nowSeconds();
  return { iat: now - 5, nbf: now - 5, exp: now + 300 };
}

function github(overrides: JWTPayload = {}): JWTPayload {
  return {
    iss: issuers.github, aud: AUDIENCE, ...times(), jti: 'gh-jti-1',
    sub: 'repo:acme/deploy:ref:refs/heads/main', repository: 'acme/deploy', repository_owner: 'acme', ref: 'refs/heads/main',
    ref_type: 'branch', workflow: 'deploy', workflow_ref: 'acme/deploy/.github/workflows/deploy.yml@refs/heads/main',
    job_workflow_ref: 'acme/deploy/.github/workflows/deploy.yml@refs/heads/main', run_id: '9876543210', run_attempt: '1',
    sha: '0123456789abcdef0123456789abcdef01234567', environment: 'production', actor: 'octocat', event_name: 'push',
    ...overrides,
  };
}

function entra(overrides: JWTPayload = {}): JWTPayload {
  return { iss: issuers.entra, aud: AUDIENCE, ...times(), tid: TENANT, oid: 'f0e1d2c3-0000-4968-8776-655443322110', sub: 'f0e1d2c3-0000-4968-8776-655443322110', azp: DEPLOY_APP, idtyp: 'app', roles: ['Gateway.Requester'], ...overrides };
}

async function rejected(promise: Promise<unknown>, code: TokenRejectionCode): Promise<void> {
  const error = await promise.then(() => undefined, (caught: unknown) => caught);
  expect(error).toBeInstanceOf(TokenRejectedError);
  expect((error as TokenRejectedError).code).toBe(code);
}

beforeAll(async () => {
  await server.start();
  for (const name of ['entra', 'github', 'gitlab', 'k8s', 'spiffe', 'generic', 'unattesting', 'forger']) {
    keys[name] = await makeKey('ES256', `${name}-key`);
    server.setJwks(`/${name}/keys`, [keys[name].publicJwk]);
  }
  const base = server.baseUrl;
  issuers = {
    entra: `${base}/entra`, github: `${base}/github`, gitlab: `${base}/gitlab`, k8s: `${base}/k8s`, spiffe: `${base}/spiffe`,
    generic: `${base}/generic`, unattesting: `${base}/unattesting`,
  };
  const config: IssuerConfigInput[] = [
    { issuer: issuers.entra, audience: AUDIENCE, jwksUri: `${base}/entra/keys`, kind: 'entra' },
    {
      issuer: issuers.github, audience: AUDIENCE, jwksUri: `${base}/github/keys`, kind: 'github-actions',
      roleRules: [{ when: 'repository == "acme/deploy" && ref == "refs/heads/main"', roles: ['requester'] }],
      attestationFor: [{ when: `principal.appId == "${DEPLOY_APP}" && repository == "acme/deploy"` }],
    },
    { issuer: issuers.gitlab, audience: AUDIENCE, jwksUri: `${base}/gitlab/keys`, kind: 'gitlab-ci', roleRules: [{ when: 'project_path matches "acme/*" and ref == "main"', roles: ['requester'] }] },
    { issuer: issuers.k8s, audience: AUDIENCE, jwksUri: `${base}/k8s/keys`, kind: 'kubernetes', roleRules: [{ when: 'process.namespace in ["jobs", "etl"]', roles: ['requester'] }], attestationFor: [{ when: `principal.appId == "${DEPLOY_APP}" && process.service_account == "deployer"` }] },
    { issuer: issuers.spiffe, audience: AUDIENCE, jwksUri: `${base}/spiffe/keys`, kind: 'spiffe', roleRules: [{ when: 'sub matches "spiffe://prod.acme/ns/payments/*"', roles: ['requester'] }] },
    { issuer: issuers.generic, audience: AUDIENCE, jwksUri: `${base}/generic/keys`, kind: 'generic', processClaims: { run_id: 'build.id', repository: 'build.repo' } },
    { issuer: issuers.unattesting, audience: AUDIENCE, jwksUri: `${base}/unattesting/keys`, kind: 'github-actions' },
  ];
  verifier = TokenVerifier.fromConfig(config, DEFAULT_ROLE_MAPPINGS);
});

afterAll(async () => {
  await server.stop();
});

describe('platform tokens as principals, with their process', () => {
  it('GitHub Actions: the run is the process, and a claim rule maps main-branch runs of acme/deploy to requester', async () => {
    const principal = await verifier.verify(await sign(keys.github!, github()));
    expect(principal).toMatchObject({ kind: 'workload', subject: 'repo:acme/deploy:ref:refs/heads/main', gatewayRoles: ['requester'] });
    expect(principal.process).toEqual({
      platform: 'github-actions', issuer: issuers.github, subject: 'repo:acme/deploy:ref:refs/heads/main', source: 'token', token_id: 'gh-jti-1',
      repository: 'acme/deploy', repository_owner: 'acme', ref: 'refs/heads/main', ref_type: 'branch', workflow: 'deploy',
      workflow_ref: 'acme/deploy/.github/workflows/deploy.yml@refs/heads/main', job_workflow_ref: 'acme/deploy/.github/workflows/deploy.yml@refs/heads/main',
      run_id: '9876543210', run_attempt: '1', commit: '0123456789abcdef0123456789abcdef01234567', environment: 'production', actor: 'octocat', event_name: 'push',
    });
  });

  it('GitHub Actions: a feature-branch run is a principal without the role', async () => {
    const principal = await verifier.verify(await sign(keys.github!, github({ ref: 'refs/heads/feature', sub: 'repo:acme/deploy:ref:refs/heads/feature' })));
    expect(principal.gatewayRoles).toEqual([]);
    expect(principal.process?.ref).toBe('refs/heads/feature');
  });

  it('GitHub Actions: a token without run_id is refused (the kind promises its claims)', async () => {
    const payload = github();
    delete payload['run_id'];
    await rejected(verifier.verify(await sign(keys.github!, payload)), 'claim_missing');
  });

  it('GitLab CI: pipeline and job, numbers as text, glob rule', async () => {
    const principal = await verifier.verify(await sign(keys.gitlab!, {
      iss: issuers.gitlab, aud: AUDIENCE, ...times(), sub: 'project_path:acme/api:ref_type:branch:ref:main',
      project_path: 'acme/api', ref: 'main', ref_type: 'branch', pipeline_id: 1234, job_id: '5678', sha: 'abc123', environment: 'staging', user_login: 'dev1',
    }));
    expect(principal.gatewayRoles).toEqual(['requester']);
    expect(principal.process).toMatchObject({ platform: 'gitlab-ci', project_path: 'acme/api', repository: 'acme/api', pipeline_id: '1234', run_id: '1234', job_id: '5678', commit: 'abc123', environment: 'staging', actor: 'dev1' });
  });

  it('Kubernetes: namespace, service account, pod name and uid, node', async () => {
    const principal = await verifier.verify(await sign(keys.k8s!, {
      iss: issuers.k8s, aud: AUDIENCE, ...times(), sub: 'system:serviceaccount:jobs:etl',
      'kubernetes.io': { namespace: 'jobs', serviceaccount: { name: 'etl', uid: 'sa-uid-1' }, pod: { name: 'etl-7d9f', uid: 'pod-uid-1' }, node: { name: 'node-a', uid: 'node-uid' } },
    }));
    expect(principal).toMatchObject({ kind: 'workload', gatewayRoles: ['requester'] });
    expect(principal.process).toMatchObject({ platform: 'kubernetes', namespace: 'jobs', service_account: 'etl', service_account_uid: 'sa-uid-1', pod_name: 'etl-7d9f', pod_uid: 'pod-uid-1', node_name: 'node-a' });
  });

  it('Kubernetes: a token without the kubernetes.io claim is refused', async () => {
    await rejected(verifier.verify(await sign(keys.k8s!, { iss: issuers.k8s, aud: AUDIENCE, ...times(), sub: 'system:serviceaccount:jobs:etl' })), 'claim_missing');
  });

  it('SPIFFE: the SPIFFE ID and trust domain; a subject that is not a SPIFFE ID is refused', async () => {
    const principal = await verifier.verify(await sign(keys.spiffe!, { iss: issuers.spiffe, aud: AUDIENCE, ...times(), sub: 'spiffe://prod.acme/ns/payments/sa/worker' }));
    expect(principal.gatewayRoles).toEqual(['requester']);
    expect(principal.process).toMatchObject({ platform: 'spiffe', spiffe_id: 'spiffe://prod.acme/ns/payments/sa/worker', trust_domain: 'prod.acme' });
    await rejected(verifier.verify(await sign(keys.spiffe!, { iss: issuers.spiffe, aud: AUDIENCE, ...times(), sub: 'worker' })), 'malformed');
  });

  it('Entra: managed identity and agent identity claims form the process; a plain app token has none', async () => {
    const mirid = `/subscriptions/0000/resourcegroups/rg/providers/Microsoft.ManagedIdentity/userAssignedIdentities/etl`;
    const managed = await verifier.verify(await sign(keys.entra!, entra({ xms_mirid: mirid })));
    expect(managed.process).toMatchObject({ platform: 'entra', managed_identity: mirid });
    const agent = await verifier.verify(await sign(keys.entra!, entra({ xms_act_fct: '3 9 11', xms_par_app_azp: '30cf4c22-9985-4ef7-8756-91cc888176bd' })));
    expect(agent.process).toMatchObject({ agent_id: DEPLOY_APP, agent_blueprint_id: '30cf4c22-9985-4ef7-8756-91cc888176bd' });
    expect((await verifier.verify(await sign(keys.entra!, entra()))).process).toBeUndefined();
  });

  it('generic: processClaims take fields from nested claims', async () => {
    const principal = await verifier.verify(await sign(keys.generic!, { iss: issuers.generic, aud: AUDIENCE, ...times(), sub: 'builder', build: { id: 42, repo: 'acme/x' } }));
    expect(principal.process).toMatchObject({ platform: 'generic', run_id: '42', repository: 'acme/x' });
  });
});

describe('platform tokens refused', () => {
  it('forged (signed by another key), expired, for another audience, from an issuer not configured', async () => {
    await rejected(verifier.verify(await sign({ ...keys.forger!, kid: 'github-key' }, github())), 'signature_invalid');
    await rejected(verifier.verify(await sign(keys.github!, github({ iat: nowSeconds() - 4000, nbf: nowSeconds() - 4000, exp: nowSeconds() - 3000 }))), 'expired');
    await rejected(verifier.verify(await sign(keys.github!, github({ aud: 'https://github.com/acme' }))), 'audience_mismatch');
    await rejected(verifier.verify(await sign(keys.github!, github({ iss: 'https://token.actions.githubusercontent.com' }))), 'issuer_untrusted');
  });
});

describe('process attestation beside an Entra token', () => {
  let presenter: Principal;
  beforeAll(async () => {
    presenter = await verifier.verify(await sign(keys.entra!, entra()));
  });

  it('a GitHub run token of the bound repository becomes the presenter’s process', async () => {
    const attested = await verifier.attest(presenter, await sign(keys.github!, github()));
    expect(attested).toMatchObject({ id: presenter.id, appId: DEPLOY_APP, gatewayRoles: ['requester'] });
    expect(attested.process).toMatchObject({ platform: 'github-actions', source: 'attestation', run_id: '9876543210', repository: 'acme/deploy' });
  });

  it('a run of another repository, or presented by another app, is refused', async () => {
    await rejected(verifier.attest(presenter, await sign(keys.github!, github({ repository: 'acme/other', sub: 'repo:acme/other:ref:refs/heads/main' }))), 'attestation_refused');
    const other = await verifier.verify(await sign(keys.entra!, entra({ azp: OTHER_APP })));
    await rejected(verifier.attest(other, await sign(keys.github!, github())), 'attestation_refused');
  });

  it('a Kubernetes token of the bound service account is accepted; another service account is refused', async () => {
    const pod = (sa: string) => ({ iss: issuers.k8s, aud: AUDIENCE, ...times(), sub: `system:serviceaccount:jobs:${sa}`, 'kubernetes.io': { namespace: 'jobs', serviceaccount: { name: sa, uid: 'u' }, pod: { name: 'p', uid: 'pod-uid-9' } } });
    expect((await verifier.attest(presenter, await sign(keys.k8s!, pod('deployer')))).process).toMatchObject({ pod_uid: 'pod-uid-9', source: 'attestation' });
    await rejected(verifier.attest(presenter, await sign(keys.k8s!, pod('intruder'))), 'attestation_refused');
  });

  it('expired, forged, from an issuer that attests nothing, or beside a platform token: refused', async () => {
    await rejected(verifier.attest(presenter, await sign(keys.github!, github({ iat: nowSeconds() - 4000, nbf: nowSeconds() - 4000, exp: nowSeconds() - 3000 }))), 'expired');
    await rejected(verifier.attest(presenter, await sign({ ...keys.forger!, kid: 'github-key' }, github())), 'signature_invalid');
    await rejected(verifier.attest(presenter, await sign(keys.unattesting!, github({ iss: issuers.unattesting }))), 'attestation_refused');
    const run = await verifier.verify(await sign(keys.github!, github()));
    await rejected(verifier.attest(run, await sign(keys.github!, github({ run_id: '1' }))), 'attestation_refused');
  });
});
