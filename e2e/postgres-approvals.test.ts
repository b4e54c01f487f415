import { spawn } from 'node:child_process';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApprovalsService } from '../apps/control-plane/src/approvals/approvals.service.js';
import { PII, startPgFixture, type PgFixture } from './support/pg-fixture.js';
import { WebhookReceiver } from '../apps/control-plane/test/support/webhook-receiver.js';
import { deliveries, subscribe } from '../apps/control-plane/test/support/webhooks.js';
import { verifyWebhookSignature } from '../apps/control-plane/src/webhooks/webhook-signature.js';

/** Requesters read and insert; a DELETE waits for one approver; DDL is forbidden. */
const POLICY = `
@id("admins") permit (principal, action, resource) when { principal.gatewayRoles.contains("admin") };
@id("pg-connect") permit (principal, action == Gateway::Action::"connect", resource)
  when { principal.gatewayRoles.contains("requester") && resource.type == "postgres" && !(resource.hasTag("closed")) };
@id("pg-read") @mask("email:partial, card:full, ssn:full, iban:partial, phone:partial")
permit (principal, action in Gateway::Action::"sql:read", resource) when { principal.gatewayRoles.contains("requester") };
@id("pg-insert") permit (principal, action == Gateway::Action::"sql:insert", resource) when { principal.gatewayRoles.contains("requester") };
@id("pg-delete-held") @approval("required") @approvers("role:approver")
permit (principal, action == Gateway::Action::"sql:delete", resource) when { principal.gatewayRoles.contains("requester") };
@id("no-ddl") @reason("no schema changes")
forbid (principal, action in [Gateway::Action::"sql:ddl", Gateway::Action::"sql:admin", Gateway::Action::"sql:procedural"], resource)
  when { principal.gatewayRoles.contains("requester") };
`;

interface ApprovalDto {
  id: string;
  createdAt: string;
  expiresAt: string;
  status: string;
  sessionId?: string;
  subject: { text: string; params?: string[]; fingerprints: string[]; actions: string[] };
  votes: { approverName: string; decision: string }[];
}

