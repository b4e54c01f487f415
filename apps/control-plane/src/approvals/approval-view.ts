import type { ApprovalEntity } from './approval.entity.js';

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
