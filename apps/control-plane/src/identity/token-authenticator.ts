import { Inject, Injectable } from '@nestjs/common';
import { TokenRejectedError, TokenVerifier, readUnverifiedTokenId, splitCredential, type Principal } from '@gw/identity';
import { AuditService } from '../audit/audit.service.js';
import { loggerFor } from '../common/logger.js';

/** The token of an `Authorization: Bearer <token>` header, if there is one. */
export function bearerTokenOf(header: string | undefined): string | undefined {
  return /^Bearer\s+(\S+)\s*$/i.exec(header ?? '')?.[1];
}

/** The HTTP header (REST, MCP) that carries a process attestation beside the bearer token. */
export const ATTESTATION_HEADER = 'gateway-process-attestation';

export interface AuthenticationSource {
  sourceIp: string | null | undefined;
  path: string;
  /** A process attestation presented apart from the token (HTTP header); also accepted as `<token>~<attestation>`. */
  attestation?: string | undefined;
}

/**
 * Verifies a token for any endpoint (REST, connect WebSocket, Postgres wire). A refusal is logged and
 * audited by token id, never the token, and rethrown for the endpoint to answer in its own protocol.
 */
@Injectable()
export class TokenAuthenticator {
  private readonly log = loggerFor(TokenAuthenticator);

  constructor(
    @Inject(TokenVerifier) private readonly verifier: TokenVerifier,
    @Inject(AuditService) private readonly audit: AuditService,
  ) {}

  /**
   * `credential` is the bearer token, or `<token>~<attestation>` for clients with a single secret
   * field (Postgres and SSH passwords, kubeconfig tokens). With an attestation, the principal's
   * `process` comes from it; a refused attestation refuses the whole request (fail closed).
   */
  async authenticate(credential: string, where: AuthenticationSource): Promise<Principal> {
    const split = splitCredential(credential);
    if (split.attestation !== undefined && where.attestation !== undefined) {
      await this.refused(split.token, where, new TokenRejectedError('attestation_refused', 'two process attestations were presented (header and credential)'));
    }
    const attestation = split.attestation ?? where.attestation;
    let principal: Principal;
    try {
      principal = await this.verifier.verify(split.token);
    } catch (error) {
      return this.refused(split.token, where, error);
    }
    if (attestation === undefined) return principal;
    try {
      return await this.verifier.attest(principal, attestation);
    } catch (error) {
      return this.refused(attestation, where, error, principal);
    }
  }

  private async refused(token: string, where: AuthenticationSource, error: unknown, presenter?: Principal): Promise<never> {
    if (!(error instanceof TokenRejectedError)) throw error;
    const tokenId = readUnverifiedTokenId(token);
    const sourceIp = where.sourceIp ?? null;
    const what = presenter ? 'attestation' : 'token';
    this.log.warn({ tokenId, code: error.code, reason: error.reason, sourceIp, path: where.path, what }, `${what} refused`);
    await this.audit.append({
      action: presenter ? 'auth.attestation_refused' : 'auth.token_refused',
      outcome: 'denied',
      ...(presenter ? { actor: presenter } : {}),
      details: { code: error.code, reason: error.reason, tokenId, sourceIp, path: where.path },
    });
    throw error;
  }
}
