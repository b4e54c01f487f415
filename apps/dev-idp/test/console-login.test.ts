import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createRemoteJWKSet, jwtVerify } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CONSOLE_CLIENT_ID, DEMO_USERS, DEV_TENANT_ID, startDevIdp, type DevIdp } from '../src/index.js';

let dir: string;
let idp: DevIdp;
const REDIRECT = 'http://127.0.0.1:45678/callback';

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'dev-idp-login-'));
  idp = await startDevIdp({ port: 0, keyFile: join(dir, 'keys.json') });
});
afterAll(async () => {
  await idp.close();
  await rm(dir, { recursive: true, force: true });
});

/** A browser's cookie jar, just enough for the IdP's interaction cookies. */
class Browser {
  private readonly cookies = new Map<string, string>();
  async go(url: string, init: RequestInit = {}): Promise<Response> {
    const res = await fetch(url, { ...init, redirect: 'manual', headers: { ...(init.headers as Record<string, string>), cookie: [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; ') } });
    for (const line of res.headers.getSetCookie()) {
      const [pair] = line.split(';');
      const eq = pair!.indexOf('=');
      this.cookies.set(pair!.slice(0, eq), pair!.slice(eq + 1));
    }
    return res;
  }
}

function pkce() {
  const verifier = randomBytes(32).toString('base64url');
  return { verifier, challenge: createHash('sha256').update(verifier).digest('base64url') };
}

/** Runs the authorization request up to the login page; returns the page's form action. */
async function openLogin(browser: Browser, challenge: string, extra: Record<string, string> = {}) {
  const params = new URLSearchParams({ client_id: CONSOLE_CLIENT_ID, response_type: 'code', redirect_uri: REDIRECT, scope: 'openid profile', resource: 'api://gateway', state: 'st4te', code_challenge: challenge, code_challenge_method: 'S256', ...extra });
  const auth = await browser.go(`${idp.issuer}/auth?${params.toString()}`);
  expect(auth.status).toBe(303);
  const loginUrl = new URL(auth.headers.get('location')!, idp.issuer).href;
  const page = await browser.go(loginUrl);
  expect(page.status).toBe(200);
  expect(page.headers.get('content-security-policy')).toContain("default-src 'none'");
  const html = await page.text();
  return { html, action: new URL(/action="([^"]+\/login)"/.exec(html)![1]!, idp.issuer).href };
}

async function submit(browser: Browser, action: string, username: string, password: string) {
  return browser.go(action, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams({ username, password }).toString() });
}

/** Follows the IdP's redirects until it sends the browser back to the console. */
async function followToCallback(browser: Browser, res: Response): Promise<URL> {
  for (let hops = 0; hops < 5; hops++) {
    const location = new URL(res.headers.get('location')!, idp.issuer);
    if (location.href.startsWith('http://127.0.0.1:45678/')) return location;
    res = await browser.go(location.href);
  }
  throw new Error('too many redirects');
}

describe('dev IdP console sign-in (authorization code + PKCE)', () => {
  it('signs a demo user in and issues a user access token the gateway accepts', async () => {
    const browser = new Browser();
    const { verifier, challenge } = pkce();
    const { html, action } = await openLogin(browser, challenge);
    for (const user of DEMO_USERS) expect(html).toContain(`<code>${user.username}</code>`);
    const callback = await followToCallback(browser, await submit(browser, action, 'bob', 'bob-password'));
    expect(callback.pathname).toBe('/callback');
    expect(callback.searchParams.get('state')).toBe('st4te');
    const code = callback.searchParams.get('code')!;

    const exchange = (codeVerifier: string) =>
      fetch(`${idp.issuer}/token`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded', origin: 'http://127.0.0.1:45678' },
        body: new URLSearchParams({ grant_type: 'authorization_code', code, redirect_uri: REDIRECT, client_id: CONSOLE_CLIENT_ID, code_verifier: codeVerifier, resource: 'api://gateway' }),
      });
    const tokens = await exchange(verifier);
    expect(tokens.status).toBe(200);
    // The console reads the answer from another origin (the control plane's).
    expect(tokens.headers.get('access-control-allow-origin')).toBe('http://127.0.0.1:45678');
    const body = (await tokens.json()) as { access_token: string; id_token: string; expires_in: number };
    const jwks = createRemoteJWKSet(new URL(`${idp.issuer}/jwks`));
    const { payload } = await jwtVerify(body.access_token, jwks, { issuer: idp.issuer, audience: 'api://gateway' });
    expect(payload).toMatchObject({ sub: 'bob', tid: DEV_TENANT_ID, oid: DEMO_USERS[1]!.oid, roles: ['Gateway.Approver'], idtyp: 'user', azp: CONSOLE_CLIENT_ID, name: 'Bob Approver' });
    const id = await jwtVerify(body.id_token, jwks, { issuer: idp.issuer, audience: CONSOLE_CLIENT_ID });
    expect(id.payload.name).toBe('Bob Approver');
  });

  it('refuses a wrong password on the page and a code without its PKCE verifier', async () => {
    const browser = new Browser();
    const { verifier, challenge } = pkce();
    const { action } = await openLogin(browser, challenge);
    const wrong = await submit(browser, action, 'bob', 'alice-password');
    expect(wrong.status).toBe(401);
    expect(await wrong.text()).toContain('Unknown user or wrong password.');
    const injected = await submit(browser, action, '<script>x</script>', 'x');
    expect(await injected.text()).toContain('value="&#60;script&#62;x&#60;/script&#62;"');

    const callback = await followToCallback(browser, await submit(browser, action, 'erin', 'erin-password'));
    const code = callback.searchParams.get('code')!;
    const stolen = await fetch(`${idp.issuer}/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ grant_type: 'authorization_code', code, redirect_uri: REDIRECT, client_id: CONSOLE_CLIENT_ID, code_verifier: `${verifier}x`.slice(1) }),
    });
    expect(stolen.status).toBe(400);
    expect(((await stolen.json()) as { error: string }).error).toBe('invalid_grant');
  });

  it('refuses an authorization request without PKCE or to a foreign redirect URI', async () => {
    const browser = new Browser();
    const noPkce = await browser.go(`${idp.issuer}/auth?${new URLSearchParams({ client_id: CONSOLE_CLIENT_ID, response_type: 'code', redirect_uri: REDIRECT, scope: 'openid' }).toString()}`);
    expect(noPkce.status).toBe(303);
    expect(new URL(noPkce.headers.get('location')!).searchParams.get('error')).toBe('invalid_request');
    const { challenge } = pkce();
    const foreign = await browser.go(`${idp.issuer}/auth?${new URLSearchParams({ client_id: CONSOLE_CLIENT_ID, response_type: 'code', redirect_uri: 'https://evil.example/callback', scope: 'openid', code_challenge: challenge, code_challenge_method: 'S256' }).toString()}`);
    expect(foreign.status).toBe(400);
    expect(await foreign.text()).toContain('redirect_uri');
  });
});
