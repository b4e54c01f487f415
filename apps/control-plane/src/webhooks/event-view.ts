import type { DomainEventType } from '../events/domain-event.js';

/** A test delivery (`POST /webhooks/:id/test`) travels the same path as domain events. */
export const PING_EVENT_TYPE = 'webhook.ping';
export type DeliveredEventType = DomainEventType | typeof PING_EVENT_TYPE;

export interface DeliveredEvent {
  id: string;
  type: DeliveredEventType;
  occurredAt: string;
  data: Record<string, unknown>;
}

/** What a human needs to decide, read tolerantly from the event: missing fields stay undefined. */
export interface EventView {
  title: string;
  summary: string;
  principal?: string;
  resource?: string;
  role?: string;
  duration?: string;
  reason?: string;
  kind?: string;
  status?: string;
  statement?: string;
  classification?: string;
  expiresAt?: string;
  approvalId?: string;
  /** Who cast the latest vote (for decided approvals). */
  decidedBy?: string;
  /** "1 of 2" when an approval needs more than one approver. */
  approvals?: string;
  /** An approval that still waits for a decision: payloads then carry approve and deny links. */
  awaitingDecision: boolean;
}

const text = (v: unknown): string | undefined => {
  if (typeof v === 'string' && v.trim() !== '') return v;
  if (typeof v === 'number' && Number.isFinite(v)) return String(v);
  return undefined;
};
const record = (v: unknown): Record<string, unknown> | undefined =>
  v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;

const actionsOf = (v: unknown): string | undefined =>
  Array.isArray(v) && v.length > 0 && v.every((a) => typeof a === 'string') ? v.join(', ') : undefined;

export function formatDuration(seconds: unknown): string | undefined {
  if (typeof seconds !== 'number' || !Number.isFinite(seconds) || seconds <= 0) return undefined;
  const d = Math.floor(seconds / 86_400);
  const h = Math.floor((seconds % 86_400) / 3600);
  const m = Math.floor((seconds % 3600) / 60);
  const s = Math.floor(seconds % 60);
  const parts = [d && `${d}d`, h && `${h}h`, m && `${m}m`, s && `${s}s`].filter(Boolean);
  return parts.length ? parts.join(' ') : undefined;
}

const TITLES: Record<DeliveredEventType, string> = {
  'access_request.created': 'Access requested',
  'access_request.approved': 'Access request approved',
  'access_request.denied': 'Access request denied',
  'grant.created': 'Access granted',
  'grant.revoked': 'Grant revoked',
  'grant.expired': 'Grant expired',
  'approval.requested': 'Approval requested',
  'approval.decided': 'Approval decided',
  'approval.expired': 'Approval expired',
  'statement.held': 'Statement held for approval',
  'statement.released': 'Held statement released',
  'mcp_tool.withheld': 'MCP tool withheld until an admin accepts its definition',
  'mcp_tool.accepted': 'MCP tool definition accepted',
  'webhook.ping': 'Webhook test',
};

