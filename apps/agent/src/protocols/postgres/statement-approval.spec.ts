import { describe, expect, it } from 'vitest';
import { approvalNotice, approvalRecord, refusedByApproval } from './statement-approval.js';
import type { StatementVerdict } from './statement-policy.js';

const held: StatementVerdict = { effect: 'require_approval', policies: ['p'], reasons: ['approval required by policy "p"'], masking: { entities: [], columns: [] } };
const id = '6f0c8d1e-1a2b-4c3d-8e9f-0a1b2c3d4e5f';

describe('statement approval messages', () => {
  it('the notice names the approval, its deadline and both the approve and deny calls', () => {
    const n = approvalNotice({ approvalId: id, expiresAt: new Date('2026-01-01T10:05:00Z'), approveUrl: `http://gw:8080/api/v1/approvals/${id}/approve` });
    expect(n).toMatchObject({ severity: 'NOTICE', code: '00000' });
    expect(n.message).toBe(`statement held for approval ${id} until 2026-01-01T10:05:00.000Z`);
    expect(n.hint).toContain(`POST http://gw:8080/api/v1/approvals/${id}/approve`);
    expect(n.hint).toContain(`POST http://gw:8080/api/v1/approvals/${id}/deny`);
  });

  it('every way of not being approved becomes a deny that names the approval and says nothing ran', () => {
    const cases = [
      [{ status: 'denied', approvalId: id, by: 'Approver', comment: 'no' }, `approval ${id} was denied by Approver: no; the statement did not run`],
      [{ status: 'expired', approvalId: id, by: null, comment: null }, `approval ${id} timed out before anyone decided; the statement did not run`],
      [{ status: 'cancelled', approvalId: id, by: null, comment: 'the session ended' }, `approval ${id} was cancelled (the session ended); the statement did not run`],
      [{ status: 'unavailable', reason: 'the connection to the control plane was lost' }, 'approval (none) could not be completed: the connection to the control plane was lost; the statement did not run'],
    ] as const;
    for (const [outcome, message] of cases) {
      const v = refusedByApproval(held, outcome);
      expect(v).toMatchObject({ effect: 'deny', policies: ['p'], message });
    }
  });

  it('records who decided and with which scope', () => {
    expect(approvalRecord({ status: 'approved', approvalId: id, scope: 'session', by: 'A', comment: null })).toEqual({ id, status: 'approved', scope: 'session', by: 'A' });
    expect(approvalRecord({ status: 'unavailable', reason: 'x' })).toEqual({ id: null, status: 'unavailable', scope: null, by: null });
  });
});
