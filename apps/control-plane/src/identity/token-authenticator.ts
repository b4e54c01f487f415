import { Inject, Injectable, type OnModuleDestroy } from '@nestjs/common';
import { TokenRejectedError, TokenVerifier, readUnverifiedTokenId, splitCredential, type Principal } from '@gw/identity';
import { AuditService, type AuditRecord } from '../audit/audit.service.js';
import { loggerFor } from '../common/logger.js';
import { APP_CONFIG } from '../config/config.module.js';
import type { AppConfig } from '../config/app-config.js';
import { RefusalAuditThrottle, type SuppressedRefusals } from './refusal-audit-throttle.js';

/** The throttle's window, and how often ended windows' summaries are written. */
const REFUSAL_WINDOW_MS = 60_000;
const SUMMARY_INTERVAL_MS = 10_000;

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
 * Beyond AUDIT_REFUSALS_PER_MINUTE refusals from one source address in a minute, the rest of that
 * minute's are audited as one `auth.refusals_suppressed` summary (see refusal-audit-throttle.ts).
 */
@Injectable()
export class TokenAuthenticator implements OnModuleDestroy {
  private readonly log = loggerFor(TokenAuthenticator);
  private readonly throttle: RefusalAuditThrottle;
  private readonly summaryTimer: NodeJS.Timeout;

  constructor(
    @Inject(TokenVerifier) private readonly verifier: TokenVerifier,
    @Inject(AuditService) private readonly audit: AuditService,
    @Inject(APP_CONFIG) config: AppConfig,
  ) {
    this.throttle = new RefusalAuditThrottle(config.identity.refusalsPerMinute, REFUSAL_WINDOW_MS);
    this.summaryTimer = setInterval(() => void this.writeSummaries(false), SUMMARY_INTERVAL_MS);
    this.summaryTimer.unref();
  }

  /** At shutdown the open windows' summaries are written too: no counted refusal is lost. */
  async onModuleDestroy(): Promise<void> {
    clearInterval(this.summaryTimer);
    await this.writeSummaries(true);
  }

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
    const action = presenter ? 'auth.attestation_refused' : 'auth.token_refused';
    if (!this.throttle.admit(sourceIp, action, { code: error.code, tokenId: tokenId ?? null, path: where.path })) {
      this.log.debug({ tokenId, code: error.code, sourceIp, path: where.path, what }, `${what} refused (counted into this source's summary)`);
      throw error;
    }
    this.log.warn({ tokenId, code: error.code, reason: error.reason, sourceIp, path: where.path, what }, `${what} refused`);
    await this.audit.append({
      action,
      outcome: 'denied',
      ...(presenter ? { actor: presenter } : {}),
      details: { code: error.code, reason: error.reason, tokenId, sourceIp, path: where.path },
    });
    throw error;
  }

  /** Audits the summaries of ended windows (of all windows with `all`); kept for the next try when the database fails. */
  private async writeSummaries(all: boolean): Promise<void> {
    const summaries = this.throttle.takeSummaries(Date.now(), all);
    for (const [i, s] of summaries.entries()) {
      try {
        await this.audit.append(summaryEvent(s));
        this.log.warn({ sourceIp: s.sourceIp, refused: s.count, codes: s.codes }, 'refused credentials from one source beyond the audit limit, audited as one summary');
      } catch (err) {
        this.log.error({ err, sourceIp: s.sourceIp, refused: s.count }, 'could not audit a summary of refused credentials; trying again later');
        this.throttle.giveBack(summaries.slice(i));
        return;
      }
    }
  }
}

function summaryEvent(s: SuppressedRefusals): AuditRecord {
  return {
    action: 'auth.refusals_suppressed',
    outcome: 'denied',
    details: {
      refusedAction: s.action,
      sourceIp: s.sourceIp,
      count: s.count,
      codes: s.codes,
      firstAt: s.firstAt.toISOString(),
      lastAt: s.lastAt.toISOString(),
      tokenIds: s.tokenIds,
      paths: s.paths,
    },
  };
}
