import type { Principal } from '@gw/identity';

/** What a session record keeps of the principal that opened it. */
export function principalSnapshot(p: Principal): Record<string, unknown> {
  return {
    id: p.id, kind: p.kind, issuer: p.issuer, tenantId: p.tenantId, subject: p.subject, objectId: p.objectId,
    appId: p.appId, displayName: p.displayName, roles: p.roles, groups: p.groups, gatewayRoles: p.gatewayRoles,
    // The verified process rides in the principal snapshot: statement records (via the session),
    // held statements and the REST filter (`?process.run_id=`) all read it from here.
    ...(p.process ? { process: p.process } : {}),
  };
}
