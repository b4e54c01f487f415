import type { GatewayRole } from '@gw/identity';
import { parseDuration } from './durations.js';
import { parseColumnMask, parseEntityMask, type MaskingObligation } from './masking.js';
import { APPROVAL_VIEWS, type ApprovalRequirement, type ApprovalView, type KubernetesIdentity, type PolicyInfo } from './policy-info.js';

/**
 * The annotation vocabulary. Anything else is refused: a misspelt `@mask` that silently did nothing
 * would leave data unmasked, which is worse than a refused write.
 */
const PERMIT_ANNOTATIONS = new Set([
  'id',
  'reason',
  'approval',
  'approvals',
  'approvers',
  'approval_timeout',
  'approval_view',
  'mask',
  'mask_columns',
  'max_session',
  'require_grant',
  'k8s_service_account',
  'k8s_groups',
]);
const FORBID_ANNOTATIONS = new Set(['id', 'reason']);

export const POLICY_ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._:/-]{0,127}$/;
const APPROVER_ROLES = ['approver', 'admin'] as const satisfies readonly GatewayRole[];
const GROUP_ID = /^[A-Za-z0-9][A-Za-z0-9._:@/-]{0,255}$/;
const MAX_APPROVALS = 10;
const MAX_APPROVERS = 20;
const MAX_REASON = 500;
const MAX_ANNOTATION = 4096;
/** Default timeouts when a policy has no @approval_timeout: access requests wait longer than a held statement. */
export const DEFAULT_APPROVAL_TIMEOUT_SECONDS = 15 * 60;
export const DEFAULT_STATEMENT_APPROVAL_TIMEOUT_SECONDS = 5 * 60;
export const DEFAULT_APPROVERS = ['role:approver'];

export interface ParsedAnnotations {
  info?: Omit<PolicyInfo, 'line'>;
  errors: string[];
}

function parseApprovers(raw: string): { approvers: string[] } | { error: string } {
  const items = raw.split(',').map((item) => item.trim());
  if (items.length > MAX_APPROVERS) return { error: `at most ${MAX_APPROVERS} approver entries are allowed` };
  const approvers: string[] = [];
  for (const item of items) {
    const valid =
      (item.startsWith('group:') && GROUP_ID.test(item.slice('group:'.length))) ||
      (item.startsWith('role:') && (APPROVER_ROLES as readonly string[]).includes(item.slice('role:'.length)));
    if (!valid) {
      return {
        error: `"${item}" is not an approver (expected group:<id> or role:${APPROVER_ROLES.join('|role:')})`,
      };
    }
    if (!approvers.includes(item)) approvers.push(item);
  }
  return { approvers };
}

/**
 * Checks one policy's annotations and turns them into obligations. `effect` comes from Cedar's own
 * parse of the policy, never from the text.
 */
export function parseAnnotations(effect: 'permit' | 'forbid', annotations: Record<string, string>): ParsedAnnotations {
  const errors: string[] = [];
  const allowed = effect === 'permit' ? PERMIT_ANNOTATIONS : FORBID_ANNOTATIONS;
  for (const [key, value] of Object.entries(annotations)) {
    if (!allowed.has(key)) {
      errors.push(
        PERMIT_ANNOTATIONS.has(key)
          ? `@${key} has no meaning on a forbid policy (forbid accepts @id and @reason)`
          : `unknown annotation @${key} (known: ${[...PERMIT_ANNOTATIONS].map((k) => `@${k}`).join(', ')})`,
      );
    } else if (value.length > MAX_ANNOTATION) {
      errors.push(`@${key} is longer than ${MAX_ANNOTATION} characters`);
    }
  }
  const id = annotations.id;
  if (id === undefined) errors.push('missing @id("...") annotation');
  else if (!POLICY_ID_PATTERN.test(id)) {
    errors.push(`@id("${id}") is not a valid id (1-128 characters: letters, digits, . _ : / -, starting alphanumeric)`);
  }
  if (errors.length > 0) return { errors };

  const reason = annotations.reason?.trim();
  if (reason !== undefined && (reason === '' || reason.length > MAX_REASON)) {
    errors.push(`@reason must be 1-${MAX_REASON} characters`);
  }

  const masking: MaskingObligation = { entities: [], columns: [] };
  if (annotations.mask !== undefined) {
    const parsed = parseEntityMask(annotations.mask);
    if ('error' in parsed) errors.push(`@mask: ${parsed.error}`);
    else masking.entities = parsed.rules;
  }
  if (annotations.mask_columns !== undefined) {
    const parsed = parseColumnMask(annotations.mask_columns);
    if ('error' in parsed) errors.push(`@mask_columns: ${parsed.error}`);
    else masking.columns = parsed.rules;
  }

  let maxSessionSeconds: number | undefined;
  if (annotations.max_session !== undefined) {
    const parsed = parseDuration(annotations.max_session, { minSeconds: 60, maxSeconds: 7 * 86_400 });
    if ('error' in parsed) errors.push(`@max_session: ${parsed.error}`);
    else maxSessionSeconds = parsed.seconds;
  }

  let requireGrant = false;
  if (annotations.require_grant !== undefined) {
    if (annotations.require_grant === 'true') requireGrant = true;
    else if (annotations.require_grant !== 'false') {
      errors.push(`@require_grant must be "true" or "false", not "${annotations.require_grant}"`);
    }
  }

  const approval = parseApproval(annotations, errors);
  const kubernetes = parseKubernetesIdentity(annotations, errors);
  if (errors.length > 0 || id === undefined) return { errors };
  return {
    errors,
    info: {
      id,
      effect,
      ...(reason !== undefined ? { reason } : {}),
      ...(approval ? { approval } : {}),
      masking,
      ...(maxSessionSeconds !== undefined ? { maxSessionSeconds } : {}),
      requireGrant,
      ...(kubernetes ? { kubernetes } : {}),
      annotations: { ...annotations },
    },
  };
}

