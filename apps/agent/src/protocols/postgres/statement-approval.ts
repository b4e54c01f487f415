import type { ApprovalOutcome, ApprovalRequested } from '../../approvals/approval-client.js';
import type { StatementVerdict } from './statement-policy.js';

/** What the recording keeps about a statement's approval. */
export interface ApprovalRecord {
  id: string | null;
  status: ApprovalOutcome['status'];
  scope: 'once' | 'session' | null;
  by: string | null;
}

export function approvalRecord(outcome: ApprovalOutcome): ApprovalRecord {
  if (outcome.status === 'unavailable') return { id: outcome.approvalId ?? null, status: outcome.status, scope: null, by: null };
  return { id: outcome.approvalId, status: outcome.status, scope: outcome.status === 'approved' ? outcome.scope : null, by: outcome.by };
}

/** The NoticeResponse the client gets as soon as the approval exists: its id and how to decide it. */
export function approvalNotice(info: ApprovalRequested) {
  return {
    severity: 'NOTICE' as const,
    code: '00000',
    message: `statement held for approval ${info.approvalId} until ${info.expiresAt.toISOString()}`,
    hint: `an approver runs it with: POST ${info.approveUrl} (body {"scope":"once"} or {"scope":"session"}); or refuses it: POST ${info.approveUrl.replace(/\/approve$/, '/deny')}`,
  };
}

/** The 42501 a held statement ends with when it is not approved; it names the approval. */
export function refusedByApproval(verdict: StatementVerdict, outcome: Exclude<ApprovalOutcome, { status: 'approved' }>): StatementVerdict {
  const id = outcome.status === 'unavailable' ? (outcome.approvalId ?? '(none)') : outcome.approvalId;
  let why: string;
  switch (outcome.status) {
    case 'denied':
      why = `was denied${outcome.by ? ` by ${outcome.by}` : ''}${outcome.comment ? `: ${outcome.comment}` : ''}`;
      break;
    case 'expired':
      why = 'timed out before anyone decided';
      break;
    case 'cancelled':
      why = `was cancelled${outcome.comment ? ` (${outcome.comment})` : ''}`;
      break;
    case 'unavailable':
      why = `could not be completed: ${outcome.reason}`;
      break;
  }
  return { ...verdict, effect: 'deny', message: `approval ${id} ${why}; the statement did not run` };
}
