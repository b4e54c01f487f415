import { pkceChallenge, randomToken } from './pkce.js';

export interface ConsoleConfig {
  apiBase: string;
  oidc?: { issuer: string; clientId: string; scopes: string; resource?: string };
}

/** Tokens live in memory only; a reload signs in again (the IdP's own session makes that quick). */
export interface SignedIn {
  accessToken: string;
  idToken?: string;
  /** ms since epoch */
  expiresAt: number;
}

interface Discovery {
  authorization_endpoint: string;
  token_endpoint: string;
  end_session_endpoint?: string;
}

/** The one thing kept in sessionStorage, for the round trip to the IdP: never a token. */
interface PendingSignIn {
  state: string;
  verifier: string;
  returnTo: string;
}

const PENDING_KEY = 'gw.console.pending-sign-in';
export const CALLBACK_PATH = '/callback';

export async function loadConfig(): Promise<ConsoleConfig> {
  const res = await fetch('/console/config.json', { cache: 'no-store' });
  if (!res.ok) throw new Error(`console configuration: HTTP ${res.status}`);
  return (await res.json()) as ConsoleConfig;
}

const discoveries = new Map<string, Promise<Discovery>>();
function discover(issuer: string): Promise<Discovery> {
  let found = discoveries.get(issuer);
  if (!found) {
    found = fetch(`${issuer}/.well-known/openid-configuration`).then(async (res) => {
      if (!res.ok) throw new Error(`the identity provider's discovery document: HTTP ${res.status}`);
      return (await res.json()) as Discovery;
    });
    found.catch(() => discoveries.delete(issuer));
    discoveries.set(issuer, found);
  }
  return found;
}

const redirectUri = () => `${location.origin}${CALLBACK_PATH}`;

/** Only paths of this console: never an absolute URL someone slipped into the return address. */
export function safeReturnPath(path: string | null | undefined): string {
  if (!path || !path.startsWith('/') || path.startsWith('//') || path.startsWith('/\\') || path.startsWith(CALLBACK_PATH)) return '/';
  return path;
}

export async function beginSignIn(config: ConsoleConfig, returnTo: string): Promise<void> {
  const oidc = config.oidc;
  if (!oidc) throw new Error('no identity provider is configured for the console (CONSOLE_OIDC_ISSUER)');
  const discovery = await discover(oidc.issuer);
  const pending: PendingSignIn = { state: randomToken(), verifier: randomToken(48), returnTo: safeReturnPath(returnTo) };
  sessionStorage.setItem(PENDING_KEY, JSON.stringify(pending));
  const url = new URL(discovery.authorization_endpoint);
  url.search = new URLSearchParams({
    client_id: oidc.clientId,
    response_type: 'code',
    redirect_uri: redirectUri(),
    scope: oidc.scopes,
    state: pending.state,
    code_challenge: await pkceChallenge(pending.verifier),
    code_challenge_method: 'S256',
    ...(oidc.resource ? { resource: oidc.resource } : {}),
  }).toString();
  location.assign(url.href);
}

/** Finishes the sign-in on /callback: checks the state, trades the code (with the verifier) for tokens. */
export async function completeSignIn(config: ConsoleConfig, callback: URL): Promise<{ session: SignedIn; returnTo: string }> {
  const oidc = config.oidc;
  if (!oidc) throw new Error('no identity provider is configured for the console');
  const raw = sessionStorage.getItem(PENDING_KEY);
  sessionStorage.removeItem(PENDING_KEY);
  if (!raw) throw new Error('no sign-in was started in this tab; sign in again');
  const pending = JSON.parse(raw) as PendingSignIn;
  const error = callback.searchParams.get('error');
  if (error) throw new Error(`the identity provider refused the sign-in: ${callback.searchParams.get('error_description') ?? error}`);
  if (callback.searchParams.get('state') !== pending.state) throw new Error('the sign-in answer does not belong to this sign-in (state mismatch); sign in again');
  const code = callback.searchParams.get('code');
  if (!code) throw new Error('the identity provider sent no authorization code');
  const discovery = await discover(oidc.issuer);
  const res = await fetch(discovery.token_endpoint, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({
      grant_type: 'authorization_code',
      code,
      redirect_uri: redirectUri(),
      client_id: oidc.clientId,
      code_verifier: pending.verifier,
      ...(oidc.resource ? { resource: oidc.resource } : {}),
    }),
  });
  const body = (await res.json().catch(() => ({}))) as { access_token?: string; id_token?: string; expires_in?: number; error?: string; error_description?: string };
  if (!res.ok || !body.access_token) throw new Error(`the token exchange failed: ${body.error_description ?? body.error ?? `HTTP ${res.status}`}`);
  const expiresIn = typeof body.expires_in === 'number' && body.expires_in > 0 ? body.expires_in : 300;
  return {
    session: { accessToken: body.access_token, ...(body.id_token ? { idToken: body.id_token } : {}), expiresAt: Date.now() + expiresIn * 1000 },
    returnTo: pending.returnTo,
  };
}

/** Where to send the browser to end the IdP's session too, when it offers that (RP-initiated logout). */
export async function endSessionUrl(config: ConsoleConfig, session: SignedIn | undefined): Promise<string | undefined> {
  if (!config.oidc) return undefined;
  const discovery = await discover(config.oidc.issuer).catch(() => undefined);
  if (!discovery?.end_session_endpoint) return undefined;
  const url = new URL(discovery.end_session_endpoint);
  url.search = new URLSearchParams({
    client_id: config.oidc.clientId,
    post_logout_redirect_uri: `${location.origin}/`,
    ...(session?.idToken ? { id_token_hint: session.idToken } : {}),
  }).toString();
  return url.href;
}
