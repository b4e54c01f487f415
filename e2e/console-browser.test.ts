import { spawn } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import type { Page } from 'playwright-core';
import { DEMO_USERS } from '@gw/dev-idp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchBrowser, signIn, type TestBrowser } from './support/browser.js';
import { startPgFixture, type PgFixture } from './support/pg-fixture.js';
import { gatewaySsh } from './support/ssh-client.js';
import { startSshTarget, type SshTarget } from './support/ssh-fixture.js';
import { TEST_LOGIN } from './support/sshd.js';
import { latestSession, sessionEvents } from './support/session-events.js';

/**
 * Postgres needs a just-in-time grant (requesters get one at once); a DELETE waits for an approver;
 * SSH commands run and are recorded.
 */
const POLICY = `
@id("admins") permit (principal, action, resource) when { principal.gatewayRoles.contains("admin") };
@id("pg-connect-jit") @require_grant("true")
permit (principal, action == Gateway::Action::"connect", resource)
  when { principal.gatewayRoles.contains("requester") && resource.type == "postgres" && !(resource.hasTag("closed")) };
@id("self-service") @max_session("2h")
permit (principal, action == Gateway::Action::"request_access", resource) when { principal.gatewayRoles.contains("requester") };
@id("pg-read") @mask("email:partial, card:full, ssn:full, iban:partial, phone:partial")
permit (principal, action in Gateway::Action::"sql:read", resource) when { principal.gatewayRoles.contains("requester") };
@id("pg-delete-held") @approval("required") @approvers("role:approver")
permit (principal, action == Gateway::Action::"sql:delete", resource) when { principal.gatewayRoles.contains("requester") };
@id("ssh-all") permit (principal, action in [Gateway::Action::"connect", Gateway::Action::"ssh:exec", Gateway::Action::"ssh:shell"], resource)
  when { principal.gatewayRoles.contains("requester") && resource.type == "ssh" };
`;

/** Set to a folder to save screenshots of the main pages there (docs/console/ holds the README's). */
const SCREENSHOTS = process.env.CONSOLE_SCREENSHOTS_DIR;
async function shot(page: Page, name: string): Promise<void> {
  if (!SCREENSHOTS) return;
  mkdirSync(SCREENSHOTS, { recursive: true });
  await page.screenshot({ path: join(SCREENSHOTS, `${name}.png`), fullPage: false });
}

interface Psql {
  done: Promise<{ code: number | null; stdout: string; stderr: string }>;
}

