import { Controller, Get } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiTags } from '@nestjs/swagger';
import type { Principal } from '@gw/identity';
import { ANY_AUTHENTICATED, CurrentPrincipal, Roles } from './roles.decorator.js';

@ApiTags('identity')
@ApiBearerAuth()
@Controller('api/v1/whoami')
export class WhoamiController {
  @Get()
  @Roles(ANY_AUTHENTICATED)
  @ApiOperation({ summary: 'The principal the presented token proves, with its gateway roles' })
  whoami(@CurrentPrincipal() principal: Principal) {
    return principalDto(principal);
  }
}

export function principalDto(p: Principal) {
  return {
    id: p.id,
    kind: p.kind,
    issuer: p.issuer,
    tenantId: p.tenantId ?? null,
    subject: p.subject,
    objectId: p.objectId ?? null,
    appId: p.appId ?? null,
    displayName: p.displayName ?? null,
    roles: p.roles,
    groups: p.groups,
    gatewayRoles: p.gatewayRoles,
    tokenId: p.tokenId ?? null,
    /** The verified process (from the token's platform claims or a process attestation), or null. */
    process: p.process ?? null,
  };
}
