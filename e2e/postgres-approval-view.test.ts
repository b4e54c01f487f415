import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openSse } from '../apps/control-plane/test/support/sse.js';
import { WebhookReceiver } from '../apps/control-plane/test/support/webhook-receiver.js';
import { subscribe } from '../apps/control-plane/test/support/webhooks.js';
import { startPgFixture, type PgFixture } from './support/pg-fixture.js';
import { sessionEvents } from './support/session-events.js';

/**
 * Writes wait for one approver. On the resource labelled `closed` (the fixture's second resource) the
 * policy keeps values masked for approvers too.
 */
const POLICY = `
@id("admins") permit (principal, action, resource) when { principal.gatewayRoles.contains("admin") };
@id("pg-connect") permit (principal, action == Gateway::Action::"connect", resource)
  when { principal.gatewayRoles.contains("requester") && resource.type == "postgres" };
@id("pg-read") @mask("email:partial, card:full, ssn:full, iban:partial, phone:partial")
permit (principal, action in Gateway::Action::"sql:read", resource) when { principal.gatewayRoles.contains("requester") };
@id("pg-write-held") @approval("required") @approvers("role:approver")
permit (principal, action in [Gateway::Action::"sql:update", Gateway::Action::"sql:delete"], resource)
  when { principal.gatewayRoles.contains("requester") && !(resource.hasTag("closed")) };
@id("pg-write-held-masked") @approval("required") @approvers("role:approver") @approval_view("masked")
permit (principal, action in [Gateway::Action::"sql:update", Gateway::Action::"sql:delete"], resource)
  when { principal.gatewayRoles.contains("requester") && resource.hasTag("closed") };
`;

interface Held {
  name: string;
  query: pg.QueryConfig;
  /** The values that must reach the approvers and never the recording, the audit chain or other viewers. */
  secrets: string[];
}

/** Held statements of every shape: simple protocol with literals (plain, dollar-quoted, E''), extended protocol with parameters. */
const HELD: Held[] = [
  { name: 'DELETE with an email literal', query: { text: "DELETE FROM customers WHERE email = 'alice@example.com'" }, secrets: ['alice@example.com'] },
  { name: 'UPDATE with a card number literal', query: { text: "UPDATE customers SET note = 'checked' WHERE card = '4111 1111 1111 1111'" }, secrets: ['4111 1111 1111 1111'] },
  { name: 'lower-case DELETE, dollar-quoted email', query: { text: 'delete from customers where email = $$alice@example.com$$' }, secrets: ['alice@example.com'] },
  { name: "UPDATE with an E'' SSN and an IBAN", query: { text: "UPDATE customers SET ssn = E'536-22-8714' WHERE iban = 'GB82 WEST 1234 5698 7654 32'" }, secrets: ['536-22-8714', 'GB82 WEST 1234 5698 7654 32'] },
  { name: 'extended protocol DELETE, email as a parameter', query: { text: 'DELETE FROM customers WHERE email = $1', values: ['alice@example.com'] }, secrets: ['alice@example.com'] },
  { name: 'extended protocol UPDATE, card and SSN as parameters', query: { text: 'UPDATE customers SET ssn = $1 WHERE card = $2', values: ['219-45-1234', '5555-5555-5555-4444'] }, secrets: ['219-45-1234', '5555-5555-5555-4444'] },
];

interface ApprovalDto {
  id: string;
  sessionId: string;
  subject: { text: string; params?: string[] };
  detail?: { text: string; params?: string[] };
}

