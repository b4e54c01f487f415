import { createHash, X509Certificate, type KeyObject } from 'node:crypto';
import { decodeJwt, decodeProtectedHeader, importJWK, jwtVerify } from 'jose';
import type { WorkloadIssuer } from './workload-issuers.js';

export const JWT_BEARER_ASSERTION = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';
/** The audience Entra requires of a federated credential's token. */
export const FEDERATION_AUDIENCE = 'api://AzureADTokenExchange';
const ASSERTION_ALGS = ['RS256', 'PS256', 'ES256'];
const MAX_ASSERTION_AGE_SECONDS = 600;

export class AssertionRefused extends Error {}

interface RegisteredCertificate {
  key: KeyObject;
  sha1: string;
  sha256: string;
}

/**
 * Entra's two assertion-based client credentials, as the dev IdP checks them:
 * - a federated credential: a token of a trusted workload issuer whose (iss, sub) the client trusts,
 *   with audience `api://AzureADTokenExchange`;
 * - a certificate credential: a JWT the client signed itself (iss = sub = client id, aud = the token
 *   endpoint), with a certificate registered for it, named by `x5t#S256` or `x5t`.
 */
export class ClientAssertionVerifier {
  private readonly federated = new Map<string, { issuer: string; subject: string }[]>();
  private readonly certificates = new Map<string, RegisteredCertificate[]>();
  private readonly seenJti = new Map<string, number>();

  constructor(private readonly issuers: ReadonlyMap<string, WorkloadIssuer>) {}

  trustFederated(clientId: string, issuer: string, subject: string): void {
    this.federated.set(clientId, [...(this.federated.get(clientId) ?? []), { issuer, subject }]);
  }

  registerCertificate(clientId: string, pem: string): { sha256: string } {
    const cert = new X509Certificate(pem);
    const der = cert.raw;
    const entry = {
      key: cert.publicKey,
      sha1: createHash('sha1').update(der).digest('base64url'),
      sha256: createHash('sha256').update(der).digest('base64url'),
    };
    this.certificates.set(clientId, [...(this.certificates.get(clientId) ?? []), entry]);
    return { sha256: entry.sha256 };
  }

  /** Throws AssertionRefused with Entra-like reasons; returns normally when the client is proven. */
  async verify(clientId: string, assertion: string, tokenEndpoint: string): Promise<void> {
    let claims: ReturnType<typeof decodeJwt>;
    let header: ReturnType<typeof decodeProtectedHeader>;
    try {
      claims = decodeJwt(assertion);
      header = decodeProtectedHeader(assertion);
    } catch {
      throw new AssertionRefused('the client assertion is not a JWT');
    }
    if (claims.iss === clientId && claims.sub === clientId) return this.verifyCertificate(clientId, assertion, header, tokenEndpoint);
    return this.verifyFederated(clientId, assertion, claims.iss);
  }

  private async verifyFederated(clientId: string, assertion: string, iss: unknown): Promise<void> {
    const issuer = typeof iss === 'string' ? this.issuers.get(iss) : undefined;
    if (!issuer) throw new AssertionRefused('the assertion issuer is not a federation issuer of this IdP');
    let subject: unknown;
    try {
      const key = await importJWK(issuer.publicJwk, 'ES256');
      ({ payload: { sub: subject } } = await jwtVerify(assertion, key, { issuer: issuer.issuer, audience: FEDERATION_AUDIENCE, algorithms: ['ES256'], requiredClaims: ['exp', 'sub'] }));
    } catch (error) {
      throw new AssertionRefused(`the federated assertion is invalid: ${(error as Error).message}`);
    }
    const trusted = (this.federated.get(clientId) ?? []).some((c) => c.issuer === issuer.issuer && c.subject === subject);
    if (!trusted) throw new AssertionRefused(`no federated credential of ${clientId} matches the assertion's issuer and subject`);
  }

  private async verifyCertificate(clientId: string, assertion: string, header: ReturnType<typeof decodeProtectedHeader>, tokenEndpoint: string): Promise<void> {
    const registered = this.certificates.get(clientId) ?? [];
    const thumbprint256 = header['x5t#S256'];
    const thumbprint1 = header.x5t;
    const cert = registered.find((c) => c.sha256 === thumbprint256 || c.sha1 === thumbprint1);
    if (!cert) throw new AssertionRefused(`no certificate registered for ${clientId} matches the assertion's x5t#S256/x5t`);
    let payload;
    try {
      ({ payload } = await jwtVerify(assertion, cert.key, { issuer: clientId, subject: clientId, audience: tokenEndpoint, algorithms: ASSERTION_ALGS, requiredClaims: ['exp', 'jti'], maxTokenAge: MAX_ASSERTION_AGE_SECONDS }));
    } catch (error) {
      throw new AssertionRefused(`the certificate assertion is invalid: ${(error as Error).message}`);
    }
    this.refuseReplay(String(payload.jti), payload.exp!);
  }

  private refuseReplay(jti: string, exp: number): void {
    const now = Math.floor(Date.now() / 1000);
    for (const [id, until] of this.seenJti) if (until < now) this.seenJti.delete(id);
    if (this.seenJti.has(jti)) throw new AssertionRefused('the client assertion was already used (jti)');
    this.seenJti.set(jti, exp);
  }
}
