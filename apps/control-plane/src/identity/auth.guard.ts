import { Inject, Injectable, type CanActivate, type ExecutionContext } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { Request } from 'express';
import { TokenRejectedError, TokenVerifier, readUnverifiedTokenId, buildWwwAuthenticate } from '@gw/identity';
import { DomainError, DomainErrorCode } from '../common/domain-error.js';
import { loggerFor } from '../common/logger.js';
import { AuditService } from '../audit/audit.service.js';
import { ANY_AUTHENTICATED, PUBLIC_KEY, ROLES_KEY, type AuthenticatedRequest } from './roles.decorator.js';

/**
 * Global guard: a route is public only when marked so; otherwise it needs a verified bearer token
 * and one of the roles the route declares. A route that declares nothing is refused (fail closed).
 */
@Injectable()
export class AuthGuard implements CanActivate {
  private readonly log = loggerFor(AuthGuard);

  constructor(
    @Inject(Reflector) private readonly reflector: Reflector,
    @Inject(TokenVerifier) private readonly verifier: TokenVerifier,
    @Inject(AuditService) private readonly audit: AuditService,
  ) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const targets = [context.getHandler(), context.getClass()];
    if (this.reflector.getAllAndOverride<boolean>(PUBLIC_KEY, targets)) return true;
    const roles = this.reflector.getAllAndOverride<string[] | undefined>(ROLES_KEY, targets);
    const req = context.switchToHttp().getRequest<Request & AuthenticatedRequest>();
    if (!roles || roles.length === 0) {
      this.log.error({ path: req.path }, 'route declares no roles; refusing');
      throw new DomainError(DomainErrorCode.Forbidden, 'this route has no access rule');
    }
    const token = bearerToken(req.headers.authorization);
    if (!token) {
      throw new DomainError(DomainErrorCode.Unauthenticated, 'a bearer token is required', {
        wwwAuthenticate: 'Bearer realm="gateway"',
      });
    }
    try {
      req.principal = await this.verifier.verify(token);
    } catch (error) {
      if (!(error instanceof TokenRejectedError)) throw error;
      const tokenId = readUnverifiedTokenId(token);
      this.log.warn({ tokenId, code: error.code, reason: error.reason, sourceIp: req.ip }, 'token refused');
      await this.audit.append({
        action: 'auth.token_refused',
        outcome: 'denied',
        details: { code: error.code, reason: error.reason, tokenId, sourceIp: req.ip, path: req.path },
      });
      throw new DomainError(DomainErrorCode.Unauthenticated, `token refused: ${error.reason}`, {
        reason: error.code,
        wwwAuthenticate: buildWwwAuthenticate(error),
      });
    }
    if (roles.includes(ANY_AUTHENTICATED)) return true;
    const held = req.principal.gatewayRoles;
    if (roles.some((role) => held.includes(role as never))) return true;
    throw new DomainError(DomainErrorCode.Forbidden, `requires one of the gateway roles: ${roles.join(', ')}`, {
      yourRoles: held,
    });
  }
}

function bearerToken(header: string | undefined): string | undefined {
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header ?? '');
  return match?.[1];
}