describe('postgres held statements: approvers see what they approve, the recording and other viewers keep it masked', () => {
  let fx: PgFixture;
  let tokens: { approver: string; auditor: string; admin: string };

  const api = (method: string, path: string, token: string, body?: unknown) => fx.stack.cp.request(method, path, { token, body });

  /** Runs `held` on `resource` until it is held; returns the approval id, then denies it and checks the client's 42501. */
  async function hold(resource: string, held: Held, whileHeld: (approvalId: string) => Promise<void>): Promise<{ approvalId: string; sessionId: string }> {
    const c = fx.gateway({ database: resource, application_name: 'gw-e2e-approval-view' });
    const notices: string[] = [];
    c.on('notice', (n: { message?: string }) => notices.push(n.message ?? ''));
    c.on('error', () => undefined);
    await c.connect();
    try {
      const pending = c.query(held.query);
      pending.catch(() => undefined);
      await expect.poll(() => notices.length, { timeout: 10_000 }).toBeGreaterThan(0);
      const approvalId = /approval ([0-9a-f-]{36})/.exec(notices[0] ?? '')?.[1] ?? '';
      expect(approvalId).not.toBe('');
      await whileHeld(approvalId);
      const view = (await api('GET', `/api/v1/approvals/${approvalId}`, tokens.admin)).body as ApprovalDto;
      expect((await api('POST', `/api/v1/approvals/${approvalId}/deny`, tokens.approver, { comment: 'checked' })).status).toBe(200);
      await expect(pending).rejects.toMatchObject({ code: '42501' });
      return { approvalId, sessionId: view.sessionId };
    } finally {
      await c.end();
    }
  }

  /** The session's recording and the audit chain hold none of the secrets, and do hold the statement. */
  async function expectMaskedAtRest(sessionId: string, approvalId: string, held: Held): Promise<void> {
    const events = await sessionEvents(fx.stack, sessionId, (e) => e.some((x) => x.type === 'pg.statement' && x.data.approval?.id === approvalId));
    const recorded = JSON.stringify(events);
    for (const secret of held.secrets) expect(recorded).not.toContain(secret);
    const audit = JSON.stringify((await api('GET', `/api/v1/audit/events?resource=${fx.resource}`, tokens.admin)).body);
    expect(audit).toContain(approvalId);
    for (const secret of held.secrets) expect(audit).not.toContain(secret);
  }

  beforeAll(async () => {
    fx = await startPgFixture('aview', { policy: POLICY });
    tokens = { approver: await fx.stack.cp.token('approver'), auditor: await fx.stack.cp.token('auditor'), admin: fx.stack.admin };
  }, 60_000);
  afterAll(async () => {
    await fx?.close();
  });

  it.each(HELD.map((h) => [h.name, h] as const))('%s: approvers, admins and the requester see the real values; auditors, the recording and the audit chain do not', async (_name, held) => {
    const { approvalId, sessionId } = await hold(fx.resource, held, async (id) => {
      const seen = async (token: string) => (await api('GET', `/api/v1/approvals/${id}`, token)).body as ApprovalDto;
      const [byApprover, byAdmin, byRequester, byAuditor] = await Promise.all([seen(tokens.approver), seen(tokens.admin), seen(fx.token), seen(tokens.auditor)]);
      for (const view of [byApprover, byAdmin, byRequester]) {
        expect(view.detail?.text).toBe(held.query.text);
        const shown = JSON.stringify(view.detail);
        for (const secret of held.secrets) expect(shown).toContain(secret);
      }
      if (held.query.values) expect(byApprover.detail?.params).toEqual(held.query.values);
      for (const secret of held.secrets) expect(JSON.stringify(byApprover.subject)).not.toContain(secret);
      expect(byAuditor.detail).toBeUndefined();
      for (const secret of held.secrets) expect(JSON.stringify(byAuditor)).not.toContain(secret);
      // The approvers' queue carries it too; the auditor's list does not.
      const queue = async (token: string) => ((await api('GET', '/api/v1/approvals?status=pending', token)).body.items as ApprovalDto[]).find((a) => a.id === id);
      expect((await queue(tokens.approver))?.detail?.text).toBe(held.query.text);
      expect(await queue(tokens.auditor)).toMatchObject({ id });
      expect((await queue(tokens.auditor))?.detail).toBeUndefined();
    });
    await expectMaskedAtRest(sessionId, approvalId, held);
  });

  it('the SSE stream gives the detail to the approver but not to the auditor; the webhook payload carries it', async () => {
    const held = HELD[0]!;
    const receiver = await WebhookReceiver.start();
    const { id: subscriptionId } = await subscribe(fx.stack.cp, { url: receiver.url, events: ['approval.requested'], format: 'json' });
    const approverStream = await openSse(`${fx.stack.cp.baseUrl}/api/v1/approvals/stream`, tokens.approver);
    const auditorStream = await openSse(`${fx.stack.cp.baseUrl}/api/v1/approvals/stream`, tokens.auditor);
    try {
      await hold(fx.resource, held, async (id) => {
        const forApprover = await approverStream.next((e) => e.event === 'statement.held' && e.data.data.approval.id === id, 10_000);
        const forAuditor = await auditorStream.next((e) => e.event === 'statement.held' && e.data.data.approval.id === id, 10_000);
        expect(forApprover.data.data.approval.detail).toEqual({ text: held.query.text });
        expect(forAuditor.data.data.approval.detail).toBeUndefined();
        expect(JSON.stringify(forAuditor)).not.toContain(held.secrets[0]);
        await expect.poll(() => receiver.calls.some((c) => c.json?.event?.data?.approval?.id === id), { timeout: 10_000 }).toBe(true);
        const call = receiver.calls.find((c) => c.json?.event?.data?.approval?.id === id)!;
        expect(call.json.event.data.approval.detail).toEqual({ text: held.query.text });
        expect(call.json.event.data.approval.subject.text).not.toContain(held.secrets[0]);
      });
    } finally {
      approverStream.close();
      auditorStream.close();
      await api('DELETE', `/api/v1/webhooks/${subscriptionId}`, tokens.admin);
      await receiver.stop();
    }
  });

  it.each(HELD.map((h) => [h.name, h] as const))('@approval_view("masked"), %s: nobody gets the detail, the webhook neither', async (_name, held) => {
    const receiver = await WebhookReceiver.start();
    const { id: subscriptionId } = await subscribe(fx.stack.cp, { url: receiver.url, events: ['approval.requested'], format: 'json' });
    try {
      await hold(fx.closedResource, held, async (id) => {
        for (const token of [tokens.approver, tokens.admin, fx.token, tokens.auditor]) {
          const view = (await api('GET', `/api/v1/approvals/${id}`, token)).body as ApprovalDto;
          expect(view.detail).toBeUndefined();
          for (const secret of held.secrets) expect(JSON.stringify(view)).not.toContain(secret);
        }
        await expect.poll(() => receiver.calls.some((c) => c.json?.event?.data?.approval?.id === id), { timeout: 10_000 }).toBe(true);
        const body = receiver.calls.find((c) => c.json?.event?.data?.approval?.id === id)!.body;
        for (const secret of held.secrets) expect(body).not.toContain(secret);
      });
    } finally {
      await api('DELETE', `/api/v1/webhooks/${subscriptionId}`, tokens.admin);
      await receiver.stop();
    }
  });

  it('an approver the policy does not name sees the masked statement; an admin still sees the detail', async () => {
    await fx.stack.activatePolicy(POLICY.replace('@id("pg-write-held") @approval("required") @approvers("role:approver")', '@id("pg-write-held") @approval("required") @approvers("role:admin")'));
    try {
      const held = HELD[1]!;
      const c = fx.gateway({ application_name: 'gw-e2e-approval-view-admin' });
      const notices: string[] = [];
      c.on('notice', (n: { message?: string }) => notices.push(n.message ?? ''));
      c.on('error', () => undefined);
      await c.connect();
      try {
        const pending = c.query(held.query);
        pending.catch(() => undefined);
        await expect.poll(() => notices.length, { timeout: 10_000 }).toBeGreaterThan(0);
        const id = /approval ([0-9a-f-]{36})/.exec(notices[0] ?? '')?.[1] ?? '';
        const byApprover = (await api('GET', `/api/v1/approvals/${id}`, tokens.approver)).body as ApprovalDto & { youMayDecide: boolean };
        expect(byApprover.youMayDecide).toBe(false);
        expect(byApprover.detail).toBeUndefined();
        expect(JSON.stringify(byApprover)).not.toContain(held.secrets[0]);
        expect(((await api('GET', `/api/v1/approvals/${id}`, tokens.admin)).body as ApprovalDto).detail?.text).toBe(held.query.text);
        expect((await api('POST', `/api/v1/approvals/${id}/deny`, tokens.admin, {})).status).toBe(200);
        await expect(pending).rejects.toMatchObject({ code: '42501' });
      } finally {
        await c.end();
      }
    } finally {
      await fx.stack.activatePolicy(POLICY);
    }
  });
});
