import { createRemoteJWKSet, customFetch, errors, type JWTVerifyGetKey } from 'jose';
import { TokenRejectedError } from './errors.js';
import { boundedFetchForJose, fetchJson } from './http.js';
import { isAcceptableUrl, TENANT_PLACEHOLDER, type IssuerConfig } from './issuer-config.js';

export interface KeyResolverOptions {
  /** Minimum time between JWKS refetches caused by an unknown `kid`. */
  jwksCooldownMs: number;
  /** How long fetched keys are used before a refetch regardless of `kid`. */
  jwksCacheMaxAgeMs: number;
  /** How long a discovery document is reused. */
  discoveryTtlMs: number;
  /** After a failed discovery, requests fail fast for this long instead of hammering the IdP. */
  discoveryRetryMs: number;
  httpTimeoutMs: number;
  maxResponseBytes: number;
}

export const DEFAULT_KEY_RESOLVER_OPTIONS: KeyResolverOptions = {
  jwksCooldownMs: 60_000,
  jwksCacheMaxAgeMs: 10 * 60_000,
  discoveryTtlMs: 60 * 60_000,
  discoveryRetryMs: 10_000,
  httpTimeoutMs: 5_000,
  maxResponseBytes: 256 * 1024,
};

interface DiscoveryState {
  jwksUri?: string;
  jwks?: JWTVerifyGetKey;
  fetchedAt?: number;
  failedAt?: number;
  pending?: Promise<JWTVerifyGetKey>;
}

/**
 * Signing keys for one trusted issuer entry: an explicit JWKS URI, or the `jwks_uri` of its OIDC discovery
 * document. Keys and documents are cached; every network failure becomes `discovery_failed` (fail closed).
 */
export class IssuerKeyResolver {
  private readonly state: DiscoveryState = {};

  constructor(
    private readonly config: IssuerConfig,
    private readonly options: KeyResolverOptions,
  ) {}

  /** The key function handed to jose's jwtVerify. */
  readonly getKey: JWTVerifyGetKey = async (header, token) => {
    const jwks = await this.currentJwks();
    try {
      return await jwks(header, token);
    } catch (error) {
      if (error instanceof errors.JWKSNoMatchingKey || error instanceof errors.JWKSMultipleMatchingKeys) throw error;
      throw new TokenRejectedError('discovery_failed', `signing keys of ${this.config.issuer} could not be fetched`, { cause: error });
    }
  };

  private async currentJwks(): Promise<JWTVerifyGetKey> {
    const state = this.state;
    const now = Date.now();
    if (this.config.jwksUri !== undefined) {
      state.jwks ??= this.createJwks(this.config.jwksUri);
      return state.jwks;
    }
    const fresh = state.jwks !== undefined && state.fetchedAt !== undefined && now - state.fetchedAt < this.options.discoveryTtlMs;
    if (fresh && state.jwks) return state.jwks;
    if (state.failedAt !== undefined && now - state.failedAt < this.options.discoveryRetryMs && state.jwks === undefined) {
      throw new TokenRejectedError('discovery_failed', `discovery of ${this.config.issuer} failed recently; retrying later`);
    }
    state.pending ??= this.discover().finally(() => {
      state.pending = undefined;
    });
    try {
      return await state.pending;
    } catch (error) {
      // A stale but previously valid key set is better than refusing everyone while the IdP blips.
      if (state.jwks) return state.jwks;
      throw error;
    }
  }

  private discoveryUrl(): string {
    const base = this.config.issuer.replace(TENANT_PLACEHOLDER, 'organizations').replace(/\/$/, '');
    return `${base}/.well-known/openid-configuration`;
  }

  private async discover(): Promise<JWTVerifyGetKey> {
    const url = this.discoveryUrl();
    try {
      const document = await fetchJson(url, { timeoutMs: this.options.httpTimeoutMs, maxBytes: this.options.maxResponseBytes });
      if (typeof document !== 'object' || document === null) throw new Error('discovery document is not an object');
      const { issuer, jwks_uri: jwksUri } = document as Record<string, unknown>;
      // OIDC Discovery §4.3: the document must name the issuer it was fetched for (for Entra's
      // `organizations` document that is the template itself).
      if (issuer !== this.config.issuer) throw new Error('discovery document names a different issuer');
      if (typeof jwksUri !== 'string' || !isAcceptableUrl(jwksUri)) throw new Error('discovery document has no acceptable jwks_uri');
      const state = this.state;
      if (state.jwksUri !== jwksUri || state.jwks === undefined) {
        state.jwksUri = jwksUri;
        state.jwks = this.createJwks(jwksUri);
      }
      state.fetchedAt = Date.now();
      state.failedAt = undefined;
      return state.jwks;
    } catch (error) {
      this.state.failedAt = Date.now();
      throw new TokenRejectedError('discovery_failed', `OIDC discovery of ${this.config.issuer} failed`, { cause: error });
    }
  }

  private createJwks(uri: string): JWTVerifyGetKey {
    return createRemoteJWKSet(new URL(uri), {
      cooldownDuration: this.options.jwksCooldownMs,
      cacheMaxAge: this.options.jwksCacheMaxAgeMs,
      timeoutDuration: this.options.httpTimeoutMs,
      [customFetch]: boundedFetchForJose(this.options.maxResponseBytes, this.options.httpTimeoutMs),
    });
  }
}
