import type { IncomingMessage, ServerResponse } from 'node:http';
import type Provider from 'oidc-provider';
import { checkDemoLogin, CONSOLE_CLIENT_ID, DEMO_USERS, demoUserPassword } from './users.js';

const MAX_FORM_BYTES = 4096;
/** No scripts at all on the IdP's own pages; the form posts to this origin. */
const PAGE_CSP = "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; frame-ancestors 'none'";

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** A whole page around `body` (already escaped by the caller). */
export function page(title: string, body: string): string {
  return `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(title)}</title>
<style>
body{font-family:system-ui,sans-serif;background:#f4f5f7;margin:0;padding:48px 16px;color:#1d2330}
main{max-width:380px;margin:0 auto;background:#fff;border-radius:8px;box-shadow:0 1px 4px rgba(0,0,0,.15);padding:24px 28px}
h1{font-size:1.3em;margin:0 0 4px}p.note{color:#5b6372;font-size:.9em}label{display:block;margin:12px 0 4px;font-weight:600}
input{width:100%;box-sizing:border-box;padding:8px;border:1px solid #c4c9d2;border-radius:4px;font-size:1em}
button{margin-top:16px;width:100%;padding:10px;border:0;border-radius:4px;background:#2856d8;color:#fff;font-size:1em;cursor:pointer}
button.secondary{background:#e3e6ec;color:#1d2330}.error{color:#b3261e;font-weight:600}
table{border-collapse:collapse;font-size:.85em;margin-top:8px;width:100%}td,th{text-align:left;padding:2px 4px;border-bottom:1px solid #eee}
</style></head><body><main>${body}</main></body></html>`;
}

function send(res: ServerResponse, status: number, html: string): void {
  res.writeHead(status, {
    'content-type': 'text/html; charset=utf-8',
    'cache-control': 'no-store',
    'content-security-policy': PAGE_CSP,
    'x-frame-options': 'DENY',
    'x-content-type-options': 'nosniff',
  });
  res.end(html);
}

function loginForm(uid: string, clientName: string, error?: string, username = ''): string {
  const users = DEMO_USERS.map((u) => `<tr><td><code>${escapeHtml(u.username)}</code></td><td>${escapeHtml(u.roles.join(', '))}</td><td><code>${escapeHtml(demoUserPassword(u.username))}</code></td></tr>`).join('');
  return page(
    'Sign in - dev IdP',
    `<h1>Sign in</h1><p class="note">to ${escapeHtml(clientName)} - development IdP, demo users only</p>
${error ? `<p class="error" role="alert">${escapeHtml(error)}</p>` : ''}
<form method="post" action="/interaction/${escapeHtml(uid)}/login" autocomplete="off">
<label for="username">Username</label><input id="username" name="username" value="${escapeHtml(username)}" required autofocus>
<label for="password">Password</label><input id="password" name="password" type="password" required>
<button type="submit">Sign in</button></form>
<form method="post" action="/interaction/${escapeHtml(uid)}/abort"><button class="secondary" type="submit">Cancel</button></form>
<table><thead><tr><th>user</th><th>roles</th><th>password</th></tr></thead><tbody>${users}</tbody></table>`,
  );
}

async function readForm(req: IncomingMessage): Promise<URLSearchParams> {
  const type = req.headers['content-type'] ?? '';
  if (!type.startsWith('application/x-www-form-urlencoded')) throw new Error('expected a form submission');
  let size = 0;
  const chunks: Buffer[] = [];
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_FORM_BYTES) throw new Error('form too large');
    chunks.push(chunk);
  }
  return new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
}

/**
 * The interactive part of the authorization code flow: oidc-provider sends the browser to
 * `/interaction/<uid>` when it needs a login; this answers with a login page for the demo users and
 * hands the result back. Consent is given without asking: the console is a first-party client.
 */
export class LoginPages {
  constructor(private readonly provider: Provider) {}

  /** True when the request was one of the login routes (then it is answered). */
  handle(req: IncomingMessage, res: ServerResponse): boolean {
    const path = (req.url ?? '').split('?')[0]!;
    const match = /^\/interaction\/([A-Za-z0-9_-]{1,128})(?:\/(login|abort))?$/.exec(path);
    if (!match) return false;
    const [, uid, action] = match as unknown as [string, string, 'login' | 'abort' | undefined];
    this.serve(req, res, uid, action).catch((error: unknown) => {
      if (res.headersSent) return void res.end();
      send(res, 400, page('Sign-in failed', `<h1>Sign-in failed</h1><p class="error">${escapeHtml(error instanceof Error ? error.message : String(error))}</p><p class="note">Start again from the application.</p>`));
    });
    return true;
  }

  private async serve(req: IncomingMessage, res: ServerResponse, uid: string, action: 'login' | 'abort' | undefined): Promise<void> {
    const details = await this.provider.interactionDetails(req, res);
    if (details.uid !== uid) throw new Error('this sign-in page belongs to another sign-in attempt');
    const client = await this.provider.Client.find(String(details.params.client_id));
    const clientName = client?.clientName ?? String(details.params.client_id);
    if (action === undefined) {
      if (req.method !== 'GET') throw new Error('method not allowed');
      // oidc-provider asks consent of every native client; the console is first-party, so it is given.
      if (details.prompt.name === 'consent' && details.params.client_id === CONSOLE_CLIENT_ID) return this.consent(req, res, details);
      return send(res, 200, loginForm(uid, clientName));
    }
    if (req.method !== 'POST') throw new Error('method not allowed');
    const form = await readForm(req);
    if (action === 'abort') {
      return this.provider.interactionFinished(req, res, { error: 'access_denied', error_description: 'the user cancelled the sign-in' }, { mergeWithLastSubmission: false });
    }
    const username = (form.get('username') ?? '').trim();
    const user = checkDemoLogin(username, form.get('password') ?? '');
    if (!user) return send(res, 401, loginForm(uid, clientName, 'Unknown user or wrong password.', username));
    await this.provider.interactionFinished(req, res, { login: { accountId: user.username } }, { mergeWithLastSubmission: false });
  }

  private async consent(req: IncomingMessage, res: ServerResponse, details: Awaited<ReturnType<Provider['interactionDetails']>>): Promise<void> {
    const accountId = details.session?.accountId;
    if (!accountId) throw new Error('no signed-in user for this consent');
    const grant = details.grantId ? await this.provider.Grant.find(details.grantId) : new this.provider.Grant({ accountId, clientId: CONSOLE_CLIENT_ID });
    if (!grant) throw new Error('the grant of this sign-in expired');
    grant.addOIDCScope(typeof details.params.scope === 'string' ? details.params.scope : 'openid');
    const resource = details.params.resource;
    for (const indicator of Array.isArray(resource) ? resource : resource ? [resource] : []) grant.addResourceScope(String(indicator), '');
    const grantId = await grant.save();
    await this.provider.interactionFinished(req, res, { consent: { grantId } }, { mergeWithLastSubmission: true });
  }
}
