import { describe, expect, it } from 'vitest';
import { isValidEventPattern, matchesAnyPattern } from './event-patterns.js';
import { describeEvent, type DeliveredEvent } from './event-view.js';
import { renderPayload } from './webhook-payload.js';
import { displayWebhookUrl, webhookUrlProblem } from './webhook-url.js';

const publicUrl = 'https://gw.example.com/';
const heldStatement = (overrides: Record<string, unknown> = {}): DeliveredEvent => ({
  id: '6f1c1a8e-0000-4000-8000-000000000001',
  type: 'approval.requested',
  occurredAt: '2026-11-28T21:00:00.000Z',
  data: {
    approval: {
      id: 'a-1',
      kind: 'statement',
      status: 'pending',
      resource: 'postgres-prod',
      principalId: 'https://login.microsoftonline.com/t/v2.0#ai-agent',
      subject: { statement: "DELETE FROM customers WHERE email = 'a**@example.com'", classification: 'sql:delete' },
      requiredApprovals: 1,
      votes: [],
      expiresAt: '2026-11-28T21:10:00.000Z',
      ...overrides,
    },
  },
});

describe('event patterns', () => {
  it('accept exact types, family wildcards and *; refuse the rest', () => {
    for (const ok of ['approval.requested', 'approval.*', 'grant.*', '*']) expect(isValidEventPattern(ok), ok).toBe(true);
    for (const bad of ['approval', 'approval.bogus', 'bogus.*', '*.requested', 'approval.**', '', 'APPROVAL.REQUESTED']) {
      expect(isValidEventPattern(bad), bad).toBe(false);
    }
  });

  it('match by family without matching a longer family name', () => {
    expect(matchesAnyPattern(['approval.*'], 'approval.decided')).toBe(true);
    expect(matchesAnyPattern(['approval.*'], 'access_request.created')).toBe(false);
    expect(matchesAnyPattern(['grant.created', 'statement.*'], 'statement.held')).toBe(true);
    expect(matchesAnyPattern(['*'], 'grant.expired')).toBe(true);
  });
});

