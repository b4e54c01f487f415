import { Inject, Injectable, type CanActivate, type ExecutionContext } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { Request } from 'express';
import { TokenRejectedError, buildWwwAuthenticate } from '@gw/identity';
import { DomainError, DomainErrorCode } from '../common/domain-error.js';
import { loggerFor } from '../common/logger.js';
import { ATTESTATION_HEADER, TokenAuthenticator, bearerTokenOf } from './token-authenticator.js';
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
    @Inject(TokenAuthenticator) private readonly tokens: TokenAuthenticator,
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
    const token = bearerTokenOf(req.headers.authorization);
    if (!token) {
      throw new DomainError(DomainErrorCode.Unauthenticated, 'a bearer token is required', {
        wwwAuthenticate: 'Bearer realm="gateway"',
      });
    }
    try {
      const attestation = req.headers[ATTESTATION_HEADER];
      req.principal = await this.tokens.authenticate(token, { sourceIp: req.ip, path: req.path, attestation: typeof attestation === 'string' ? attestation.trim() : undefined });
    } catch (error) {
      if (!(error instanceof TokenRejectedError)) throw error;
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
