import { Inject, Injectable } from '@nestjs/common';
import { TokenRejectedError, TokenVerifier, readUnverifiedTokenId, type Principal } from '@gw/identity';
import { AuditService } from '../audit/audit.service.js';
import { loggerFor } from '../common/logger.js';

/** The token of an `Authorization: Bearer <token>` header, if there is one. */
export function bearerTokenOf(header: string | undefined): string | undefined {
  return /^Bearer\s+(\S+)\s*$/i.exec(header ?? '')?.[1];
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

  async authenticate(token: string, where: { sourceIp: string | null | undefined; path: string }): Promise<Principal> {
    try {
      return await this.verifier.verify(token);
    } catch (error) {
      if (!(error instanceof TokenRejectedError)) throw error;
      const tokenId = readUnverifiedTokenId(token);
      const sourceIp = where.sourceIp ?? null;
      this.log.warn({ tokenId, code: error.code, reason: error.reason, sourceIp, path: where.path }, 'token refused');
      await this.audit.append({
        action: 'auth.token_refused',
        outcome: 'denied',
        details: { code: error.code, reason: error.reason, tokenId, sourceIp, path: where.path },
      });
      throw error;
    }
  }
}