describe('json payload', () => {
  it('carries the event, a one-line summary and approve/deny/view links while pending', () => {
    const body = renderPayload('json', 'd-1', heldStatement(), publicUrl);
    expect(body).toMatchObject({
      id: 'd-1',
      event: { id: heldStatement().id, type: 'approval.requested' },
      links: {
        approve: 'https://gw.example.com/api/v1/approvals/a-1/approve',
        deny: 'https://gw.example.com/api/v1/approvals/a-1/deny',
        view: 'https://gw.example.com/approvals/a-1',
        api: 'https://gw.example.com/api/v1/approvals/a-1',
      },
    });
    expect(body.summary).toBe(
      "https://login.microsoftonline.com/t/v2.0#ai-agent asks to run a sql:delete statement on postgres-prod (decide before 2026-11-28T21:10:00.000Z)",
    );
  });

  it('has only a view link once decided, and no links without an approval', () => {
    expect(renderPayload('json', 'd', heldStatement({ status: 'approved' }), publicUrl).links).toEqual({ view: 'https://gw.example.com/approvals/a-1', api: 'https://gw.example.com/api/v1/approvals/a-1' });
    const grant: DeliveredEvent = { id: 'e', type: 'grant.created', occurredAt: 'x', data: { grant: { principalId: 'p', resource: 'r', role: 'reader', expiresAt: 'soon' } } };
    const body = renderPayload('json', 'd', grant, publicUrl);
    expect(body.links).toBeUndefined();
    expect(body.summary).toBe('p was granted the role reader on r until soon');
  });

  it('escapes the approval id in links', () => {
    const body = renderPayload('json', 'd', heldStatement({ id: '../../admin?x=1' }), publicUrl) as { links: { view: string } };
    expect(body.links.view).toBe('https://gw.example.com/approvals/..%2F..%2Fadmin%3Fx%3D1');
  });

  it('blanks credential-named keys that should never have been in the data', () => {
    const event: DeliveredEvent = { id: 'e', type: 'grant.created', occurredAt: 'x', data: { grant: { id: 'g', token: 'eyJ...', nested: [{ password: 'p' }] } } };
    const body = renderPayload('json', 'd', event, publicUrl) as { event: { data: { grant: Record<string, unknown> } } };
    expect(body.event.data.grant).toEqual({ id: 'g', token: '[redacted]', nested: [{ password: '[redacted]' }] });
  });

  it('renders any event type, with missing or odd fields, without throwing', () => {
    for (const type of ['access_request.created', 'access_request.approved', 'access_request.denied', 'grant.created', 'grant.revoked', 'grant.expired', 'approval.requested', 'approval.decided', 'approval.expired', 'statement.held', 'statement.released'] as const) {
      for (const data of [{}, { approval: null }, { approval: 'x', grant: 5 }, { accessRequest: { durationSeconds: 'long', role: {} } }]) {
        const view = describeEvent({ id: 'e', type, occurredAt: 'x', data });
        expect(view.summary.length, `${type}`).toBeGreaterThan(10);
        expect(view.summary).not.toMatch(/undefined|\[object/);
        expect(renderPayload('slack', 'd', { id: 'e', type, occurredAt: 'x', data }, publicUrl)).toHaveProperty('blocks');
      }
    }
  });

  it('names who decided, and counts approvals when more than one is needed', () => {
    const decided = heldStatement({
      status: 'approved',
      requiredApprovals: 2,
      votes: [
        { approverId: 'carol', decision: 'approve', comment: 'ok', at: 'x' },
        { approverId: 'issuer#dave-oid', approverName: 'dave', decision: 'approve', comment: null, at: 'y' },
      ],
    });
    const view = describeEvent({ ...decided, type: 'approval.decided' });
    expect(view.summary).toBe("https://login.microsoftonline.com/t/v2.0#ai-agent's request to run a sql:delete statement on postgres-prod was approved by dave");
    expect(view.approvals).toBe('2 of 2');
    expect(describeEvent(heldStatement()).approvals).toBeUndefined();
  });

  it('describes an access request with its duration and reason', () => {
    const event: DeliveredEvent = {
      id: 'e', type: 'access_request.created', occurredAt: 'x',
      data: { accessRequest: { id: 'r', principalId: 'alice', resource: 'pg', role: 'dba', durationSeconds: 5400, reason: 'INC-42', status: 'pending' } },
    };
    expect(describeEvent(event).summary).toBe('alice requests the role dba on pg for 1h 30m: "INC-42"');
  });
});

describe('slack payload', () => {
  it('has a fallback text, fields, the statement in a code block and url buttons', () => {
    const body = renderPayload('slack', 'd-1', heldStatement(), publicUrl) as { text: string; blocks: any[] };
    expect(body.text).toContain('asks to run a sql:delete statement on postgres-prod');
    const [head, fields, code, actions] = body.blocks;
    expect(head.text.text).toMatch(/^\*Approval requested\*\n/);
    expect(fields.fields.map((f: any) => f.text)).toEqual(
      expect.arrayContaining(['*Resource*\npostgres-prod', '*Classification*\nsql:delete', expect.stringMatching(/^\*Expires\*\n<!date\^\d+\^/)]),
    );
    expect(code.text.text).toBe("```DELETE FROM customers WHERE email = 'a**@example.com'```");
    expect(actions.type).toBe('actions');
    expect(actions.elements.map((b: any) => [b.text.text, b.url, b.style])).toEqual([
      ['Approve', 'https://gw.example.com/approvals/a-1?decide=approve', 'primary'],
      ['Deny', 'https://gw.example.com/approvals/a-1?decide=deny', 'danger'],
      ['Open in console', 'https://gw.example.com/approvals/a-1', undefined],
    ]);
  });

  it('escapes mrkdwn control characters and cannot be broken out of the code block', () => {
    const body = renderPayload('slack', 'd', heldStatement({ principalId: '<!channel> & co', subject: { statement: 'SELECT 1 ``` <@U123>' } }), publicUrl) as { blocks: any[] };
    const texts = JSON.stringify(body.blocks);
    expect(texts).not.toContain('<!channel>');
    expect(texts).not.toContain('<@U123>');
    expect(texts).toContain('&lt;!channel&gt; &amp; co');
    const code = body.blocks.find((b) => b.text?.text?.startsWith('```')).text.text as string;
    expect(code.slice(3, -3)).not.toContain('```');
  });
});

describe('webhook URLs', () => {
  it('allow http(s), private addresses included; refuse other schemes, credentials and fragments', () => {
    for (const ok of ['https://hooks.slack.com/services/T/B/x', 'http://10.0.0.5:8080/hook', 'http://127.0.0.1/x', 'http://[::1]:9/']) expect(webhookUrlProblem(ok), ok).toBeUndefined();
    expect(webhookUrlProblem('ftp://example.com/')).toMatch(/http and https/);
    expect(webhookUrlProblem('file:///etc/passwd')).toMatch(/http and https/);
    expect(webhookUrlProblem('https://user:pw@example.com/')).toMatch(/credentials/);
    expect(webhookUrlProblem('https://example.com/#x')).toMatch(/fragment/);
    expect(webhookUrlProblem('not a url')).toMatch(/valid absolute URL/);
  });

  it('are shown without path or query after creation', () => {
    expect(displayWebhookUrl('https://hooks.slack.com/services/T/B/secret')).toBe('https://hooks.slack.com/…');
    expect(displayWebhookUrl('http://10.0.0.5:8080/?token=x')).toBe('http://10.0.0.5:8080/…');
    expect(displayWebhookUrl('https://example.com/')).toBe('https://example.com');
  });
});
