import { randomUUID } from 'node:crypto';
import { importJWK, SignJWT, type CryptoKey, type JWK } from 'jose';
import { findDemoClient } from './clients.js';

/**
 * Signs Entra-like app tokens with the dev IdP's own signing key (the one its JWKS publishes), for
 * the flows oidc-provider does not have: federated client assertions, certificate assertions in
 * Entra's shape, managed identity endpoints. The claims are those of the client-credentials tokens.
 */
export class EntraTokenMinter {
  private constructor(
    private readonly issuer: string,
    private readonly key: CryptoKey | Uint8Array,
    private readonly kid: string,
    private readonly alg: string,
    private readonly ttlSeconds: number,
    private readonly claimsOf: (clientId: string) => Record<string, unknown> | undefined,
  ) {}

  static async create(issuer: string, signingKey: JWK, ttlSeconds: number, claimsOf: (clientId: string) => Record<string, unknown> | undefined): Promise<EntraTokenMinter> {
    if (!signingKey.kid || !signingKey.alg) throw new Error('the dev IdP signing key has no kid or alg');
    const key = await importJWK(signingKey, signingKey.alg);
    return new EntraTokenMinter(issuer, key, signingKey.kid, signingKey.alg, ttlSeconds, claimsOf);
  }

  /** An access token for a demo client and resource; undefined for an unknown client. */
  async mint(clientId: string, resource: string): Promise<{ token: string; expiresAt: number } | undefined> {
    const claims = findDemoClient(clientId) ? this.claimsOf(clientId) : undefined;
    if (claims === undefined) return undefined;
    const now = Math.floor(Date.now() / 1000);
    const expiresAt = now + this.ttlSeconds;
    const token = await new SignJWT({ ...claims, sub: claims['oid'] as string, jti: randomUUID(), client_id: clientId })
      .setProtectedHeader({ alg: this.alg, kid: this.kid, typ: 'at+jwt' })
      .setIssuer(this.issuer)
      .setAudience(resource)
      .setIssuedAt(now)
      .setNotBefore(now)
      .setExpirationTime(expiresAt)
      .sign(this.key);
    return { token, expiresAt };
  }
}
