import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApprovalsService } from '../src/approvals/approvals.service.js';
import { GrantsService } from '../src/grants/grants.service.js';
import { DataSource } from 'typeorm';
import { connectFakeAgent } from './support/fake-agent.js';
import { startHarness, type Harness } from './support/harness.js';
import { openSse } from './support/sse.js';

/**
 * request_access decides: env=dev grants at once (capped at 1h), env=prod needs two approvers,
 * anything else is refused. Approvers of prod are role:approver only (not admins).
 */
const POLICY = `
@id("admins") permit (principal, action, resource) when { principal.gatewayRoles.contains("admin") && action != Gateway::Action::"request_access" };
@id("dev-self-service") @max_session("1h")
permit (principal, action == Gateway::Action::"request_access", resource)
  when { (principal.gatewayRoles.contains("requester") || principal.gatewayRoles.contains("approver")) && resource.hasTag("env") && resource.getTag("env") == "dev" };
@id("prod-two-approvers") @approval("required") @approvals("2") @approvers("role:approver") @approval_timeout("10m")
permit (principal, action == Gateway::Action::"request_access", resource)
  when { (principal.gatewayRoles.contains("requester") || principal.gatewayRoles.contains("approver")) && resource.hasTag("env") && resource.getTag("env") == "prod" };
@id("staging-one-approver") @approval("required")
permit (principal, action == Gateway::Action::"request_access", resource)
  when { principal.gatewayRoles.contains("requester") && resource.hasTag("env") && resource.getTag("env") == "staging" };
`;

