import type { MaskingObligation } from './masking.js';

/**
 * What approvers are shown of a held statement or command (`@approval_view`): `unmasked` (default)
 * the real text and parameters, so they can tell what it touches; `masked` only the masked text
 * that the recording keeps.
 */
export const APPROVAL_VIEWS = ['unmasked', 'masked'] as const;
export type ApprovalView = (typeof APPROVAL_VIEWS)[number];

/** What a satisfied `@approval("required")` permit demands before the request may go ahead. */
export interface ApprovalRequirement {
  /** Number of distinct approvals needed (N of the eligible approvers). */
  approvals: number;
  /** `group:<id>` or `role:<gateway role>`; an approver must match at least one entry. */
  approvers: string[];
  /** From @approval_timeout; absent = the caller's default for the kind of approval. */
  timeoutSeconds?: number;
  /** From @approval_view; `masked` wins when several permits demand approval. */
  view: ApprovalView;
}

/** One policy of a validated set, with its annotations already parsed into obligations. */
export interface PolicyInfo {
  id: string;
  effect: 'permit' | 'forbid';
  /** 1-based line of the policy's first character in the submitted text. */
  line: number;
  reason?: string;
  approval?: ApprovalRequirement;
  masking: MaskingObligation;
  maxSessionSeconds?: number;
  requireGrant: boolean;
  /** From @k8s_service_account / @k8s_groups: who the agent acts as on a Kubernetes API server. */
  kubernetes?: KubernetesIdentity;
  /** The raw annotations, as written. */
  annotations: Record<string, string>;
}

export interface PolicySetError {
  policyId?: string;
  message: string;
}

/**
 * The Kubernetes identity a `connect` permit maps the principal to: the service account whose bound
 * token the agent requests (TokenRequest), or, in impersonate mode, the groups sent as
 * `Impersonate-Group` (the user is always the principal).
 */
export interface KubernetesIdentity {
  /** `namespace/name` of a service account. */
  serviceAccount?: string;
  groups: string[];
}