describe('postgres statement approvals: held in the agent, approved once or for the session, denied, timed out, killed, restarted', () => {
  let fx: PgFixture;
  let approver: string;

  const api = (method: string, path: string, token = fx.stack.admin, body?: unknown) => fx.stack.cp.request(method, path, { token, body });
  const orders = async () => (await fx.directQuery<{ id: number; item: string }>('SELECT id, item FROM orders ORDER BY id')).map((r) => r.item);

  /** Connects a gateway client that collects the NoticeResponses it gets. */
  async function client(app: string): Promise<{ c: pg.Client; notices: string[] }> {
    const c = fx.gateway({ application_name: app });
    const notices: string[] = [];
    c.on('notice', (n: { message?: string; hint?: string }) => notices.push(`${n.message ?? ''} | ${n.hint ?? ''}`));
    c.on('error', () => undefined);
    await c.connect();
    return { c, notices };
  }

  /** The approval the notice names, once it is pending. */
  async function heldApproval(notices: string[]): Promise<ApprovalDto> {
    await expect.poll(() => notices.length, { timeout: 10_000 }).toBeGreaterThan(0);
    const id = /approval ([0-9a-f-]{36})/.exec(notices.at(-1) ?? '')?.[1];
    expect(id).toBeDefined();
    const res = await api('GET', `/api/v1/approvals/${id}`, approver);
    expect(res.status).toBe(200);
    return res.body as ApprovalDto;
  }

  const resetOrders = () =>
    fx.directQuery(`TRUNCATE orders RESTART IDENTITY; INSERT INTO orders (customer_id, amount, item) VALUES (1, 19.99, 'book'), (1, 5.00, 'pen'), (2, 100.00, 'desk'), (2, 3.00, 'clip'), (1, 7.00, 'tape')`);

  beforeAll(async () => {
    fx = await startPgFixture('approvals', { policy: POLICY });
    approver = await fx.stack.cp.token('approver');
  }, 60_000);
  afterAll(async () => {
    await fx?.close();
  });

  it('node-postgres: the DELETE waits, the client is told the approval id at once, other sessions go on, and after approval exactly that statement runs once', async () => {
    await resetOrders();
    const { c, notices } = await client('gw-e2e-held');
    const other = await client('gw-e2e-other');
    try {
      const pending = c.query("DELETE FROM orders WHERE item = 'pen'");
      const approval = await heldApproval(notices);
      expect(notices[0]).toMatch(/held for approval .* until/);
      expect(notices[0]).toContain(`/api/v1/approvals/${approval.id}/approve`);
      expect(approval).toMatchObject({ status: 'pending', subject: { text: "DELETE FROM orders WHERE item = 'pen'", actions: ['sql:delete'] } });
      // The policy sets no @approval_timeout: statements wait 5 minutes.
      expect(Date.parse(approval.expiresAt) - Date.parse(approval.createdAt)).toBe(5 * 60 * 1000);
      // Another session is not blocked, and the held statement has not run.
      expect((await other.c.query('SELECT count(*)::int AS n FROM orders')).rows[0]).toEqual({ n: 5 });
      expect(await orders()).toContain('pen');

      expect((await api('POST', `/api/v1/approvals/${approval.id}/approve`, approver, { comment: 'ok, one pen' })).status).toBe(200);
      const result = await pending;
      expect(result.rowCount).toBe(1);
      expect(await orders()).toEqual(['book', 'desk', 'clip', 'tape']);
      // Once: the same statement again is held again.
      notices.length = 0;
      const again = c.query("DELETE FROM orders WHERE item = 'desk'");
      const second = await heldApproval(notices);
      expect(second.id).not.toBe(approval.id);
      expect((await api('POST', `/api/v1/approvals/${second.id}/deny`, approver, {})).status).toBe(200);
      await expect(again).rejects.toMatchObject({ code: '42501' });
      expect(await orders()).toContain('desk');
    } finally {
      await c.end();
      await other.c.end();
    }
  });

  it('deny and timeout: 42501 naming the approval, nothing runs, the session stays usable', async () => {
    await resetOrders();
    const { c, notices } = await client('gw-e2e-deny');
    try {
      const denied = c.query("DELETE FROM orders WHERE item = 'book'");
      const a = await heldApproval(notices);
      expect((await api('POST', `/api/v1/approvals/${a.id}/deny`, approver, { comment: 'not during the freeze' })).status).toBe(200);
      await expect(denied).rejects.toMatchObject({ code: '42501', message: `approval ${a.id} was denied by Approver: not during the freeze; the statement did not run` });
      expect((await c.query('SELECT 1 AS one')).rows).toEqual([{ one: 1 }]);

      notices.length = 0;
      const timedOut = c.query("DELETE FROM orders WHERE item = 'book'");
      const t = await heldApproval(notices);
      // The policy timeout is minutes; move its deadline instead of waiting, then run the timeout job's code.
      const db = new pg.Client({ connectionString: fx.stack.cp.dbUrl });
      await db.connect();
      await db.query(`UPDATE approvals SET expires_at = now() - interval '1 second' WHERE id = $1`, [t.id]);
      await db.end();
      await fx.stack.cp.app.get(ApprovalsService).expire(t.id);
      await expect(timedOut).rejects.toMatchObject({ code: '42501', message: `approval ${t.id} timed out before anyone decided; the statement did not run` });
      expect((await api('POST', `/api/v1/approvals/${t.id}/approve`, approver, {})).status).toBe(409);
      expect(await orders()).toContain('book');
      expect((await c.query('SELECT count(*)::int AS n FROM orders')).rows[0]).toEqual({ n: 5 });
    } finally {
      await c.end();
    }
  });

  it('extended protocol: held at Bind with the parameters masked (unmasked only in the detail for approvers); scope "session" lets the same fingerprint run again without asking', async () => {
    await resetOrders();
    const { c, notices } = await client('gw-e2e-session-scope');
    try {
      const first = c.query({ text: 'DELETE FROM orders WHERE customer_id = (SELECT id FROM customers WHERE email = $1) AND item = $2', values: [PII.ada.email, 'pen'] });
      const a = await heldApproval(notices);
      expect(a.subject.params).toHaveLength(2);
      // Masked in the subject; the approver gets the real values as the detail (see postgres-approval-view.test.ts).
      expect(JSON.stringify(a.subject)).not.toContain(PII.ada.email);
      expect((a as ApprovalDto & { detail?: { params?: string[] } }).detail?.params).toEqual([PII.ada.email, 'pen']);
      expect(a.subject.params?.[1]).toBe('pen');
      expect((await api('POST', `/api/v1/approvals/${a.id}/approve`, approver, { scope: 'session' })).status).toBe(200);
      expect((await first).rowCount).toBe(1);

      notices.length = 0;
      // Same fingerprint, other values: runs at once, in both protocols.
      expect((await c.query({ text: 'DELETE FROM orders WHERE customer_id = (SELECT id FROM customers WHERE email = $1) AND item = $2', values: [PII.ada.email, 'tape'] })).rowCount).toBe(1);
      expect(notices).toEqual([]);
      expect(await orders()).toEqual(['book', 'desk', 'clip']);

      // Another shape still needs its own approval.
      const other = c.query("DELETE FROM orders WHERE amount > 50");
      const b = await heldApproval(notices);
      expect(b.id).not.toBe(a.id);
      expect((await api('POST', `/api/v1/approvals/${b.id}/deny`, approver, {})).status).toBe(200);
      await expect(other).rejects.toMatchObject({ code: '42501' });
      // The session scope ends with the session.
      await c.end();
      const next = await client('gw-e2e-session-scope-2');
      const held = next.c.query({ text: 'DELETE FROM orders WHERE customer_id = (SELECT id FROM customers WHERE email = $1) AND item = $2', values: [PII.ada.email, 'book'] });
      const n = await heldApproval(next.notices);
      expect(n.id).not.toBe(a.id);
      await api('POST', `/api/v1/approvals/${n.id}/deny`, approver, {});
      await expect(held).rejects.toMatchObject({ code: '42501' });
      await next.c.end();
    } finally {
      await c.end().catch(() => undefined);
    }
  });

  it('the recording shows the held statement with its approval', async () => {
    await expect
      .poll(async () => {
        const sessions = (await api('GET', `/api/v1/sessions?resource=${fx.resource}`)).body.items as { id: string; declared: { applicationName?: string } }[];
        const s = sessions.find((x) => x.declared.applicationName === 'gw-e2e-held');
        if (!s) return [];
        const events = (await api('GET', `/api/v1/sessions/${s.id}/events`)).body.items as { type: string; data: { text?: string; approval?: { status: string; by: string | null } } }[];
        return events.filter((e) => e.type === 'pg.statement' && e.data.approval).map((e) => [e.data.text, e.data.approval?.status, e.data.approval?.by]);
      }, { timeout: 10_000 })
      .toEqual([
        ["DELETE FROM orders WHERE item = 'pen'", 'approved', 'Approver'],
        ["DELETE FROM orders WHERE item = 'desk'", 'denied', 'Approver'],
      ]);
  });

  it('the session is killed while its statement is held: the approval is cancelled and a late approve is refused', async () => {
    await resetOrders();
    const { c, notices } = await client('gw-e2e-kill-held');
    const pending = c.query("DELETE FROM orders WHERE item = 'clip'");
    pending.catch(() => undefined);
    const a = await heldApproval(notices);
    expect((await api('POST', `/api/v1/sessions/${a.sessionId}/kill`)).status).toBe(202);
    await expect(pending).rejects.toThrow(/killed|terminat/i);
    await expect.poll(async () => ((await api('GET', `/api/v1/approvals/${a.id}`, approver)).body as ApprovalDto).status, { timeout: 5000 }).toBe('cancelled');
    const late = await api('POST', `/api/v1/approvals/${a.id}/approve`, approver, {});
    expect(late.status).toBe(409);
    expect(await orders()).toContain('clip');
    await c.end().catch(() => undefined);
  });

  it('psql: the NOTICE names the approval, psql waits, and prints DELETE 1 once approved', async () => {
    await resetOrders();
    const child = spawn('psql', [`host=127.0.0.1 port=${fx.stack.pgPort} dbname=${fx.resource} user=${fx.role} sslmode=require`, '-X', '-c', "DELETE FROM orders WHERE item = 'tape'"], {
      env: { ...process.env, PGPASSWORD: fx.token },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    await expect.poll(() => /approval ([0-9a-f-]{36})/.exec(stderr)?.[1], { timeout: 10_000 }).toBeDefined();
    const id = /approval ([0-9a-f-]{36})/.exec(stderr)![1];
    expect(stderr).toMatch(/NOTICE: +statement held for approval/);
    expect(stderr).toMatch(/HINT: +an approver runs it with: POST http/);
    expect((await api('POST', `/api/v1/approvals/${id}/approve`, approver, {})).status).toBe(200);
    expect(await exited).toBe(0);
    expect(stdout).toMatch(/DELETE 1/);
    expect(await orders()).not.toContain('tape');
  });

  it('psql: Ctrl-C while held drops the statement and cancels its approval; a late approve is refused', async () => {
    await resetOrders();
    const child = spawn('psql', [`host=127.0.0.1 port=${fx.stack.pgPort} dbname=${fx.resource} user=${fx.role} sslmode=require`, '-X', '-c', "DELETE FROM orders WHERE item = 'book'"], {
      env: { ...process.env, PGPASSWORD: fx.token },
    });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    await expect.poll(() => /approval ([0-9a-f-]{36})/.exec(stderr)?.[1], { timeout: 10_000 }).toBeDefined();
    const id = /approval ([0-9a-f-]{36})/.exec(stderr)![1]!;
    child.kill('SIGINT');
    expect(await exited).not.toBe(0);
    expect(stderr).toContain(`ERROR:  approval ${id} was cancelled (the client cancelled the statement); the statement did not run`);
    await expect.poll(async () => ((await api('GET', `/api/v1/approvals/${id}`, approver)).body as ApprovalDto).status, { timeout: 5000 }).toBe('cancelled');
    expect((await api('POST', `/api/v1/approvals/${id}/approve`, approver, {})).status).toBe(409);
    expect(await orders()).toContain('book');
  });

  it('two approvers at once on a held statement: it runs exactly once', async () => {
    await resetOrders();
    const approver2 = await fx.stack.cp.token('approver-2');
    const { c, notices } = await client('gw-e2e-race');
    try {
      // Run twice, this would delete the two oldest orders.
      const pending = c.query('DELETE FROM orders WHERE id IN (SELECT id FROM orders ORDER BY id LIMIT 1)');
      const a = await heldApproval(notices);
      const votes = await Promise.all([
        api('POST', `/api/v1/approvals/${a.id}/approve`, approver, {}),
        api('POST', `/api/v1/approvals/${a.id}/approve`, approver2, {}),
      ]);
      expect(votes.map((v) => v.status).sort()).toEqual([200, 409]);
      expect((await pending).rowCount).toBe(1);
      expect(await orders()).toEqual(['pen', 'desk', 'clip', 'tape']);
    } finally {
      await c.end();
    }
  });

  it('the control plane restarting while a statement is held fails closed: the client is told, the statement never runs, the approval is cancelled', async () => {
    await resetOrders();
    const { c, notices } = await client('gw-e2e-restart');
    const pending = c.query("DELETE FROM orders WHERE item = 'desk'");
    pending.catch(() => undefined);
    const a = await heldApproval(notices);
    await fx.stack.cp.restart();
    // Whichever comes first: the replica's FATAL for the session, or the agent's 42501 for the cancelled approval.
    await expect(pending).rejects.toThrow(/the gateway control plane is shutting down; statements waiting for approval did not run|approval [0-9a-f-]{36} was cancelled/);
    const after = await fx.stack.cp.request('GET', `/api/v1/approvals/${a.id}`, { token: approver });
    expect(after.body.status).toBe('cancelled');
    expect((await fx.stack.cp.request('POST', `/api/v1/approvals/${a.id}/approve`, { token: approver, body: {} })).status).toBe(409);
    expect(await orders()).toContain('desk');
    await c.end().catch(() => undefined);
  });

  it('an approver is notified by a signed webhook carrying the masked statement, its unmasked detail and working approve/deny links', async () => {
    await resetOrders();
    await fx.stack.waitOnline(fx.resource); // the test before restarts the control plane
    const receiver = await WebhookReceiver.start();
    try {
      const { id: subscriptionId, secret } = await subscribe(fx.stack.cp, { url: receiver.url, events: ['approval.requested'], format: 'json' });
      const { c, notices } = await client('gw-e2e-webhook');
      try {
        const pending = c.query("DELETE FROM orders WHERE item = 'clip' AND customer_id IN (SELECT id FROM customers WHERE email = $1)", [PII.bob.email]);
        const a = await heldApproval(notices);
        await expect.poll(() => receiver.calls.length, { timeout: 10_000 }).toBe(1);
        const call = receiver.calls[0]!;
        const signed = { secret, body: call.body, timestamp: String(call.headers['x-gateway-timestamp']), signature: String(call.headers['x-gateway-signature']) };
        expect(verifyWebhookSignature(signed)).toBe(true);
        expect(call.json).toMatchObject({ event: { type: 'approval.requested', data: { approval: { id: a.id, status: 'pending' } } } });
        expect(call.json.summary).toContain('sql:delete');
        // The subject is masked; the detail shows the approver the real parameter (the policy does not say @approval_view("masked")).
        expect(JSON.stringify(call.json.event.data.approval.subject)).not.toContain(PII.bob.email);
        expect(call.json.event.data.approval.detail.params).toEqual([PII.bob.email]);
        // The link in the payload is the API route an approver calls with their own token.
        const approveUrl = new URL(call.json.links.approve as string);
        expect(approveUrl.pathname).toBe(`/api/v1/approvals/${a.id}/approve`);
        expect((await api('POST', approveUrl.pathname, approver, { comment: 'ok from the webhook' })).status).toBe(200);
        expect((await pending).rowCount).toBe(1);
        expect(await orders()).not.toContain('clip');
        expect(await deliveries(fx.stack.cp, subscriptionId)).toMatchObject([{ status: 'delivered' }]);
      } finally {
        await c.end();
      }
    } finally {
      await receiver.stop();
    }
  });
});
