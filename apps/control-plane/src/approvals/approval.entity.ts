import { Column, Entity, PrimaryColumn } from 'typeorm';

export type ApprovalKind = 'access_request' | 'statement' | 'command' | 'kubernetes_request';
export type ApprovalStatus = 'pending' | 'approved' | 'denied' | 'expired' | 'cancelled';
export type ApprovalScope = 'once' | 'session';

export interface ApprovalVote {
  approverId: string;
  approverName: string;
  decision: 'approve' | 'deny';
  comment: string | null;
  scope: ApprovalScope | null;
  at: string;
}

@Entity('approvals')
export class ApprovalEntity {
  @PrimaryColumn('uuid') id!: string;
  @Column('text') kind!: ApprovalKind;
  @Column('uuid', { name: 'access_request_id', nullable: true }) accessRequestId!: string | null;
  @Column('uuid', { name: 'session_id', nullable: true }) sessionId!: string | null;
  @Column('text', { name: 'resource_name', nullable: true }) resourceName!: string | null;
  @Column('text') status!: ApprovalStatus;
  @Column('integer', { name: 'required_approvals' }) requiredApprovals!: number;
  /** Comma-separated `group:<id>` / `role:<gateway role>` entries from the policy's @approvers. */
  @Column('text', { name: 'approver_constraint', nullable: true }) approverConstraint!: string | null;
  @Column('jsonb') votes!: ApprovalVote[];
  /** What is to be approved, already masked (statement text, classification, or the access request). */
  @Column('jsonb') subject!: Record<string, unknown>;
  /**
   * The unmasked statement or command (text, parameters) for the approvers and admins; null when the
   * policy keeps values masked for approvers (`@approval_view("masked")`) or for access requests.
   * Never audited, never in the recording.
   */
  @Column('jsonb', { nullable: true }) detail!: Record<string, unknown> | null;
  /** The verified process of the requester (pipeline run, pod ...), for the approvers; null when none was proven. */
  @Column('jsonb', { nullable: true }) process!: Record<string, unknown> | null;
  /** Principal id of the requester: never allowed to vote on it. */
  @Column('text', { name: 'requested_by' }) requestedBy!: string;
  @Column('text', { nullable: true }) scope!: ApprovalScope | null;
  @Column('timestamptz', { name: 'created_at' }) createdAt!: Date;
  @Column('timestamptz', { name: 'expires_at' }) expiresAt!: Date;
  @Column('timestamptz', { name: 'decided_at', nullable: true }) decidedAt!: Date | null;
  /** `kubernetes_request`: hex SHA-256 of the held request (method, path with query, body hash); with `requested_by` and `resource_name` it names "the same request". */
  @Column('text', { name: 'request_fingerprint', nullable: true }) requestFingerprint!: string | null;
  /** When an approved `kubernetes_request` was used up by the request running (at most once). */
  @Column('timestamptz', { name: 'consumed_at', nullable: true }) consumedAt!: Date | null;
}
