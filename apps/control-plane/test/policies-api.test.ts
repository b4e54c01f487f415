import { DEMO_POLICY } from '@gw/policy';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHarness, type Harness } from './support/harness.js';

const requester = { id: 'https://idp.example/#ai-agent', kind: 'workload', gatewayRoles: ['requester'] };
const prodDb = { name: 'orders', type: 'postgres', labels: { env: 'prod' } };

describe('policies API: write, validate, activate, dry-run', () => {
  let h: Harness;
  let admin: string;
  beforeAll(async () => {
    h = await startHarness();
    admin = await h.token('security-admin');
  });
  afterAll(async () => {
    await h?.close();
  });

  it('has no active policy at first, and then everything is denied', async () => {
    expect((await h.request('GET', '/api/v1/policies/active', { token: admin })).status).toBe(404);
  });

  it('refuses an invalid policy with the validator message and stores nothing', async () => {
    const bad = `@id("x") permit (principal, action == Gateway::Action::"sql:frobnicate", resource);`;
    const res = await h.request('POST', '/api/v1/policies', { token: admin, body: { text: bad } });
    expect(res.status).toBe(400);
    expect(res.body.error).toBe('policy_invalid');
    expect(JSON.stringify(res.body.errors)).toMatch(/frobnicate/);
    const wrongType = `@id("y") permit (principal, action, resource) when { resource.type == 3 };`;
    const res2 = await h.request('POST', '/api/v1/policies/validate', { token: admin, body: { text: wrongType } });
    expect(res2.status).toBe(200);
    expect(res2.body.valid).toBe(false);
    expect(res2.body.errors.length).toBeGreaterThan(0);
    expect((await h.request('GET', '/api/v1/policies', { token: admin })).body.items).toEqual([]);
  });

  it('validates, stores, activates, and dry-runs the demo policy', async () => {
    const valid = await h.request('POST', '/api/v1/policies/validate', { token: admin, body: { text: DEMO_POLICY } });
    expect(valid.body.valid).toBe(true);
    const created = await h.request('POST', '/api/v1/policies', { token: admin, body: { text: DEMO_POLICY, description: 'demo' } });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ version: 1, active: false });
    const activated = await h.request('POST', '/api/v1/policies/1/activate', { token: admin });
    expect(activated.status).toBe(200);
    expect(activated.body.active).toBe(true);
    const active = await h.request('GET', '/api/v1/policies/active', { token: admin });
    expect(active.body).toMatchObject({ version: 1, text: DEMO_POLICY });

    const dryRun = (action: string, resource = prodDb, principal: object = requester) =>
      h.request('POST', '/api/v1/policies/dry-run', { token: admin, body: { principal, action, resource } });

    const read = await dryRun('sql:select');
    expect(read.status).toBe(200);
    expect(read.body.decision.effect).toBe('allow');
    expect(read.body.decision.determiningPolicies).toEqual(['requester-postgres-read']);
    expect(read.body.decision.obligations.masking.entities).toContainEqual({ entity: 'card', style: 'full' });

    const del = await dryRun('sql:delete');
    expect(del.body.decision.effect).toBe('require_approval');
    expect(del.body.decision.obligations.approval).toMatchObject({ approvals: 1 });

    const drop = await dryRun('sql:ddl');
    expect(drop.body.decision.effect).toBe('deny');
    expect(drop.body.decision.determiningPolicies).toEqual(['requester-no-ddl-or-admin']);

    const sshShell = await dryRun('ssh:shell', { name: 'bastion', type: 'ssh', labels: {} });
    expect(sshShell.body.decision.effect).toBe('deny');
    expect(sshShell.body.decision.reasons.join(' ')).toMatch(/no policy permits/);

    const unknownAction = await dryRun('sql:frobnicate');
    expect(unknownAction.status).toBe(400);
  });

  it('a second version replaces the first as the one active version; writes are audited', async () => {
    const text = `@id("nothing-but-admins") permit (principal, action, resource) when { principal.gatewayRoles.contains("admin") };`;
    const created = await h.request('POST', '/api/v1/policies', { token: admin, body: { text, activate: true } });
    expect(created.body).toMatchObject({ version: 2, active: true });
    const list = await h.request('GET', '/api/v1/policies', { token: admin });
    expect(list.body.items.map((p: { version: number; active: boolean }) => [p.version, p.active])).toEqual([[2, true], [1, false]]);
    const dry = await h.request('POST', '/api/v1/policies/dry-run', { token: admin, body: { principal: requester, action: 'sql:select', resource: prodDb } });
    expect(dry.body).toMatchObject({ version: 2, decision: { effect: 'deny' } });
    const old = await h.request('POST', '/api/v1/policies/dry-run', { token: admin, body: { version: 1, principal: requester, action: 'sql:select', resource: prodDb } });
    expect(old.body.decision.effect).toBe('allow');
    const audit = await h.request('GET', '/api/v1/audit/events?action=policy.activated', { token: admin });
    expect(audit.body.items.map((e: { details: { version: number } }) => e.details.version)).toEqual([2, 1]);
    expect((await h.request('GET', '/api/v1/audit/verify', { token: admin })).body.ok).toBe(true);
  });

  it('activating an unknown version is a 404', async () => {
    expect((await h.request('POST', '/api/v1/policies/99/activate', { token: admin })).status).toBe(404);
  });
});
