import type { DeliveredEvent, EventView } from './event-view.js';
import { consoleDecisionLink, type ApprovalLinks } from './webhook-payload.js';

/** Slack's limit for a section's text is 3000 characters. */
const MAX_SECTION_TEXT = 2900;

/** Slack mrkdwn treats &, < and > as control characters: escape them in anything we did not write. */
const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

const truncate = (s: string, max: number) => (s.length > max ? `${s.slice(0, max - 1)}…` : s);

/** Shows the time in the reader's own time zone; the ISO text is the fallback. */
function slackDate(iso: string): string {
  const ms = Date.parse(iso);
  if (Number.isNaN(ms)) return esc(iso);
  return `<!date^${Math.floor(ms / 1000)}^{date_short_pretty} {time}|${esc(iso)}>`;
}

/**
 * Incoming-webhook payload: `text` is the notification fallback, `blocks` the message. The masked
 * statement goes in a code block (a ``` inside it would close the block, so it is broken up).
 */
export function slackPayload(event: DeliveredEvent, view: EventView, links: ApprovalLinks | undefined): Record<string, unknown> {
  const fields: { type: 'mrkdwn'; text: string }[] = [];
  const field = (label: string, value: string | undefined, raw = false) => {
    if (value) fields.push({ type: 'mrkdwn', text: `*${label}*\n${raw ? value : esc(truncate(value, 500))}` });
  };
  field('Requested by', view.principal);
  field('Resource', view.resource);
  field('Role', view.role);
  field('Duration', view.duration);
  field('Classification', view.classification);
  field('Status', view.status);
  field('Approvals', view.approvals);
  field('Decided by', view.decidedBy);
  field('Expires', view.expiresAt ? slackDate(view.expiresAt) : undefined, true);

  const blocks: Record<string, unknown>[] = [
    { type: 'section', text: { type: 'mrkdwn', text: truncate(`*${esc(view.title)}*\n${esc(view.summary)}`, MAX_SECTION_TEXT) } },
  ];
  if (fields.length) blocks.push({ type: 'section', fields: fields.slice(0, 10) });
  if (view.statement) {
    const code = truncate(view.statement.replace(/```/g, '`\u200b``'), MAX_SECTION_TEXT - 8);
    blocks.push({ type: 'section', text: { type: 'mrkdwn', text: `\`\`\`${esc(code)}\`\`\`` } });
  }
  if (view.reason) blocks.push({ type: 'section', text: { type: 'mrkdwn', text: truncate(`*Reason*\n>${esc(view.reason)}`, MAX_SECTION_TEXT) } });
  // A chat button opens its URL in a browser (a GET): every button opens the console's page of the approval.
  if (links) {
    const buttons: Record<string, unknown>[] = [];
    if (links.approve) buttons.push({ type: 'button', action_id: 'approve', style: 'primary', text: { type: 'plain_text', text: 'Approve' }, url: consoleDecisionLink(links, 'approve') });
    if (links.deny) buttons.push({ type: 'button', action_id: 'deny', style: 'danger', text: { type: 'plain_text', text: 'Deny' }, url: consoleDecisionLink(links, 'deny') });
    buttons.push({ type: 'button', action_id: 'view', text: { type: 'plain_text', text: 'Open in console' }, url: links.view });
    blocks.push({ type: 'actions', elements: buttons });
  }
  blocks.push({ type: 'context', elements: [{ type: 'mrkdwn', text: esc(`${event.type} · event ${event.id} · ${event.occurredAt}`) }] });
  return { text: truncate(view.summary, MAX_SECTION_TEXT), blocks };
}
