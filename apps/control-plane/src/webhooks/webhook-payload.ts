import type { WebhookFormat } from './webhook-subscription.entity.js';
import { describeEvent, type DeliveredEvent, type EventView } from './event-view.js';
import { slackPayload } from './slack-payload.js';

export interface ApprovalLinks {
  /** `POST` with an approver's bearer token; body `{comment?, scope?: 'once'|'session'}` (automation). */
  approve?: string;
  /** `POST` with an approver's bearer token; body `{comment?}` (automation). */
  deny?: string;
  /** The approval's page in the web console: what a person opens to look and decide. */
  view: string;
  /** `GET` with a bearer token: the approval as JSON. */
  api: string;
}

/** Links for an approval event: view (console) and api always, approve and deny only while it awaits a decision. */
export function approvalLinks(publicUrl: string, view: EventView): ApprovalLinks | undefined {
  if (!view.approvalId) return undefined;
  const origin = publicUrl.replace(/\/+$/, '');
  const id = encodeURIComponent(view.approvalId);
  const api = `${origin}/api/v1/approvals/${id}`;
  const page = `${origin}/approvals/${id}`;
  return view.awaitingDecision ? { approve: `${api}/approve`, deny: `${api}/deny`, view: page, api } : { view: page, api };
}

/** The console page of an approval with a decision preselected (what a chat button opens). */
export const consoleDecisionLink = (links: ApprovalLinks, decision: 'approve' | 'deny') => `${links.view}?decide=${decision}`;

/** The body of one delivery; the same for every attempt of it. */
export function renderPayload(format: WebhookFormat, deliveryId: string, event: DeliveredEvent, publicUrl: string): Record<string, unknown> {
  const view = describeEvent(event);
  const links = approvalLinks(publicUrl, view);
  switch (format) {
    case 'json':
      return {
        id: deliveryId,
        event: { id: event.id, type: event.type, occurredAt: event.occurredAt, data: withoutCredentials(event.data) },
        summary: view.summary,
        ...(links ? { links } : {}),
      };
    case 'slack':
      return slackPayload(event, view, links);
  }
}

const CREDENTIAL_KEY = /^(token|access_?token|id_?token|refresh_?token|password|secret|authorization|credential|cookie)$/i;

/**
 * Event data is the public view of a record and should hold no credential; this is the second
 * line: a key that names one is blanked before the payload leaves the gateway.
 */
export function withoutCredentials(value: unknown): Record<string, unknown> {
  const clean = (v: unknown, depth: number): unknown => {
    if (depth > 20 || v === null || typeof v !== 'object') return v;
    if (Array.isArray(v)) return v.map((item) => clean(item, depth + 1));
    return Object.fromEntries(
      Object.entries(v as Record<string, unknown>).map(([k, item]) => [k, CREDENTIAL_KEY.test(k) ? '[redacted]' : clean(item, depth + 1)]),
    );
  };
  const cleaned = clean(value, 0);
  return cleaned !== null && typeof cleaned === 'object' && !Array.isArray(cleaned) ? (cleaned as Record<string, unknown>) : {};
}
