import { demoClientSecret } from './clients.js';

export class TokenRequestError extends Error {
  override readonly name = 'TokenRequestError';
}

/** The IdP could not be reached at all (as opposed to refusing the request). */
export class IdpUnreachableError extends Error {
  override readonly name = 'IdpUnreachableError';
}

const TIMEOUT_MS = 5_000;

/** OAuth client-credentials request with client_secret_basic (RFC 6749 §2.3.1 form-encodes id and secret). */
export async function requestClientCredentialsToken(
  tokenEndpoint: string,
  clientId: string,
  options: { secret?: string; resource?: string } = {},
): Promise<string> {
  const secret = options.secret ?? demoClientSecret(clientId);
  const basic = Buffer.from(`${encodeURIComponent(clientId)}:${encodeURIComponent(secret)}`).toString('base64');
  const body = new URLSearchParams({ grant_type: 'client_credentials' });
  if (options.resource !== undefined) body.set('resource', options.resource);
  let response: Response;
  try {
    response = await fetch(tokenEndpoint, {
      method: 'POST',
      headers: { authorization: `Basic ${basic}`, 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
      body,
      signal: AbortSignal.timeout(TIMEOUT_MS),
    });
  } catch (cause) {
    throw new IdpUnreachableError(`dev IdP not reachable at ${new URL(tokenEndpoint).origin}`, { cause });
  }
  const json = (await response.json().catch(() => ({}))) as Record<string, unknown>;
  if (!response.ok || typeof json['access_token'] !== 'string') {
    const error = typeof json['error'] === 'string' ? json['error'] : `HTTP ${response.status}`;
    const description = typeof json['error_description'] === 'string' ? `: ${json['error_description']}` : '';
    throw new TokenRequestError(`token request for client "${clientId}" refused (${error}${description})`);
  }
  return json['access_token'];
}

/** The token endpoint named by the IdP's discovery document. */
export async function discoverTokenEndpoint(baseUrl: string): Promise<string> {
  const url = `${baseUrl.replace(/\/$/, '')}/.well-known/openid-configuration`;
  let response: Response;
  try {
    response = await fetch(url, { signal: AbortSignal.timeout(TIMEOUT_MS), headers: { accept: 'application/json' } });
  } catch (cause) {
    throw new IdpUnreachableError(`dev IdP not reachable at ${baseUrl}`, { cause });
  }
  const document = (await response.json().catch(() => undefined)) as { token_endpoint?: unknown } | undefined;
  if (!response.ok || typeof document?.token_endpoint !== 'string') {
    throw new IdpUnreachableError(`${baseUrl} did not answer like an OIDC provider (HTTP ${response.status})`);
  }
  return document.token_endpoint;
}
