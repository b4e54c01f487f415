import type { Principal } from '@gw/identity';
import type { ApprovalEntity } from './approval.entity.js';
import { approverEligibility } from './approver-eligibility.js';

/**
 * The public shape of an approval: the API answer, the `data.approval` of domain events (webhooks
 * and the SSE stream rely on it), never a token, the subject is already masked.
 */
export function approvalView(a: ApprovalEntity) {
  return {
    id: a.id,
    kind: a.kind,
    status: a.status,
    resource: a.resourceName,
    principalId: a.requestedBy,
    ...(a.sessionId ? { sessionId: a.sessionId } : {}),
    ...(a.accessRequestId ? { accessRequestId: a.accessRequestId } : {}),
    subject: a.subject,
    requiredApprovals: a.requiredApprovals,
    approvers: (a.approverConstraint ?? 'role:approver').split(',').map((e) => e.trim()),
    votes: a.votes,
    scope: a.scope,
    createdAt: a.createdAt.toISOString(),
    expiresAt: a.expiresAt.toISOString(),
    ...(a.decidedAt ? { decidedAt: a.decidedAt.toISOString() } : {}),
  };
}

export type ApprovalView = ReturnType<typeof approvalView>;

/** The API's view for one viewer: also whether they may vote on it now (the approvers' queue). */
export function approvalViewFor(a: ApprovalEntity, viewer: Principal) {
  const mayVote =
    a.status === 'pending' &&
    viewer.gatewayRoles.some((r) => r === 'approver' || r === 'admin') &&
    approverEligibility(viewer, a.requestedBy, a.approverConstraint).ok &&
    !a.votes.some((v) => v.approverId === viewer.id);
  return { ...approvalView(a), youMayDecide: mayVote };
}
