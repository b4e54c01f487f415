import { describe, expect, it } from 'vitest';
import type { Principal } from '@gw/identity';
import { approverEligibility, identityKey, sameIdentity } from './approver-eligibility.js';

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

  it('one Entra object is one person through the v1 and v2 issuers and in any case; other ids stay apart', () => {
    const tid = '72f988bf-86f1-41af-91ab-2d7cd011db47';
    const oid = '0a1b2c3d-0000-4000-8000-00000000a11c';
    const v2 = `https://login.microsoftonline.com/${tid}/v2.0#${oid}`;
    const v1 = `https://sts.windows.net/${tid}/#${oid}`;
    expect(identityKey(v2)).toBe(`tenant:${tid}#${oid}`);
    expect(sameIdentity(v1, v2)).toBe(true);
    expect(sameIdentity(v2.toUpperCase(), v1)).toBe(true);
    expect(approverEligibility(person(v1, ['approver']), v2, 'role:approver').ok).toBe(false);
    expect(sameIdentity(v2, `https://login.microsoftonline.com/${tid}/v2.0#0a1b2c3d-0000-4000-8000-000000000b0b`)).toBe(false);
    expect(sameIdentity('https://idp.example#alice', 'https://other.example#alice')).toBe(false);
    expect(sameIdentity('https://idp.example#Alice', 'https://idp.example#alice')).toBe(true);
  });
});
