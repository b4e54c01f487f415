import { describe, expect, it } from 'vitest';
import { DEFAULT_ROLE_MAPPINGS, mapGatewayRoles, parseRoleMappings } from './role-mapping.js';

describe('role mappings', () => {
  it('parses ROLE_MAPPINGS JSON, defaulting absent lists to empty', () => {
    const mappings = parseRoleMappings('{"admin":{"roles":["Gateway.Admin"],"groups":[]},"approver":{"roles":["Gateway.Approver"]}}');
    expect(mappings).toEqual({ admin: { roles: ['Gateway.Admin'], groups: [] }, approver: { roles: ['Gateway.Approver'], groups: [] } });
  });

  it('refuses unknown gateway roles and unknown keys', () => {
    expect(() => parseRoleMappings({ superuser: { roles: ['X'] } })).toThrow(/ROLE_MAPPINGS is invalid/);
    expect(() => parseRoleMappings({ admin: { role: ['X'] } })).toThrow(/ROLE_MAPPINGS is invalid/);
  });

  it('maps every default app role, case-sensitively, in a stable order', () => {
    expect(mapGatewayRoles(DEFAULT_ROLE_MAPPINGS, ['Gateway.Requester', 'Gateway.Admin', 'Gateway.Auditor', 'Gateway.Approver'], [])).toEqual([
      'admin',
      'approver',
      'auditor',
      'requester',
    ]);
    expect(mapGatewayRoles(DEFAULT_ROLE_MAPPINGS, ['gateway.admin', 'Gateway.Agent'], [])).toEqual([]);
  });

  it('grants a role from a group id', () => {
    expect(mapGatewayRoles({ auditor: { roles: [], groups: ['g-1'] } }, [], ['g-0', 'g-1'])).toEqual(['auditor']);
  });
});