describe('web console in a real browser against the real stack', { timeout: 60_000 }, () => {
  let fx: PgFixture;
  let target: SshTarget;
  let browser: TestBrowser;
  let base: string;
  const api = (method: string, path: string, token = fx.stack.admin, body?: unknown) => fx.stack.cp.request(method, path, { token, body });

  /** Real psql through the gateway as the ai-agent workload (its grant asked for in beforeAll). */
  function psql(sql: string, token = fx.token): Psql {
    const child = spawn('psql', [`host=127.0.0.1 port=${fx.stack.pgPort} dbname=${fx.resource} user=${fx.role} sslmode=require`, '-v', 'ON_ERROR_STOP=1', '-c', sql], {
      env: { ...process.env, PGPASSWORD: token, PGCONNECT_TIMEOUT: '10' },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    return { done: new Promise((resolve) => child.on('close', (code) => resolve({ code, stdout, stderr }))) };
  }

  const pendingApprovals = async () => ((await api('GET', '/api/v1/approvals?status=pending')).body.items as { id: string; subject: { text?: string } }[]);

  beforeAll(async () => {
    if (!existsSync('apps/console/dist/index.html')) throw new Error('the console is not built: run `npm run -s build` first');
    fx = await startPgFixture('console', { policy: POLICY });
    target = await startSshTarget();
    await fx.stack.addAgent('edge-console-ssh', [target.resource('box')]);
    base = fx.stack.cp.baseUrl;
    const granted = await api('POST', '/api/v1/access-requests', fx.token, { resource: fx.resource, role: fx.role, duration: '1h', reason: 'console e2e' });
    expect(granted.status).toBe(201);
    browser = await launchBrowser();
  }, 90_000);

  afterAll(async () => {
    await browser?.close();
    await fx?.close();
    await target?.sshd.remove();
  });

  it('serves the console with its CSP at / and SPA routes, and leaves the API and health routes alone', async () => {
    const page = await fetch(`${base}/approvals/00000000-0000-4000-8000-000000000000`, { headers: { accept: 'text/html' } });
    expect(page.status).toBe(200);
    const csp = page.headers.get('content-security-policy') ?? '';
    expect(csp).toContain("script-src 'self' 'wasm-unsafe-eval'");
    expect(csp).toContain("frame-ancestors 'none'");
    const scriptSrc = csp.split(';').map((d) => d.trim()).find((d) => d.startsWith('script-src'));
    expect(scriptSrc).toBe("script-src 'self' 'wasm-unsafe-eval'");
    const html = await page.text();
    expect(html).not.toMatch(/<script(?![^>]*\bsrc=)[^>]*>/);
    expect((await fetch(`${base}/healthz`)).status).toBe(200);
    expect((await fetch(`${base}/api/v1/whoami`, { headers: { accept: 'text/html' } })).status).toBe(401);
    expect((await fetch(`${base}/nope.json`, { headers: { accept: 'application/json' } })).status).toBe(404);
    const config = (await (await fetch(`${base}/console/config.json`)).json()) as { oidc: { issuer: string; clientId: string; resource: string } };
    expect(config.oidc).toEqual({ issuer: fx.stack.cp.idp.issuer, clientId: 'gateway-console', scopes: 'openid profile', resource: 'api://gateway' });
  });

  it('an approver signs in, sees a held DELETE arrive live, approves it once, and the waiting psql finishes', async () => {
    const ctx = await browser.context();
    try {
      const page = await signIn(ctx, base, '/approvals', 'bob');
      await expect.poll(() => page.getByTestId('me').textContent()).toContain('Bob Approver');
      await page.locator('.live-live').waitFor();
      const run = psql('DELETE FROM orders WHERE id = 3');
      // No reload: the row arrives over the event stream.
      const row = page.locator('[data-testid=approvals] tr', { hasText: 'DELETE FROM orders WHERE id = 3' });
      await row.waitFor({ timeout: 15_000 });
      await shot(page, 'approvals');
      await row.getByRole('link').click();
      await expect.poll(() => page.getByTestId('progress').textContent()).toContain('0 of 1');
      expect(await page.getByTestId('policies').textContent()).toContain('pg-delete-held');
      await shot(page, 'approval');
      await page.getByRole('button', { name: 'Approve once' }).click();
      await expect.poll(() => page.getByTestId('outcome').textContent(), { timeout: 10_000 }).toContain('approved');
      const result = await run.done;
      expect(result.stdout).toContain('DELETE 1');
      expect(result.code).toBe(0);
      expect((await fx.directQuery('SELECT 1 FROM orders WHERE id = 3')).length).toBe(0);
    } finally {
      await ctx.close();
    }
  });

  it('an auditor sees the held statement but cannot approve; the approver denies it with a comment and psql gets the error', async () => {
    const run = psql('DELETE FROM orders WHERE id = 2');
    await expect.poll(async () => (await pendingApprovals()).find((a) => a.subject.text?.includes('id = 2'))?.id, { timeout: 15_000 }).toBeDefined();
    const id = (await pendingApprovals()).find((a) => a.subject.text?.includes('id = 2'))!.id;
    const auditorCtx = await browser.context();
    try {
      const page = await signIn(auditorCtx, base, `/approvals/${id}`, 'dave');
      await page.getByTestId('cannot-decide').waitFor();
      expect(await page.getByRole('button', { name: 'Approve once' }).count()).toBe(0);
      await expect.poll(() => page.getByTestId('subject').textContent()).toContain('DELETE FROM orders WHERE id = 2');
    } finally {
      await auditorCtx.close();
    }
    const approverCtx = await browser.context();
    try {
      // A Slack button's link: the page opens with the decision preselected.
      const page = await signIn(approverCtx, base, `/approvals/${id}?decide=deny`, 'carol');
      await page.fill('#comment', 'not during business hours');
      await page.getByRole('button', { name: 'Deny' }).click();
      await expect.poll(() => page.getByTestId('outcome').textContent(), { timeout: 10_000 }).toContain('denied');
      await expect.poll(() => page.locator('.votes').textContent()).toContain('not during business hours');
    } finally {
      await approverCtx.close();
    }
    const result = await run.done;
    expect(result.code).not.toBe(0);
    expect(result.stderr).toMatch(/denied/i);
    expect((await fx.directQuery('SELECT 1 FROM orders WHERE id = 2')).length).toBe(1);
  });

  it('an admin filters sessions, reads the Postgres statement timeline, and replays an SSH session with its commands', async () => {
    const client = gatewaySsh(fx.stack.sshPort, fx.token);
    const ran = await client.ssh(`${TEST_LOGIN}@box`, ['echo replay-marker-$((40+2))']);
    expect(ran.stdout).toContain('replay-marker-42');
    const sshId = await latestSession(fx.stack, 'box');
    await sessionEvents(fx.stack, sshId, (events) => events.some((e) => e.type === 'session.end'));

    const ctx = await browser.context();
    try {
      const page = await signIn(ctx, base, `/sessions?resource=${fx.resource}`, 'alice');
      const rows = page.locator('[data-testid=sessions] tbody tr');
      await rows.first().waitFor();
      for (const text of await rows.allTextContents()) expect(text).toContain(fx.resource);
      await shot(page, 'sessions');
      // The session whose DELETE was approved: its timeline shows the held statement and its outcome.
      const pgSession = ((await api('GET', `/api/v1/sessions?resource=${fx.resource}`)).body.items as { id: string }[]).at(-1)!.id;
      await page.goto(`${base}/sessions/${pgSession}`);
      // A reload loses the in-memory token by design: sign in again (the IdP remembers the person).
      await page.getByRole('button', { name: 'Sign in' }).click();
      await page.getByTestId('timeline').waitFor({ timeout: 15_000 });
      await expect.poll(() => page.getByTestId('timeline').textContent(), { timeout: 10_000 }).toContain('DELETE FROM orders WHERE id = 3');
      expect(await page.getByTestId('timeline').textContent()).toContain('approval approved by Bob Approver');
      await shot(page, 'session-postgres');

      await page.getByRole('link', { name: 'Sessions', exact: true }).click();
      await page.getByLabel('resource').fill('box');
      await page.getByRole('button', { name: 'Filter' }).click();
      await page.locator('[data-testid=sessions] tbody tr', { hasText: 'box' }).first().getByRole('link').click();
      await expect.poll(() => page.getByTestId('commands').textContent(), { timeout: 10_000 }).toContain('echo replay-marker-$((40+2))');
      const player = page.getByTestId('replay');
      await player.locator('.ap-player').waitFor({ timeout: 15_000 });
      await player.locator('.ap-player').click();
      await expect.poll(() => player.textContent(), { timeout: 15_000 }).toContain('replay-marker-42');
      await shot(page, 'session-ssh-replay');
    } finally {
      await ctx.close();
    }
  });

  it('an admin kills a live session from the sessions page and its client is cut off', async () => {
    const c = fx.gateway({ application_name: 'console-kill' });
    c.on('error', () => undefined);
    await c.connect();
    const sleeping = c.query('SELECT pg_sleep(60)').then(() => 'completed', (e: Error) => e.message);
    const ctx = await browser.context();
    try {
      const page = await signIn(ctx, base, `/sessions?resource=${fx.resource}&status=active`, 'alice');
      const row = page.locator('[data-testid=sessions] tbody tr').filter({ has: page.getByRole('button', { name: 'Kill' }) });
      await expect.poll(() => row.count(), { timeout: 10_000 }).toBe(1);
      page.once('dialog', (d) => void d.accept());
      await row.getByRole('button', { name: 'Kill' }).click();
      expect(await sleeping).not.toBe('completed');
      // The client is cut off as the kill is recorded: the session's row may show it a moment later.
      const killed = async () => ((await api('GET', `/api/v1/sessions?resource=${fx.resource}&status=killed`)).body.items as { declared: { applicationName?: string } }[])
        .some((k) => k.declared.applicationName === 'console-kill');
      await expect.poll(killed, { timeout: 10_000 }).toBe(true);
    } finally {
      await ctx.close();
      await c.end().catch(() => undefined);
    }
  });

  it('an admin revokes a grant in the console and the live psql session under it ends', async () => {
    const ci = await fx.stack.cp.token('ci-pipeline');
    const asked = await api('POST', '/api/v1/access-requests', ci, { resource: fx.resource, role: fx.role, duration: '30m', reason: 'nightly export' });
    const grantId = (asked.body.grant as { id: string }).id;
    const ciId = (await api('GET', '/api/v1/whoami', ci)).body.id as string;
    const c = new pg.Client({ host: '127.0.0.1', port: fx.stack.pgPort, user: fx.role, password: ci, database: fx.resource, ssl: { rejectUnauthorized: false }, application_name: 'console-revoke' });
    c.on('error', () => undefined);
    await c.connect();
    const sleeping = c.query('SELECT pg_sleep(60)').then(() => 'completed', (e: Error) => e.message);
    const ctx = await browser.context();
    try {
      const page = await signIn(ctx, base, '/access', 'alice');
      const row = page.locator('[data-testid=grants] tbody tr', { hasText: ciId }).filter({ hasText: 'active' });
      await row.waitFor();
      await shot(page, 'access');
      page.once('dialog', (d) => void d.accept());
      await row.getByRole('button', { name: 'Revoke' }).click();
      expect(await sleeping).toMatch(/revoked/);
      await expect.poll(async () => (await api('GET', `/api/v1/grants/${grantId}`)).body.state).toBe('revoked');
    } finally {
      await ctx.close();
      await c.end().catch(() => undefined);
    }
  });

  it('a requester sees only their own access requests, grants and approvals, and no operator pages', async () => {
    const erinId = `${fx.stack.cp.idp.issuer}#${DEMO_USERS.find((u) => u.username === 'erin')!.oid}`;
    const ctx = await browser.context();
    try {
      const page = await signIn(ctx, base, '/access', 'erin');
      const nav = await page.locator('header nav').textContent();
      expect(nav).toContain('Approvals');
      expect(nav).not.toContain('Sessions');
      expect(nav).not.toContain('Audit');
      expect(nav).not.toContain('Policies');
      await page.getByLabel('Resource').fill(fx.resource);
      await page.getByLabel('Role or login').fill(fx.role);
      await page.getByLabel('Reason').fill('look into ticket 7');
      await page.getByRole('button', { name: 'Ask' }).click();
      await page.locator('[data-testid=access-requests] tbody tr', { hasText: 'look into ticket 7' }).waitFor();
      const requests = await page.locator('[data-testid=access-requests] tbody tr').allTextContents();
      expect(requests.length).toBeGreaterThan(0);
      for (const r of requests) expect(r).toContain(erinId);
      const grants = await page.locator('[data-testid=grants] tbody tr').allTextContents();
      expect(grants.length).toBeGreaterThan(0);
      for (const g of grants) expect(g).toContain(erinId);
      await page.getByRole('link', { name: 'Approvals' }).click();
      await page.locator('.live-live').waitFor();
      expect(await page.locator('[data-testid=approvals] tbody tr', { hasText: 'DELETE FROM orders' }).count()).toBe(0);
    } finally {
      await ctx.close();
    }
  });

  it('when the token expires the console signs out and asks to sign in again', async () => {
    const ctx = await browser.context();
    try {
      // The page's clock is Playwright's: an hour passes in an instant (the dev IdP's tokens live one hour).
      await ctx.clock.install();
      const page = await signIn(ctx, base, '/resources', 'erin');
      await page.locator('[data-testid=resources] tbody tr').first().waitFor();
      await page.clock.fastForward('01:00:05');
      await page.getByText('Your sign-in expired. Sign in again.').waitFor();
      expect(await page.getByTestId('me').count()).toBe(0);
      expect(await page.getByRole('button', { name: 'Sign in' }).count()).toBe(1);
    } finally {
      await ctx.close();
    }
  });

  it('an auditor verifies the audit chain and a policy diff; sign-out ends the session', async () => {
    const ctx = await browser.context();
    try {
      const page = await signIn(ctx, base, '/audit', 'dave');
      await expect.poll(() => page.getByTestId('chain').textContent(), { timeout: 10_000 }).toContain('Chain verified');
      await page.getByLabel('action').fill('approval.vote');
      await page.getByRole('button', { name: 'Search' }).click();
      await expect.poll(() => page.getByTestId('audit').textContent()).toContain('approval');
      await shot(page, 'audit');
      await page.getByRole('link', { name: 'Resources' }).click();
      await page.locator('[data-testid=resources] tbody tr', { hasText: 'box' }).waitFor();
      await shot(page, 'resources');
      await page.getByRole('link', { name: 'Policies' }).click();
      await page.getByTestId('policy-versions').waitFor();
      // The editor opens on the active version, validated; typing starts once that text is in (a fill
      // that raced the load was once answered for the loaded text instead of the typed one).
      await expect.poll(() => page.getByTestId('validation').textContent(), { timeout: 10_000 }).toMatch(/^Valid: \d+ policies\.$/);
      await page.getByLabel('policy text').fill('permit (principal, action, resource) when { oops');
      await expect.poll(() => page.getByTestId('validation').textContent(), { timeout: 10_000 }).toContain('Invalid');
      await shot(page, 'policies');
      await page.getByRole('button', { name: 'Sign out' }).click();
      await page.getByRole('button', { name: /sign me out/i }).click();
      await page.waitForURL(`${base}/`);
      await page.getByRole('button', { name: 'Sign in' }).waitFor();
      expect(await page.evaluate(() => JSON.stringify({ ...localStorage }))).toBe('{}');
    } finally {
      await ctx.close();
    }
  });
});
