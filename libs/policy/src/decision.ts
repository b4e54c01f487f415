import type { AuthorizationAnswer } from '@cedar-policy/cedar-wasm/nodejs';
import { mergeMasking, type MaskingObligation } from './masking.js';
import type { ApprovalRequirement, KubernetesIdentity, PolicyInfo } from './policy-info.js';

export type PolicyEffect = 'allow' | 'deny' | 'require_approval';

export interface PolicyObligations {
  masking: MaskingObligation;
  maxSessionSeconds?: number;
  requireGrant: boolean;
  approval?: ApprovalRequirement;
  /**
   * Kubernetes identity of the satisfied permits: the groups joined, every service account named
   * (more than one is ambiguous; the agent refuses rather than pick one).
   */
  kubernetes?: { serviceAccounts: string[]; groups: string[] };
}

export interface PolicyDecision {
  effect: PolicyEffect;
  /** Ids of the policies that produced the effect (satisfied forbids, or the satisfied permits). */
  determiningPolicies: string[];
  /** Human-readable explanation, safe to show to the requester. */
  reasons: string[];
  /** Evaluation errors; when not empty the effect is always `deny`. */
  errors: string[];
  obligations: PolicyObligations;
}

export interface RequestSummary {
  principalId: string;
  action: string;
  resourceName: string;
  resourceType: string;
  hasGrant: boolean;
}

export function denyDecision(reasons: string[], errors: string[] = [], determiningPolicies: string[] = []): PolicyDecision {
  return { effect: 'deny', determiningPolicies, reasons, errors, obligations: { masking: { entities: [], columns: [] }, requireGrant: false } };
}

/**
 * Turns Cedar's answer into a gateway decision. Order of precedence:
 * evaluation error (deny, fail closed) > satisfied forbid (deny) > no satisfied permit (deny)
 * > required grant missing (deny) > any permit asking for approval (require_approval) > allow.
 */
export function combine(
  answer: AuthorizationAnswer,
  policies: ReadonlyMap<string, PolicyInfo>,
  request: RequestSummary,
): PolicyDecision {
  if (answer.type !== 'success') {
    return denyDecision(
      ['the request could not be evaluated; denied'],
      answer.errors.map((e) => e.message),
    );
  }
  const { decision, diagnostics } = answer.response;
  if (diagnostics.errors.length > 0) {
    // Cedar skips a policy whose evaluation errors. A skipped forbid could turn a deny into an allow,
    // so any error denies the whole request.
    const failing = [...new Set(diagnostics.errors.map((e) => e.policyId))];
    return denyDecision(
      [`evaluation error in ${failing.map((id) => `policy "${id}"`).join(', ')}; denied (fail closed)`],
      diagnostics.errors.map((e) => `policy "${e.policyId}": ${e.error.message}`),
      failing,
    );
  }
  const determining = [...diagnostics.reason].sort();
  if (decision === 'deny') {
    if (determining.length === 0) {
      return denyDecision([
        `no policy permits ${request.action} on ${request.resourceType} resource "${request.resourceName}" for ${request.principalId}`,
      ]);
    }
    return denyDecision(
      determining.map((id) => policies.get(id)?.reason ?? `forbidden by policy "${id}"`),
      [],
      determining,
    );
  }

  const permits = determining.map((id) => policies.get(id)).filter((p): p is PolicyInfo => p !== undefined);
  if (permits.length !== determining.length) {
    // A determining id we do not know means the engine and its metadata disagree: refuse.
    return denyDecision(['policy metadata mismatch; denied (fail closed)'], ['unknown determining policy'], determining);
  }
  const obligations = mergeObligations(permits);
  const reasons = permits.flatMap((p) => (p.reason !== undefined ? [p.reason] : []));

  if (obligations.requireGrant && !request.hasGrant) {
    const demanding = permits.filter((p) => p.requireGrant).map((p) => `"${p.id}"`);
    return {
      ...denyDecision(
        [`a just-in-time grant is required by policy ${demanding.join(', ')}; request access first`],
        [],
        determining,
      ),
      // Masking and session limits still tell the caller what a granted session will look like.
      obligations: withoutApproval(obligations),
    };
  }
  const effect = obligations.approval ? 'require_approval' : 'allow';
  if (effect === 'require_approval') {
    const demanding = permits.filter((p) => p.approval).map((p) => `"${p.id}"`);
    reasons.push(`approval required by policy ${demanding.join(', ')}`);
  }
  return { effect, determiningPolicies: determining, reasons, errors: [], obligations };
}

/**
 * Obligations of several satisfied permits: masking is the union (strongest style per entity or column),
 * the session is as short as the shortest limit, a grant is needed if any permit needs one, and the
 * approval is that of the most demanding permits (highest N; their approver lists are joined;
 * the shortest timeout applies).
 */
export function mergeObligations(permits: readonly PolicyInfo[]): PolicyObligations {
  const masking = mergeMasking(permits.map((p) => p.masking));
  const sessions = permits.flatMap((p) => (p.maxSessionSeconds !== undefined ? [p.maxSessionSeconds] : []));
  const approvals = permits.flatMap((p) => (p.approval ? [p.approval] : []));
  let approval: ApprovalRequirement | undefined;
  if (approvals.length > 0) {
    const needed = Math.max(...approvals.map((a) => a.approvals));
    const strictest = approvals.filter((a) => a.approvals === needed);
    const timeouts = approvals.flatMap((a) => (a.timeoutSeconds !== undefined ? [a.timeoutSeconds] : []));
    approval = {
      approvals: needed,
      approvers: [...new Set(strictest.flatMap((a) => a.approvers))].sort(),
      ...(timeouts.length > 0 ? { timeoutSeconds: Math.min(...timeouts) } : {}),
      // Any permit that asks to keep values from approvers keeps them (the safe side).
      view: approvals.some((a) => a.view === 'masked') ? 'masked' : 'unmasked',
    };
  }
  const identities = permits.flatMap((p) => (p.kubernetes ? [p.kubernetes] : []));
  const kubernetes = identities.length === 0 ? undefined : mergeKubernetes(identities);
  return {
    masking,
    ...(kubernetes ? { kubernetes } : {}),
    ...(sessions.length > 0 ? { maxSessionSeconds: Math.min(...sessions) } : {}),
    requireGrant: permits.some((p) => p.requireGrant),
    ...(approval ? { approval } : {}),
  };
}

function withoutApproval(obligations: PolicyObligations): PolicyObligations {
  const { approval: _approval, ...rest } = obligations;
  return rest;
}

function mergeKubernetes(identities: readonly KubernetesIdentity[]): { serviceAccounts: string[]; groups: string[] } {
  return {
    serviceAccounts: [...new Set(identities.flatMap((i) => (i.serviceAccount ? [i.serviceAccount] : [])))].sort(),
    groups: [...new Set(identities.flatMap((i) => i.groups))].sort(),
  };
}