function parseApproval(annotations: Record<string, string>, errors: string[]): ApprovalRequirement | undefined {
  const dependents = ['approvals', 'approvers', 'approval_timeout', 'approval_view'].filter((key) => annotations[key] !== undefined);
  if (annotations.approval === undefined) {
    for (const key of dependents) errors.push(`@${key} needs @approval("required") on the same policy`);
    return undefined;
  }
  if (annotations.approval !== 'required') {
    errors.push(`@approval must be "required", not "${annotations.approval}"`);
    return undefined;
  }
  let approvals = 1;
  if (annotations.approvals !== undefined) {
    const raw = annotations.approvals.trim();
    approvals = /^[0-9]{1,3}$/.test(raw) ? Number(raw) : NaN;
    if (!(approvals >= 1 && approvals <= MAX_APPROVALS)) {
      errors.push(`@approvals must be a whole number from 1 to ${MAX_APPROVALS}, not "${annotations.approvals}"`);
    }
  }
  let approvers = DEFAULT_APPROVERS;
  if (annotations.approvers !== undefined) {
    const parsed = parseApprovers(annotations.approvers);
    if ('error' in parsed) errors.push(`@approvers: ${parsed.error}`);
    else approvers = parsed.approvers;
  }
  let timeoutSeconds: number | undefined;
  if (annotations.approval_timeout !== undefined) {
    const parsed = parseDuration(annotations.approval_timeout, { minSeconds: 30, maxSeconds: 86_400 });
    if ('error' in parsed) errors.push(`@approval_timeout: ${parsed.error}`);
    else timeoutSeconds = parsed.seconds;
  }
  let view: ApprovalView = 'unmasked';
  if (annotations.approval_view !== undefined) {
    if ((APPROVAL_VIEWS as readonly string[]).includes(annotations.approval_view)) view = annotations.approval_view as ApprovalView;
    else errors.push(`@approval_view must be ${APPROVAL_VIEWS.map((v) => `"${v}"`).join(' or ')}, not "${annotations.approval_view}"`);
  }
  return { approvals, approvers: [...approvers], ...(timeoutSeconds !== undefined ? { timeoutSeconds } : {}), view };
}

/** Kubernetes names: a DNS-1123 label for namespaces and service accounts (RFC 1123 subdomain for accounts). */
const K8S_NAMESPACE = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;
const K8S_SA_NAME = /^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$/;
const K8S_GROUP = /^[A-Za-z0-9][A-Za-z0-9._:@/-]{0,255}$/;
const MAX_K8S_GROUPS = 20;

function parseKubernetesIdentity(annotations: Record<string, string>, errors: string[]): KubernetesIdentity | undefined {
  const sa = annotations.k8s_service_account;
  const groupsText = annotations.k8s_groups;
  if (sa === undefined && groupsText === undefined) return undefined;
  const identity: KubernetesIdentity = { groups: [] };
  if (sa !== undefined) {
    const [namespace, name, extra] = sa.split('/');
    if (extra !== undefined || !namespace || !name || !K8S_NAMESPACE.test(namespace) || !K8S_SA_NAME.test(name)) {
      errors.push(`@k8s_service_account must be "<namespace>/<name>" of a service account, not "${sa}"`);
    } else identity.serviceAccount = `${namespace}/${name}`;
  }
  if (groupsText !== undefined) {
    const groups = groupsText.split(',').map((g) => g.trim());
    if (groups.length > MAX_K8S_GROUPS) errors.push(`@k8s_groups: at most ${MAX_K8S_GROUPS} groups`);
    for (const g of groups) {
      // system:masters bypasses every RBAC check of the API server: never handed out by a policy.
      if (!K8S_GROUP.test(g)) errors.push(`@k8s_groups: "${g}" is not a group name`);
      else if (g === 'system:masters') errors.push('@k8s_groups: "system:masters" bypasses Kubernetes authorization and cannot be impersonated through the gateway');
      else if (!identity.groups.includes(g)) identity.groups.push(g);
    }
  }
  return identity;
}