describe('access requests, approvals and grants (API, real Postgres, Redis and BullMQ)', () => {
  let h: Harness;
  let tokens: Record<'admin' | 'approver' | 'approver2' | 'auditor' | 'agent' | 'ci', string>;
  let closeAgent: () => void;

  const call = (who: keyof typeof tokens, method: string, path: string, body?: unknown) => h.request(method, path, { token: tokens[who], body });
  const ask = (who: keyof typeof tokens, resource: string, duration: string | number = '30m') =>
    call(who, 'POST', '/api/v1/access-requests', { resource, role: 'app_rw', duration, reason: 'incident 4711: fix the orders' });
  const auditActions = async (id: string) => {
    const res = await call('admin', 'GET', '/api/v1/audit/events?limit=500');
    return (res.body.items as { action: string; details: Record<string, unknown> }[]).filter((e) => JSON.stringify(e.details).includes(id)).map((e) => e.action);
  };

  beforeAll(async () => {
    h = await startHarness();
    tokens = {
      admin: await h.token('security-admin'),
      approver: await h.token('approver'),
      approver2: await h.token('approver-2'),
      auditor: await h.token('auditor'),
      agent: await h.token('ai-agent'),
      ci: await h.token('ci-pipeline'),
    };
    const reg = await call('admin', 'POST', '/api/v1/agents', { name: 'edge-grants' });
    const agent = await connectFakeAgent(h.baseUrl, { credential: reg.body.credential }, [
      { name: 'pg-dev', type: 'postgres', labels: { env: 'dev' } },
      { name: 'pg-prod', type: 'postgres', labels: { env: 'prod' } },
      { name: 'pg-staging', type: 'postgres', labels: { env: 'staging' } },
      { name: 'pg-closed', type: 'postgres', labels: { env: 'closed' } },
    ]);
    closeAgent = agent.close;
    const policy = await call('admin', 'POST', '/api/v1/policies', { text: POLICY, activate: true });
    expect(policy.status).toBe(201);
  });
  afterAll(async () => {
    closeAgent?.();
    await h?.close();
  });

  it('self-service: policy grants at once, capped by @max_session; the grant is listed, audited and revocable once', async () => {
    const res = await ask('agent', 'pg-dev', '8h');
    expect(res.status).toBe(201);
    expect(res.body.accessRequest).toMatchObject({ status: 'approved', durationSeconds: 8 * 3600, decision: { effect: 'allow', grantSeconds: 3600, capped: true } });
    const grant = res.body.grant;
    expect(grant).toMatchObject({ resource: 'pg-dev', role: 'app_rw', state: 'active' });
    expect(Date.parse(grant.expiresAt) - Date.parse(grant.startsAt)).toBe(3600 * 1000);
    expect(res.body.approval).toBeNull();

    const mine = await call('agent', 'GET', '/api/v1/grants?active=true');
    expect(mine.body.items.map((g: { id: string }) => g.id)).toContain(grant.id);
    const others = await call('ci', 'GET', '/api/v1/grants');
    expect(others.body.items.map((g: { id: string }) => g.id)).not.toContain(grant.id);
    expect((await call('ci', 'DELETE', `/api/v1/grants/${grant.id}`)).status).toBe(404);

    const revoked = await call('approver', 'DELETE', `/api/v1/grants/${grant.id}`);
    expect(revoked.status).toBe(200);
    expect(revoked.body).toMatchObject({ state: 'revoked', revokedBy: 'Approver' });
    expect((await call('admin', 'DELETE', `/api/v1/grants/${grant.id}`)).status).toBe(409);
    expect(await auditActions(grant.id)).toEqual(expect.arrayContaining(['grant.created', 'grant.revoked']));
  });

  it('refuses what no policy permits (403 naming why), and keeps the refused request', async () => {
    const res = await ask('agent', 'pg-closed');
    expect(res.status).toBe(403);
    expect(res.body.message).toMatch(/no policy permits request_access/);
    const id = res.body.accessRequestId as string;
    const listed = await call('agent', 'GET', '/api/v1/access-requests?status=denied');
    expect(listed.body.items.find((r: { id: string }) => r.id === id)).toMatchObject({ status: 'denied', resource: 'pg-closed' });
    expect(await auditActions(id)).toContain('access_request.created');
    expect((await ask('agent', 'pg-unknown')).status).toBe(404);
    const bad = await call('agent', 'POST', '/api/v1/access-requests', { resource: 'pg-dev', role: '1; DROP', duration: '3 weeks', reason: 'x', extra: 1 });
    expect(bad.status).toBe(400);
    expect(bad.body.fields.map((f: { path: string }) => f.path).sort()).toEqual(['(body)', 'duration', 'reason', 'role']);
  });

  it('N-of-M: two distinct approvers make the grant; own request, non-approvers, admins not named and double votes are refused', async () => {
    const res = await ask('approver', 'pg-prod');
    expect(res.status).toBe(201);
    expect(res.body.accessRequest.status).toBe('pending');
    expect(res.body.grant).toBeNull();
    const approval = res.body.approval;
    expect(approval).toMatchObject({ kind: 'access_request', status: 'pending', requiredApprovals: 2, approvers: ['role:approver'], resource: 'pg-prod' });

    const own = await call('approver', 'POST', `/api/v1/approvals/${approval.id}/approve`, {});
    expect(own.status).toBe(403);
    expect(own.body.message).toMatch(/own request/);
    expect((await call('agent', 'POST', `/api/v1/approvals/${approval.id}/approve`, {})).status).toBe(403);
    expect((await call('auditor', 'POST', `/api/v1/approvals/${approval.id}/approve`, {})).status).toBe(403);
    const admin = await call('admin', 'POST', `/api/v1/approvals/${approval.id}/approve`, {});
    expect(admin.status).toBe(403);
    expect(admin.body.message).toMatch(/role:approver/);

    // Only one other approver exists in the dev IdP: make the requester the AI agent instead.
    const second = await ask('agent', 'pg-prod');
    const a2 = second.body.approval.id as string;
    const first = await call('approver', 'POST', `/api/v1/approvals/${a2}/approve`, { comment: 'looked at the incident' });
    expect(first.status).toBe(200);
    expect(first.body).toMatchObject({ status: 'pending', votes: [{ approverName: 'Approver', decision: 'approve', comment: 'looked at the incident' }] });
    expect((await call('approver', 'POST', `/api/v1/approvals/${a2}/approve`, {})).status).toBe(409);
    const done = await call('approver2', 'POST', `/api/v1/approvals/${a2}/approve`, {});
    expect(done.status).toBe(200);
    expect(done.body).toMatchObject({ status: 'approved' });
    expect(done.body.votes).toHaveLength(2);

    const requests = await call('agent', 'GET', '/api/v1/access-requests');
    expect(requests.body.items.find((r: { id: string }) => r.id === second.body.accessRequest.id)).toMatchObject({ status: 'approved' });
    const grants = await call('agent', 'GET', '/api/v1/grants?active=true');
    const grant = grants.body.items.find((g: { accessRequestId: string }) => g.accessRequestId === second.body.accessRequest.id);
    expect(grant).toMatchObject({ resource: 'pg-prod', role: 'app_rw', state: 'active' });
    expect(Date.parse(grant.expiresAt) - Date.parse(grant.startsAt)).toBe(30 * 60 * 1000);
    expect(await auditActions(a2)).toEqual(expect.arrayContaining(['approval.requested', 'approval.vote', 'approval.approved']));
    expect((await call('approver2', 'POST', `/api/v1/approvals/${a2}/deny`, {})).status).toBe(409);
  });

  it('one deny decides, with its comment; no grant is made', async () => {
    const res = await ask('agent', 'pg-prod');
    const id = res.body.approval.id as string;
    const denied = await call('approver', 'POST', `/api/v1/approvals/${id}/deny`, { comment: 'not during the freeze' });
    expect(denied.status).toBe(200);
    expect(denied.body).toMatchObject({ status: 'denied', votes: [{ decision: 'deny', comment: 'not during the freeze' }] });
    const requests = await call('agent', 'GET', '/api/v1/access-requests');
    expect(requests.body.items.find((r: { id: string }) => r.id === res.body.accessRequest.id)).toMatchObject({ status: 'denied' });
    const grants = await call('admin', 'GET', '/api/v1/grants');
    expect(grants.body.items.some((g: { accessRequestId: string }) => g.accessRequestId === res.body.accessRequest.id)).toBe(false);
  });

  it('two approvers at once on a one-approval request: one wins, the other gets 409, exactly one grant', async () => {
    for (let round = 0; round < 3; round++) {
      const res = await ask('agent', 'pg-staging');
      const id = res.body.approval.id as string;
      const votes = await Promise.all([
        call('approver', 'POST', `/api/v1/approvals/${id}/approve`, {}),
        call('approver2', 'POST', `/api/v1/approvals/${id}/approve`, {}),
      ]);
      expect(votes.map((v) => v.status).sort()).toEqual([200, 409]);
      const grants = await call('admin', 'GET', '/api/v1/grants');
      expect(grants.body.items.filter((g: { accessRequestId: string }) => g.accessRequestId === res.body.accessRequest.id)).toHaveLength(1);
    }
  });

  it('an approval arriving after the timeout is refused and the approval is expired', async () => {
    const res = await ask('agent', 'pg-staging');
    const id = res.body.approval.id as string;
    const db = new pg.Client({ connectionString: h.dbUrl });
    await db.connect();
    await db.query(`UPDATE approvals SET expires_at = now() - interval '1 second' WHERE id = $1`, [id]);
    await db.end();
    const late = await call('approver', 'POST', `/api/v1/approvals/${id}/approve`, {});
    expect(late.status).toBe(409);
    expect(late.body.message).toMatch(/expired/);
    expect((await call('agent', 'GET', `/api/v1/approvals/${id}`)).body.status).toBe('expired');
    const requests = await call('agent', 'GET', '/api/v1/access-requests');
    expect(requests.body.items.find((r: { id: string }) => r.id === res.body.accessRequest.id)).toMatchObject({ status: 'expired' });
  });

  it('BullMQ delayed jobs expire approvals and grants at their time, audited and announced on the stream', async () => {
    const stream = await openSse(`${h.baseUrl}/api/v1/approvals/stream`, tokens.auditor);
    expect(stream.status).toBe(200);
    expect(stream.contentType).toMatch(/^text\/event-stream/);
    const ds = h.app.get(DataSource);
    // The API's minimum durations are minutes; the services take seconds, which is what the job sees.
    const made = await ds.transaction(async (tx) => ({
      approval: await h.app.get(ApprovalsService).create({ kind: 'access_request', requestedBy: { id: 'test-principal', kind: 'workload' }, resourceName: 'pg-staging', subject: { test: true }, requirement: { approvals: 1, approvers: ['role:approver'], timeoutSeconds: 2 } }, tx),
      grant: await h.app.get(GrantsService).create({ principal: { id: 'test-principal', kind: 'workload' }, resourceName: 'pg-dev', role: 'app_rw', durationSeconds: 2, accessRequestId: null }, tx),
    }));
    await made.approval.afterCommit();
    await made.grant.afterCommit();
    const expired = await stream.next((e) => e.event === 'approval.expired' && e.data.data.approval.id === made.approval.approval.id, 10_000);
    expect(expired.id).toBe(expired.data.id);
    await stream.next((e) => e.event === 'grant.expired' && e.data.data.grant.id === made.grant.grant.id, 10_000);
    stream.close();
    expect((await call('admin', 'GET', `/api/v1/approvals/${made.approval.approval.id}`)).body.status).toBe('expired');
    expect((await call('admin', 'GET', `/api/v1/grants/${made.grant.grant.id}`)).body.state).toBe('expired');
    expect(await auditActions(made.grant.grant.id)).toEqual(expect.arrayContaining(['grant.created', 'grant.expired']));
    expect(await auditActions(made.approval.approval.id)).toEqual(expect.arrayContaining(['approval.requested', 'approval.expired']));
  });

  it('the stream tells a workload the outcome of its own approval, and nothing about others', async () => {
    const mineStream = await openSse(`${h.baseUrl}/api/v1/approvals/stream`, tokens.agent);
    const ciStream = await openSse(`${h.baseUrl}/api/v1/approvals/stream`, tokens.ci);
    const approverStream = await openSse(`${h.baseUrl}/api/v1/approvals/stream`, tokens.approver);
    const res = await ask('agent', 'pg-staging');
    const id = res.body.approval.id as string;
    await mineStream.next((e) => e.event === 'approval.requested' && e.data.data.approval.id === id);
    // Approvers watch the queue live: they see every request, not only their own.
    await approverStream.next((e) => e.event === 'approval.requested' && e.data.data.approval.id === id);
    approverStream.close();
    expect((await call('approver', 'POST', `/api/v1/approvals/${id}/approve`, { comment: 'ok' })).status).toBe(200);
    const decided = await mineStream.next((e) => e.event === 'approval.decided' && e.data.data.approval.id === id);
    expect(decided.data.data.approval).toMatchObject({ status: 'approved', principalId: res.body.accessRequest.principalId, kind: 'access_request', requiredApprovals: 1 });
    await mineStream.next((e) => e.event === 'grant.created');
    mineStream.close();
    await new Promise((r) => setTimeout(r, 300));
    expect(ciStream.events.filter((e) => JSON.stringify(e.data).includes(id))).toEqual([]);
    ciStream.close();
    expect((await call('ci', 'GET', `/api/v1/approvals/${id}`)).status).toBe(404);
    expect((await call('agent', 'GET', `/api/v1/approvals/${id}`)).status).toBe(200);
    const anonymous = await fetch(`${h.baseUrl}/api/v1/approvals/stream`);
    expect(anonymous.status).toBe(401);
  });

  it('lists the pending queue for approvers', async () => {
    const res = await ask('agent', 'pg-prod');
    const pending = await call('approver', 'GET', '/api/v1/approvals?status=pending');
    expect(pending.status).toBe(200);
    expect(pending.body.items.map((a: { id: string }) => a.id)).toContain(res.body.approval.id);
    expect(pending.body.items.every((a: { status: string }) => a.status === 'pending')).toBe(true);
    expect(pending.body.items.find((a: { id: string }) => a.id === res.body.approval.id).youMayDecide).toBe(true);
    const asAdmin = await call('admin', 'GET', `/api/v1/approvals/${res.body.approval.id}`);
    expect(asAdmin.body.youMayDecide).toBe(false);
    await call('approver', 'POST', `/api/v1/approvals/${res.body.approval.id}/approve`, {});
    expect((await call('approver', 'GET', `/api/v1/approvals/${res.body.approval.id}`)).body.youMayDecide).toBe(false);
    expect((await call('approver2', 'GET', `/api/v1/approvals/${res.body.approval.id}`)).body.youMayDecide).toBe(true);
  });

  it('after a restart, expiries that passed while the control plane was down are processed', async () => {
    const ds = h.app.get(DataSource);
    const made = await ds.transaction((tx) => h.app.get(GrantsService).create({ principal: { id: 'test-principal', kind: 'workload' }, resourceName: 'pg-dev', role: 'app_rw', durationSeconds: 1, accessRequestId: null }, tx));
    // No afterCommit: the BullMQ job is never scheduled, as if Redis had lost it.
    await h.restart(1500);
    await expect.poll(async () => (await call('admin', 'GET', `/api/v1/grants/${made.grant.id}`)).body.state, { timeout: 5000 }).toBe('expired');
    expect(await auditActions(made.grant.id)).toContain('grant.expired');
  });
});
