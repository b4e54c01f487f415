import { describe, expect, it } from 'vitest';
import type { Principal } from '@gw/identity';
import { approvalEventFor, approvalEventView, approvalView, mayViewDetail } from './approval-view.js';
import { ApprovalEntity } from './approval.entity.js';

const person = (id: string, gatewayRoles: Principal['gatewayRoles'], groups: string[] = []): Principal => ({
  id, kind: 'human', issuer: 'i', subject: id, roles: [], groups, gatewayRoles,
});

describe('who reads the unmasked statement of an approval', () => {
  it.each([
    ['an admin, named or not', person('adm', ['admin']), 'group:dba', true],
    ['the requester (their own statement)', person('req', ['requester']), 'role:approver', true],
    ['an approver the policy names by role', person('ap', ['approver']), 'role:approver', true],
    ['an approver the policy names by group', person('ap', ['approver'], ['dba']), 'group:dba', true],
    ['an approver the policy does not name', person('ap', ['approver']), 'group:dba, role:admin', false],
    ['a group member without the approver role', person('x', ['requester'], ['dba']), 'group:dba', false],
    ['an auditor', person('aud', ['auditor']), 'role:approver', false],
    ['another requester', person('other', ['requester']), 'role:approver', false],
  ] as const)('%s: %s', (_name, viewer, constraint, expected) => {
    expect(mayViewDetail(viewer, 'req', constraint)).toBe(expected);
  });

  it('removes the detail from a stream event for a viewer who may not read it, and keeps the rest', () => {
    const data = { sessionId: 's', approval: { id: 'a', principalId: 'req', approvers: ['role:approver'], subject: { text: "x = '***'" }, detail: { text: "x = 'secret'" } } };
    expect(approvalEventFor(data, person('aud', ['auditor']))).toEqual({ sessionId: 's', approval: { id: 'a', principalId: 'req', approvers: ['role:approver'], subject: { text: "x = '***'" } } });
    expect(approvalEventFor(data, person('ap', ['approver']))).toBe(data);
    // A malformed approval (no requester) fails closed.
    const { principalId: _gone, ...noRequester } = data.approval;
    expect(approvalEventFor({ approval: noRequester }, person('ap', ['approver']))).toEqual({ approval: { id: 'a', approvers: ['role:approver'], subject: { text: "x = '***'" } } });
  });
});

describe('the process behind a held item', () => {
  it('is in the public view and so in every webhook and stream event of the approval', () => {
    const process = { platform: 'github-actions', run_id: '42', repository: 'acme/deploy' };
    const a = Object.assign(new ApprovalEntity(), {
      id: 'a', kind: 'statement', status: 'pending', resourceName: 'db', requestedBy: 'req', process, sessionId: 's', accessRequestId: null,
      subject: {}, detail: null, requiredApprovals: 1, approverConstraint: null, votes: [], scope: null,
      createdAt: new Date(0), expiresAt: new Date(1000), decidedAt: null,
    });
    expect(approvalView(a).process).toEqual(process);
    expect(approvalEventView(a).process).toEqual(process);
    expect(approvalView({ ...a, process: null }).process).toBeNull();
  });
});
