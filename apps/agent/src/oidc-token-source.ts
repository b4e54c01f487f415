import type { SecretValue } from './config/secret.js';

const MAX_TOKEN_RESPONSE_BYTES = 64 * 1024;
const REQUEST_TIMEOUT_MS = 10_000;
/** Refresh this long before expiry (or at 80 % of a shorter lifetime). */
const REFRESH_MARGIN_MS = 60_000;

export interface OidcTokenSourceOptions {
  tokenUrl: string;
  clientId: string;
  clientSecret: SecretValue;
  resource: string;
  fetch?: typeof fetch;
  now?: () => number;
}

export class TokenFetchError extends Error {
  override readonly name = 'TokenFetchError';
}

/** The agent's own client-credentials token, fetched on demand and refreshed before it expires. */
export class OidcTokenSource {
  private cached: { token: string; refreshAt: number } | undefined;
  private inflight: Promise<string> | undefined;
  private readonly fetchImpl: typeof fetch;
  private readonly now: () => number;

  constructor(private readonly options: OidcTokenSourceOptions) {
    this.fetchImpl = options.fetch ?? fetch;
    this.now = options.now ?? Date.now;
  }

  async get(): Promise<string> {
    if (this.cached && this.now() < this.cached.refreshAt) return this.cached.token;
    // One request at a time, however many reconnect attempts ask.
    this.inflight ??= this.fetchToken().finally(() => {
      this.inflight = undefined;
    });
    return this.inflight;
  }

  private async fetchToken(): Promise<string> {
    const { tokenUrl, clientId, clientSecret, resource } = this.options;
    const basic = Buffer.from(`${encodeURIComponent(clientId)}:${encodeURIComponent(clientSecret.reveal())}`).toString('base64');
    let response: Response;
    try {
      response = await this.fetchImpl(tokenUrl, {
        method: 'POST',
        headers: { authorization: `Basic ${basic}`, 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ grant_type: 'client_credentials', resource }),
        signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
      });
    } catch (error) {
      throw new TokenFetchError(`token endpoint ${tokenUrl} unreachable: ${(error as Error).message}`);
    }
    const text = await response.text();
    if (text.length > MAX_TOKEN_RESPONSE_BYTES) throw new TokenFetchError('token response too large');
    let body: { access_token?: unknown; expires_in?: unknown; error?: unknown; error_description?: unknown };
    try {
      body = JSON.parse(text) as typeof body;
    } catch {
      throw new TokenFetchError(`token endpoint answered ${response.status} with a non-JSON body`);
    }
    if (!response.ok || typeof body.access_token !== 'string' || body.access_token.length === 0) {
      const reason = typeof body.error_description === 'string' ? body.error_description : typeof body.error === 'string' ? body.error : '';
      throw new TokenFetchError(`token endpoint answered ${response.status}${reason ? `: ${reason.slice(0, 200)}` : ''}`);
    }
    const lifetimeMs = (typeof body.expires_in === 'number' && body.expires_in > 0 ? body.expires_in : 300) * 1000;
    const refreshIn = Math.max(1000, Math.min(lifetimeMs - REFRESH_MARGIN_MS, lifetimeMs * 0.8));
    this.cached = { token: body.access_token, refreshAt: this.now() + refreshIn };
    return body.access_token;
  }
}
