import type { Principal } from '@gw/identity';
import type { ApprovalEntity } from './approval.entity.js';
import { approverEligibility, sameIdentity } from './approver-eligibility.js';

/**
 * The public shape of an approval, as anyone who may see it gets it: never a token, the subject is
 * masked, and the unmasked `detail` is not in it (see approvalViewFor and approvalEventView).
 */
export function approvalView(a: ApprovalEntity) {
  return {
    id: a.id,
    kind: a.kind,
    status: a.status,
    resource: a.resourceName,
    principalId: a.requestedBy,
    /** The verified process behind the request (run id, pod uid, repository ...), or null. */
    process: a.process ?? null,
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

export type ApprovalView = ReturnType<typeof approvalView> & { detail?: Record<string, unknown> };

/**
 * The `data.approval` of domain events: the public view plus the unmasked detail. Webhook receivers
 * (configured by an admin, usually the approvers' channel) get it as is; the SSE stream passes it
 * through `approvalEventFor` for each viewer.
 */
export function approvalEventView(a: ApprovalEntity): ApprovalView {
  return { ...approvalView(a), ...(a.detail ? { detail: a.detail } : {}) };
}

/**
 * Who may read the unmasked statement: admins, the requester (it is their own statement) and the
 * approvers the policy names for this approval. Auditors and approvers not named get the masked subject.
 */
export function mayViewDetail(viewer: Principal, requestedBy: string, approverConstraint: string | null): boolean {
  if (viewer.gatewayRoles.includes('admin') || sameIdentity(viewer.id, requestedBy)) return true;
  return viewer.gatewayRoles.includes('approver') && approverEligibility(viewer, requestedBy, approverConstraint).ok;
}

/** The API's view for one viewer: whether they may vote on it now (the approvers' queue), and the detail if theirs to see. */
export function approvalViewFor(a: ApprovalEntity, viewer: Principal) {
  const mayVote =
    a.status === 'pending' &&
    viewer.gatewayRoles.some((r) => r === 'approver' || r === 'admin') &&
    approverEligibility(viewer, a.requestedBy, a.approverConstraint).ok &&
    // The same rule as the vote itself: one vote per person, whichever of their ids voted.
    !a.votes.some((v) => sameIdentity(v.approverId, viewer.id));
  const detail = a.detail && mayViewDetail(viewer, a.requestedBy, a.approverConstraint) ? { detail: a.detail } : {};
  return { ...approvalView(a), ...detail, youMayDecide: mayVote };
}

/** An event's `data` for one viewer of the stream: the approval's detail removed unless theirs to see. */
export function approvalEventFor(data: Record<string, unknown>, viewer: Principal): Record<string, unknown> {
  const approval = data.approval as Partial<ApprovalView> | undefined;
  if (!approval || approval.detail === undefined) return data;
  const constraint = Array.isArray(approval.approvers) ? approval.approvers.join(', ') : null;
  if (typeof approval.principalId === 'string' && mayViewDetail(viewer, approval.principalId, constraint)) return data;
  const { detail: _withheld, ...masked } = approval;
  return { ...data, approval: masked };
}
