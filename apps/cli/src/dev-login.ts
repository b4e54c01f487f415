import { CliError } from './errors.js';

const TIMEOUT_MS = 10_000;
const MAX_BODY = 256 * 1024;

async function readJson(response: Response, what: string): Promise<Record<string, unknown>> {
  const text = await response.text();
  if (text.length > MAX_BODY) throw new CliError(`${what}: response too large`);
  try {
    const value = JSON.parse(text) as unknown;
    if (typeof value === 'object' && value !== null) return value as Record<string, unknown>;
  } catch {
    // fall through
  }
  throw new CliError(`${what}: answered ${response.status} with a non-JSON body`);
}

async function get(url: string, init: RequestInit, what: string): Promise<Response> {
  try {
    return await fetch(url, { ...init, signal: AbortSignal.timeout(TIMEOUT_MS) });
  } catch (error) {
    const cause = (error as { cause?: { code?: string; message?: string } }).cause;
    const why = cause?.code ?? cause?.message ?? (error as Error).message;
    throw new CliError(`${what}: cannot reach ${url} (${why})`);
  }
}

export interface IssuedToken {
  token: string;
  expiresAt?: number;
}

/**
 * Client-credentials token from the dev IdP: the token endpoint comes from OIDC discovery and the
 * dev clients' secret is `<client>-secret` by convention of the dev IdP (never for real IdPs).
 */
export async function fetchDevToken(idpUrl: string, client: string, resource = 'api://gateway'): Promise<IssuedToken> {
  if (!/^[A-Za-z0-9._-]{1,128}$/.test(client)) throw new CliError(`invalid client id: ${client}`);
  const discoveryUrl = `${idpUrl}/.well-known/openid-configuration`;
  const discovery = await get(discoveryUrl, {}, 'dev IdP discovery');
  const document = await readJson(discovery, 'dev IdP discovery');
  if (!discovery.ok || typeof document.token_endpoint !== 'string') throw new CliError(`dev IdP discovery at ${discoveryUrl} has no token_endpoint`);
  const basic = Buffer.from(`${client}:${client}-secret`).toString('base64');
  const response = await get(
    document.token_endpoint,
    {
      method: 'POST',
      headers: { authorization: `Basic ${basic}`, 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ grant_type: 'client_credentials', resource }),
    },
    'dev IdP token',
  );
  const body = await readJson(response, 'dev IdP token');
  if (!response.ok || typeof body.access_token !== 'string') {
    const reason = typeof body.error_description === 'string' ? body.error_description : typeof body.error === 'string' ? body.error : `HTTP ${response.status}`;
    throw new CliError(`dev IdP refused a token for ${client}: ${reason.slice(0, 300)}`);
  }
  const expiresIn = typeof body.expires_in === 'number' ? body.expires_in : undefined;
  return { token: body.access_token, ...(expiresIn ? { expiresAt: Math.floor(Date.now() / 1000) + expiresIn } : {}) };
}
