/**
 * What happened in the access domain (requests, grants, approvals, held statements), as one shape
 * that the live stream (SSE), webhooks and tests all read. `data` is the public view of the record:
 * never a token; a held statement's unmasked `approval.detail` (absent under `@approval_view("masked")`)
 * goes to webhooks as is and to each SSE viewer only if theirs to see (approval-view.ts).
 */
export const DOMAIN_EVENT_TYPES = [
  'access_request.created',
  'access_request.approved',
  'access_request.denied',
  'grant.created',
  'grant.revoked',
  'grant.expired',
  'approval.requested',
  'approval.decided',
  'approval.expired',
  'statement.held',
  'statement.released',
  'mcp_tool.withheld',
  'mcp_tool.accepted',
] as const;

export type DomainEventType = (typeof DOMAIN_EVENT_TYPES)[number];

export interface DomainEvent {
  /** UUID; webhook deliveries and SSE `id:` lines carry it so receivers can de-duplicate. */
  id: string;
  type: DomainEventType;
  occurredAt: string;
  data: Record<string, unknown>;
}
