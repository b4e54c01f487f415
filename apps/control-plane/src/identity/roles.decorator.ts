import { SetMetadata, createParamDecorator, type ExecutionContext } from '@nestjs/common';
import type { GatewayRole, Principal } from '@gw/identity';

export const ROLES_KEY = 'gw:roles';
export const PUBLIC_KEY = 'gw:public';
export const ANY_AUTHENTICATED = 'any-authenticated';

/** Gateway roles allowed on a route. Every route declares this (or @Public); the guard fails closed otherwise. */
export const Roles = (...roles: (GatewayRole | typeof ANY_AUTHENTICATED)[]) => SetMetadata(ROLES_KEY, roles);

/** Unauthenticated routes (health, metrics, docs). */
export const Public = () => SetMetadata(PUBLIC_KEY, true);

export interface AuthenticatedRequest {
  principal?: Principal;
}

export const CurrentPrincipal = createParamDecorator((_data: unknown, ctx: ExecutionContext): Principal => {
  const principal = ctx.switchToHttp().getRequest<AuthenticatedRequest>().principal;
  if (!principal) throw new Error('CurrentPrincipal used on a route without authentication');
  return principal;
});
