import type { Principal } from '@gw/identity';

/** What a session record keeps of the principal that opened it. */
export function principalSnapshot(p: Principal): Record<string, unknown> {
  return {
    id: p.id, kind: p.kind, issuer: p.issuer, tenantId: p.tenantId, subject: p.subject, objectId: p.objectId,
    appId: p.appId, displayName: p.displayName, roles: p.roles, groups: p.groups, gatewayRoles: p.gatewayRoles,
  };
}
