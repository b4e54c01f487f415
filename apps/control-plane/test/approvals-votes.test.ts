import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DataSource } from 'typeorm';
import type { Principal } from '@gw/identity';
import { ApprovalsService } from '../src/approvals/approvals.service.js';
import { ApprovalEntity } from '../src/approvals/approval.entity.js';
import { startHarness, type Harness } from './support/harness.js';

/**
 * Who may vote, and how often: the service with the real Postgres (row locks, transactions), and
 * the REST endpoints with bad bodies. A principal id is `<issuer>#<oid ?? sub>` as the token
 * states it, so one Entra object reaches the gateway under two ids (v1 and v2 issuers).
 */
const TENANT = '72f988bf-86f1-41af-91ab-2d7cd011db47';
const ALICE_OID = '0a1b2c3d-0000-4000-8000-00000000a11c';
const BOB_OID = '0a1b2c3d-0000-4000-8000-000000000b0b';
const v2 = (oid: string) => `https://login.microsoftonline.com/${TENANT}/v2.0#${oid}`;
const v1 = (oid: string) => `https://sts.windows.net/${TENANT}/#${oid}`;
const approver = (id: string): Principal => ({ id, kind: 'human', issuer: id.split('#')[0]!, subject: id.split('#')[1]!, roles: [], groups: [], gatewayRoles: ['approver'] });

describe('approval votes: one per person, never the requester (real Postgres)', () => {
  let h: Harness;
  let service: ApprovalsService;
  let ds: DataSource;
  let tokens: Record<'approver' | 'approver2', string>;

  const newApproval = async (requestedBy: string, approvals = 2) => {
    const made = await ds.transaction((tx) => service.create({
      kind: 'access_request', requestedBy: { id: requestedBy, kind: 'human' }, resourceName: 'pg-prod', subject: { test: true },
      requirement: { approvals, approvers: ['role:approver'], timeoutSeconds: 600 },
    }, tx));
    await made.afterCommit();
    return made.approval.id;
  };
  const row = (id: string) => ds.getRepository(ApprovalEntity).findOneByOrFail({ id });

  beforeAll(async () => {
    h = await startHarness();
    service = h.app.get(ApprovalsService);
    ds = h.app.get(DataSource);
    tokens = { approver: await h.token('approver'), approver2: await h.token('approver-2') };
  });
  afterAll(async () => {
    await h?.close();
  });

  it('the requester cannot approve their own request through another issuer (v1 token) or a differently cased id', async () => {
    const id = await newApproval(v2(ALICE_OID), 1);
    await expect(service.vote(id, approver(v1(ALICE_OID)), { decision: 'approve' })).rejects.toThrow(/own request/);
    await expect(service.vote(id, approver(v2(ALICE_OID.toUpperCase())), { decision: 'approve' })).rejects.toThrow(/own request/);
    expect((await row(id)).status).toBe('pending');
  });

  it('one person with two ids (v1 and v2 tokens) counts once toward N-of-M', async () => {
    const id = await newApproval(v2(ALICE_OID), 2);
    expect((await service.vote(id, approver(v2(BOB_OID)), { decision: 'approve' })).status).toBe('pending');
    await expect(service.vote(id, approver(v1(BOB_OID)), { decision: 'approve' })).rejects.toThrow(/already voted/);
    const after = await row(id);
    expect(after.status).toBe('pending');
    expect(after.votes).toHaveLength(1);
  });

  it('two votes of the same person at once: exactly one is counted', async () => {
    const id = await newApproval(v2(ALICE_OID), 2);
    const results = await Promise.allSettled([
      service.vote(id, approver(v2(BOB_OID)), { decision: 'approve' }),
      service.vote(id, approver(v1(BOB_OID)), { decision: 'approve' }),
    ]);
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    const after = await row(id);
    expect(after.status).toBe('pending');
    expect(after.votes).toHaveLength(1);
  });

  it('approve and cancel at once: the approval ends one way, and a later vote or deny changes nothing', async () => {
    const id = await newApproval(v2(ALICE_OID), 1);
    await Promise.allSettled([service.vote(id, approver(v2(BOB_OID)), { decision: 'approve' }), service.cancel(id, 'session ended')]);
    const settled = await row(id);
    expect(['approved', 'cancelled']).toContain(settled.status);
    await expect(service.vote(id, approver('https://idp.example#carol'), { decision: 'deny' })).rejects.toThrow(/already/);
    expect((await row(id)).status).toBe(settled.status);
  });

  it('bad bodies to approve/deny are a 400, not a 500 or a silent accept', async () => {
    const id = await newApproval(v2(ALICE_OID), 2);
    const post = (path: string, body: unknown, headers?: Record<string, string>) => h.request('POST', `/api/v1/approvals/${id}/${path}`, { token: tokens.approver, body, ...(headers ? { headers } : {}) });
    for (const body of [{ scope: 'forever' }, { scope: 1 }, { comment: 42 }, { comment: '' }, { extra: true }, [], 'null', '"approve"', '{not json', { comment: 'x'.repeat(2001) }]) {
      const res = await post('approve', body);
      expect(res.status, JSON.stringify(body).slice(0, 40)).toBe(400);
    }
    expect((await post('deny', { scope: 'session' })).status).toBe(400);
    const huge = await post('approve', JSON.stringify({ comment: 'x'.repeat(2_000_000) }));
    expect(huge.status).toBeGreaterThanOrEqual(400);
    expect(huge.status).toBeLessThan(500);
    expect((await h.request('POST', '/api/v1/approvals/not-a-uuid/approve', { token: tokens.approver, body: {} })).status).toBe(400);
    expect((await row(id)).votes).toHaveLength(0);
  });
});