export function describeEvent(event: DeliveredEvent): EventView {
  const data = record(event.data) ?? {};
  const approval = record(data.approval);
  const accessRequest = record(data.accessRequest);
  const grant = record(data.grant);
  const subject = record(approval?.subject);
  const votes = Array.isArray(approval?.votes) ? approval.votes.map(record).filter((x) => x !== undefined) : [];
  const required = typeof approval?.requiredApprovals === 'number' ? approval.requiredApprovals : undefined;
  const v: EventView = {
    title: TITLES[event.type] ?? event.type,
    summary: '',
    principal: text(approval?.principalId ?? accessRequest?.principalId ?? grant?.principalId),
    resource: text(approval?.resource ?? accessRequest?.resource ?? grant?.resource),
    role: text(subject?.role ?? accessRequest?.role ?? grant?.role),
    duration: formatDuration(subject?.durationSeconds ?? accessRequest?.durationSeconds),
    reason: text(subject?.reason ?? accessRequest?.reason),
    kind: text(approval?.kind),
    status: text(approval?.status ?? accessRequest?.status),
    // Statement approvals carry {text, params, actions}; commands {command}; older shapes {statement, classification}.
    // The unmasked detail, where the policy lets approvers see values, is what they need to decide.
    statement: text(record(approval?.detail)?.text ?? subject?.statement ?? subject?.text ?? subject?.command),
    classification: text(subject?.classification) ?? actionsOf(subject?.actions),
    expiresAt: text(approval?.expiresAt ?? grant?.expiresAt),
    approvalId: text(approval?.id),
    decidedBy: text(votes.at(-1)?.approverName ?? votes.at(-1)?.approverId),
    approvals: required !== undefined && required > 1 ? `${votes.filter((x) => x.decision === 'approve' || x.decision === 'approved').length} of ${required}` : undefined,
    awaitingDecision: approval !== undefined && text(approval.id) !== undefined && approval.status === 'pending',
  };
  v.summary = summarise(event, v, text(grant?.revokedBy), text(data.subscriptionId), data);
  return v;
}

function summarise(event: DeliveredEvent, v: EventView, revokedBy: string | undefined, subscriptionId: string | undefined, data: Record<string, unknown>): string {
  const who = v.principal ?? 'an unknown principal';
  const on = v.resource ?? 'an unknown resource';
  const role = `the role ${v.role ?? '(unnamed)'} on ${on}${v.duration ? ` for ${v.duration}` : ''}`;
  const because = v.reason ? `: "${v.reason}"` : '';
  const statement = v.classification ? `a ${v.classification} statement` : 'a statement';
  const asks = (() => {
    switch (v.kind) {
      case 'statement':
        return `to run ${statement} on ${on}`;
      case 'access_request':
        return `for ${role}`;
      case 'command':
        return `to run a command on ${on}`;
      case 'kubernetes_request':
        return `to send a Kubernetes request to ${on}`;
      default:
        return `for an approval on ${on}`;
    }
  })();
  switch (event.type) {
    case 'approval.requested':
      return `${who} asks ${asks}${because}${v.expiresAt ? ` (decide before ${v.expiresAt})` : ''}`;
    case 'approval.decided':
      return `${who}'s request ${asks} was ${v.status ?? 'decided'}${v.decidedBy ? ` by ${v.decidedBy}` : ''}`;
    case 'approval.expired':
      return `${who}'s request ${asks} expired without a decision`;
    case 'access_request.created':
      return `${who} requests ${role}${because}`;
    case 'access_request.approved':
      return `${who}'s request for ${role} was approved`;
    case 'access_request.denied':
      return `${who}'s request for ${role} was denied`;
    case 'grant.created':
      return `${who} was granted ${role}${v.expiresAt ? ` until ${v.expiresAt}` : ''}`;
    case 'grant.revoked':
      return `${who}'s grant of ${role} was revoked${revokedBy ? ` by ${revokedBy}` : ''}`;
    case 'grant.expired':
      return `${who}'s grant of ${role} expired`;
    case 'statement.held':
      return `${who}'s ${v.classification ? `${v.classification} ` : ''}statement on ${on} is held until someone approves it`;
    case 'statement.released':
      return `${who}'s held statement on ${on} was released${v.status ? ` (${v.status})` : ''}`;
    case 'mcp_tool.withheld':
      return `tool "${text(data.tool) ?? '?'}" of ${text(data.resource) ?? 'an MCP server'} is ${data.change === 'changed' ? 'withheld: its definition changed' : 'withheld: it is new'}; an admin accepts it with POST /api/v1/mcp/tool-pins/accept`;
    case 'mcp_tool.accepted':
      return `tool "${text(data.tool) ?? '?'}" of ${text(data.resource) ?? 'an MCP server'} was accepted`;
    case 'webhook.ping':
      return `Test delivery for webhook subscription ${subscriptionId ?? '(unknown)'}`;
  }
}
