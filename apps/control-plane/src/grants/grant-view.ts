import { grantState, type GrantEntity } from './grant.entity.js';
import type { AccessRequestEntity } from './access-request.entity.js';

/** Public shape of a grant: API answers and the `data.grant` of domain events. */
export function grantView(g: GrantEntity) {
  return {
    id: g.id,
    principalId: g.principalId,
    process: g.process ?? null,
    resource: g.resourceName,
    role: g.role,
    state: grantState(g),
    accessRequestId: g.accessRequestId,
    startsAt: g.startsAt.toISOString(),
    expiresAt: g.expiresAt.toISOString(),
    ...(g.revokedAt ? { revokedAt: g.revokedAt.toISOString(), revokedBy: g.revokedBy } : {}),
  };
}

/** Public shape of an access request: API answers and the `data.accessRequest` of domain events. */
export function accessRequestView(r: AccessRequestEntity) {
  return {
    id: r.id,
    principalId: r.principalId,
    resource: r.resourceName,
    role: r.role,
    durationSeconds: r.durationSeconds,
    reason: r.reason,
    status: r.status,
    decision: r.decision,
    createdAt: r.createdAt.toISOString(),
    decidedAt: r.decidedAt?.toISOString() ?? null,
  };
}
