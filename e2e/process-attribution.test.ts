import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { promisify } from 'node:util';
import { generateKeyPair, SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { githubClaims, gitlabClaims, kubernetesClaims, spiffeClaims, type GithubRun, type WorkloadPlatform } from '@gw/dev-idp';
import { PG_POLICY, startPgFixture, type PgFixture } from './support/pg-fixture.js';
import { initializeBody, rawMcp } from './support/mcp-client.js';

const run = promisify(execFile);
const AUDIENCE = 'api://gateway';

/**
 * Attribution to the exact process, end to end: platform tokens (GitHub Actions, GitLab CI,
 * Kubernetes, SPIFFE, Entra managed identity) as Postgres passwords through the gateway, their
 * process recorded on the session and the audit trail, filtered by the REST API, and read by Cedar;
 * process attestations beside an Entra token, accepted for the bound repository and refused for others.
 */
const POLICY = `${PG_POLICY}
@id("main-branch-runs-only") @reason("only runs of the main branch may connect")
forbid (principal, action == Gateway::Action::"connect", resource)
  when { principal has process && principal.process.platform == "github-actions" }
  unless { principal.process has ref && principal.process.ref == "refs/heads/main" };
@id("jobs-namespace-only") @reason("only pods of the jobs namespace may connect")
forbid (principal, action == Gateway::Action::"connect", resource)
  when { principal has process && principal.process.platform == "kubernetes" }
  unless { principal.process has namespace && principal.process.namespace == "jobs" };
`;

interface SessionDto {
  id: string;
  principal: { id: string; process?: Record<string, string> };
  declared: Record<string, unknown>;
}

describe('process attribution: platform tokens and attestations through the Postgres endpoint', () => {
  let fx: PgFixture;
  const api = (path: string) => fx.stack.cp.request('GET', path, { token: fx.stack.admin });
  const mint = (platform: WorkloadPlatform, claims: Record<string, unknown>, audience = AUDIENCE) => fx.stack.cp.idp.workloads.issuer(platform).mint(claims, audience);
  const githubRun = (overrides: Partial<GithubRun> = {}) => githubClaims({ repository: 'acme/deploy', ref: 'refs/heads/main', runId: String(Date.now()) + Math.floor(Math.random() * 1000), environment: 'production', ...overrides });

  async function connectWith(password: string, app: string): Promise<void> {
    const c = fx.gateway({ password, application_name: app });
    await c.connect();
    try {
      await c.query('SELECT count(*) FROM orders');
    } finally {
      await c.end();
    }
  }

  async function sessionsWhere(filter: string): Promise<SessionDto[]> {
    const res = await api(`/api/v1/sessions?resource=${fx.resource}&${filter}`);
    expect(res.status).toBe(200);
    return (res.body as { items: SessionDto[] }).items;
  }

  beforeAll(async () => {
    fx = await startPgFixture('proc', {
      policy: POLICY,
      issuersFor: (iss) => [
        {
          issuer: `${iss}/github-actions`, audience: AUDIENCE, kind: 'github-actions',
          roleRules: [{ when: 'repository == "acme/deploy"', roles: ['requester'] }],
          attestationFor: [{ when: 'principal.appId == "ci-pipeline" && repository == "acme/deploy"' }],
        },
        { issuer: `${iss}/gitlab-ci`, audience: AUDIENCE, kind: 'gitlab-ci', roleRules: [{ when: 'project_path matches "acme/*" && ref == "main"', roles: ['requester'] }] },
        {
          issuer: `${iss}/kubernetes`, audience: AUDIENCE, kind: 'kubernetes', roleRules: [{ when: 'process.service_account == "etl"', roles: ['requester'] }],
          attestationFor: [{ when: 'principal.appId == "ci-pipeline" && process.service_account == "etl"' }],
        },
        { issuer: `${iss}/spiffe`, audience: AUDIENCE, kind: 'spiffe', roleRules: [{ when: 'process.trust_domain == "prod.acme"', roles: ['requester'] }] },
      ],
    });
  }, 60_000);

  afterAll(async () => {
    await fx?.close();
  });

  it('a GitHub Actions run token connects; the session and audit carry the run, and REST filters sessions by run id', async () => {
    const claims = githubRun();
    await connectWith(await mint('github-actions', claims), 'gh-main');
    const sessions = await sessionsWhere(`process.run_id=${claims.run_id as string}`);
    expect(sessions).toHaveLength(1);
    expect(sessions[0]!.principal.process).toMatchObject({
      platform: 'github-actions', source: 'token', repository: 'acme/deploy', ref: 'refs/heads/main', run_id: claims.run_id, commit: claims.sha, environment: 'production',
    });
    expect(await sessionsWhere(`process.run_id=${claims.run_id as string}&process.repository=acme/other`)).toEqual([]);
    const audit = await api(`/api/v1/audit/events?action=session.connect&process.run_id=${claims.run_id as string}`);
    expect(audit.status).toBe(200);
    expect((audit.body as { items: { outcome: string; actor: { process: Record<string, string> } }[] }).items.map((e) => [e.outcome, e.actor.process.run_id])).toEqual([['allowed', claims.run_id]]);
  });

  it('the policy that allows only main-branch runs refuses a feature-branch run', async () => {
    const claims = githubRun({ ref: 'refs/heads/feature-x' });
    await expect(connectWith(await mint('github-actions', claims), 'gh-feature')).rejects.toThrow(/only runs of the main branch may connect/);
    const audit = await api(`/api/v1/audit/events?action=session.connect&process.run_id=${claims.run_id as string}`);
    expect((audit.body as { items: { outcome: string }[] }).items.map((e) => e.outcome)).toEqual(['denied']);
  });

  it('GitLab CI, Kubernetes and SPIFFE tokens connect with their process recorded; a pod outside the jobs namespace is refused by policy', async () => {
    const pipelineId = String(Date.now());
    await connectWith(await mint('gitlab-ci', gitlabClaims({ projectPath: 'acme/api', ref: 'main', pipelineId, jobId: '99' })), 'gl');
    expect((await sessionsWhere(`process.pipeline_id=${pipelineId}`))[0]?.principal.process).toMatchObject({ platform: 'gitlab-ci', project_path: 'acme/api', job_id: '99' });

    const podUid = randomUUID();
    await connectWith(await mint('kubernetes', kubernetesClaims({ namespace: 'jobs', serviceAccount: 'etl', podName: 'etl-1', podUid, node: 'n1' })), 'k8s');
    expect((await sessionsWhere(`process.pod_uid=${podUid}`))[0]?.principal.process).toMatchObject({ platform: 'kubernetes', namespace: 'jobs', service_account: 'etl', pod_name: 'etl-1', node_name: 'n1' });
    await expect(connectWith(await mint('kubernetes', kubernetesClaims({ namespace: 'default', serviceAccount: 'etl', podName: 'x', podUid: randomUUID() })), 'k8s-default')).rejects.toThrow(/only pods of the jobs namespace/);

    const spiffeId = `spiffe://prod.acme/ns/payments/sa/${randomUUID()}`;
    await connectWith(await mint('spiffe', spiffeClaims(spiffeId)), 'spiffe');
    expect((await sessionsWhere(`process.spiffe_id=${encodeURIComponent(spiffeId)}`))[0]?.principal.process).toMatchObject({ platform: 'spiffe', trust_domain: 'prod.acme' });
  });

  it('an Entra managed identity token (from the dev IdP managed identity endpoint) carries xms_mirid as the process', async () => {
    const url = `${fx.stack.cp.idp.issuer}/metadata/identity/oauth2/token?api-version=2018-02-01&resource=${encodeURIComponent(AUDIENCE)}`;
    const { access_token: token } = (await (await fetch(url, { headers: { metadata: 'true' } })).json()) as { access_token: string };
    await connectWith(token, 'msi');
    const sessions = await sessionsWhere('process.platform=entra');
    expect(sessions[0]?.principal.process?.managed_identity).toMatch(/userAssignedIdentities\/managed-etl$/);
  });

  it('refuses platform tokens that are forged, for another audience, or from an issuer that is not configured', async () => {
    const { privateKey } = await generateKeyPair('ES256');
    const realKid = fx.stack.cp.idp.workloads.issuer('github-actions').publicJwk.kid!;
    const now = Math.floor(Date.now() / 1000);
    const forged = await new SignJWT({ ...githubRun(), iss: `${fx.stack.cp.idp.issuer}/github-actions`, aud: AUDIENCE, iat: now, exp: now + 300 })
      .setProtectedHeader({ alg: 'ES256', kid: realKid }).sign(privateKey);
    await expect(connectWith(forged, 'forged')).rejects.toThrow(/token refused: the token signature is invalid/);
    await expect(connectWith(await mint('github-actions', githubRun(), 'https://github.com/acme'), 'aud')).rejects.toThrow(/audience is not accepted/);
    const unconfigured = await new SignJWT({ ...githubRun(), iss: 'https://token.actions.githubusercontent.com', aud: AUDIENCE, iat: now, exp: now + 300 })
      .setProtectedHeader({ alg: 'ES256', kid: realKid }).sign(privateKey);
    await expect(connectWith(unconfigured, 'unconfigured')).rejects.toThrow(/issuer is not trusted/);
  });
});

/** Requesters connect and read; a DELETE waits for one approver (to show the process on held items). */
const ATTEST_POLICY = `
@id("admins") permit (principal, action, resource) when { principal.gatewayRoles.contains("admin") };
@id("pg-connect") permit (principal, action == Gateway::Action::"connect", resource) when { principal.gatewayRoles.contains("requester") };
@id("pg-read") permit (principal, action in Gateway::Action::"sql:read", resource) when { principal.gatewayRoles.contains("requester") };
@id("pg-delete-held") @approval("required") @approvers("role:approver")
permit (principal, action == Gateway::Action::"sql:delete", resource) when { principal.gatewayRoles.contains("requester") };
`;

describe('process attestation beside an Entra token', () => {
  let fx: PgFixture;
  let entra: string;
  const api = (path: string, headers: Record<string, string> = {}, token?: string) => fx.stack.cp.request('GET', path, { token: token ?? fx.stack.admin, headers });
  const mint = (platform: WorkloadPlatform, claims: Record<string, unknown>) => fx.stack.cp.idp.workloads.issuer(platform).mint(claims, AUDIENCE);

  beforeAll(async () => {
    fx = await startPgFixture('attest', {
      policy: ATTEST_POLICY,
      issuersFor: (iss) => [{
        issuer: `${iss}/github-actions`, audience: AUDIENCE, kind: 'github-actions',
        attestationFor: [{ when: 'principal.appId == "ci-pipeline" && repository == "acme/deploy" && ref == "refs/heads/main"' }],
      }],
    });
    entra = await fx.stack.cp.token('ci-pipeline');
  }, 60_000);

  afterAll(async () => {
    await fx?.close();
  });

  it('psql with PGPASSWORD=<token>~<attestation>: the session is the Entra app, its process the attested run', async () => {
    const runId = `${Date.now()}1`;
    const attestation = await mint('github-actions', githubClaims({ repository: 'acme/deploy', ref: 'refs/heads/main', runId }));
    const { stdout } = await run('psql', ['-X', '-A', '-t', '-c', 'SELECT count(*) FROM orders', `host=127.0.0.1 port=${fx.stack.pgPort} dbname=${fx.resource} user=${fx.role} sslmode=require`], {
      env: { ...process.env, PGPASSWORD: `${entra}~${attestation}`, PGAPPNAME: 'attested-psql' },
    });
    expect(stdout.trim()).toBe('3');
    const res = await api(`/api/v1/sessions?process.run_id=${runId}`);
    const sessions = (res.body as { items: SessionDto[] }).items;
    expect(sessions).toHaveLength(1);
    expect(sessions[0]!.principal).toMatchObject({ appId: 'ci-pipeline', process: { source: 'attestation', platform: 'github-actions', run_id: runId, repository: 'acme/deploy' } });
  });

  it('an attestation of another repository’s run, or of a feature branch, refuses the session', async () => {
    for (const claims of [githubClaims({ repository: 'acme/other', ref: 'refs/heads/main', runId: '1' }), githubClaims({ repository: 'acme/deploy', ref: 'refs/heads/dev', runId: '2' })]) {
      const c = fx.gateway({ password: `${entra}~${await mint('github-actions', claims)}` });
      await expect(c.connect()).rejects.toMatchObject({ code: '28P01', message: expect.stringMatching(/attestation is not accepted for this principal/) });
    }
    const audit = await api('/api/v1/audit/events?action=auth.attestation_refused');
    expect((audit.body as { items: unknown[] }).items.length).toBeGreaterThanOrEqual(2);
  });

  it('REST: the Gateway-Process-Attestation header puts the run on the principal; a refused one is a 401', async () => {
    const runId = `${Date.now()}2`;
    const attestation = await mint('github-actions', githubClaims({ repository: 'acme/deploy', ref: 'refs/heads/main', runId }));
    const me = await api('/api/v1/whoami', { 'gateway-process-attestation': attestation }, entra);
    expect(me.status).toBe(200);
    expect(me.body.process).toMatchObject({ run_id: runId, source: 'attestation' });
    const other = await mint('github-actions', githubClaims({ repository: 'acme/other', ref: 'refs/heads/main', runId: '3' }));
    const refused = await api('/api/v1/whoami', { 'gateway-process-attestation': other }, entra);
    expect(refused.status).toBe(401);
    expect(JSON.stringify(refused.body)).toContain('attestation is not accepted');
    // An admin token with no attestationFor rule for it cannot borrow a run either.
    expect((await api('/api/v1/whoami', { 'gateway-process-attestation': attestation })).status).toBe(401);
  });

  it('MCP: the same header on /mcp; a refused attestation is a 401 with the reason', async () => {
    const good = await mint('github-actions', githubClaims({ repository: 'acme/deploy', ref: 'refs/heads/main', runId: '5' }));
    const bad = await mint('github-actions', githubClaims({ repository: 'acme/other', ref: 'refs/heads/main', runId: '6' }));
    const accepted = await rawMcp(fx.stack.cp.baseUrl, { token: entra, body: initializeBody(), headers: { 'gateway-process-attestation': good } });
    expect(accepted.status).toBe(200);
    const refused = await rawMcp(fx.stack.cp.baseUrl, { token: entra, body: initializeBody(), headers: { 'gateway-process-attestation': bad } });
    expect(refused.status).toBe(401);
    expect(refused.headers.get('www-authenticate')).toMatch(/attestation is not accepted for this principal/);
  });

  it('a held statement shows the approvers the attested run', async () => {
    const runId = `${Date.now()}4`;
    const attestation = await mint('github-actions', githubClaims({ repository: 'acme/deploy', ref: 'refs/heads/main', runId }));
    const c = fx.gateway({ password: `${entra}~${attestation}`, application_name: 'held-attested' });
    c.on('error', () => undefined);
    await c.connect();
    try {
      const deletion = c.query('DELETE FROM orders WHERE id = 1').then(() => 'ran', (error: Error) => error.message);
      const approver = await fx.stack.cp.token('approver');
      let held: { id: string; process: Record<string, string> | null } | undefined;
      await expect.poll(async () => {
        const list = await fx.stack.cp.request('GET', '/api/v1/approvals?status=pending', { token: approver });
        held = (list.body as { items: { id: string; process: Record<string, string> | null }[] }).items.find((a) => a.process?.run_id === runId);
        return held !== undefined;
      }, { timeout: 10_000 }).toBe(true);
      expect(held!.process).toMatchObject({ platform: 'github-actions', repository: 'acme/deploy', source: 'attestation' });
      expect((await fx.stack.cp.request('POST', `/api/v1/approvals/${held!.id}/deny`, { token: approver, body: {} })).status).toBe(200);
      expect(await deletion).toMatch(/denied|refused/i);
    } finally {
      await c.end();
    }
  });
});
