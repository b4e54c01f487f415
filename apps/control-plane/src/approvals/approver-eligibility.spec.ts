import { describe, expect, it } from 'vitest';
import type { Principal } from '@gw/identity';
import { approverEligibility } from './approver-eligibility.js';

const person = (id: string, gatewayRoles: Principal['gatewayRoles'], groups: string[] = []): Principal => ({
  id, kind: 'human', issuer: 'i', subject: id, roles: [], groups, gatewayRoles,
});

describe('who may vote on an approval', () => {
  it('never the requester, whatever their roles', () => {
    expect(approverEligibility(person('a', ['approver', 'admin']), 'a', 'role:approver, role:admin')).toEqual({ ok: false, reason: 'nobody approves their own request' });
  });

  it('matches role and group entries literally; an admin is an approver only when named', () => {
    expect(approverEligibility(person('b', ['approver']), 'a', 'role:approver').ok).toBe(true);
    expect(approverEligibility(person('c', ['admin']), 'a', 'role:approver').ok).toBe(false);
    expect(approverEligibility(person('c', ['admin']), 'a', 'role:approver, role:admin').ok).toBe(true);
    expect(approverEligibility(person('d', ['requester'], ['dba']), 'a', 'group:dba').ok).toBe(true);
    expect(approverEligibility(person('e', ['approver'], ['web']), 'a', 'group:dba')).toEqual({ ok: false, reason: 'only approvers matching group:dba may decide this approval' });
  });

  it('defaults to role:approver when the approval names nobody', () => {
    expect(approverEligibility(person('b', ['approver']), 'a', null).ok).toBe(true);
    expect(approverEligibility(person('f', ['auditor']), 'a', null).ok).toBe(false);
  });
});
