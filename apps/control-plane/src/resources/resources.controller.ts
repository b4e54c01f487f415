import { Controller, Get, Inject } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiTags } from '@nestjs/swagger';
import type { Principal } from '@gw/identity';
import { ActivePolicyService } from '../policies/active-policy.service.js';
import { ANY_AUTHENTICATED, CurrentPrincipal, Roles } from '../identity/roles.decorator.js';
import { ResourcesService } from './resources.service.js';

@ApiTags('resources')
@ApiBearerAuth()
@Controller('api/v1/resources')
export class ResourcesController {
  constructor(
    @Inject(ResourcesService) private readonly resources: ResourcesService,
    @Inject(ActivePolicyService) private readonly policy: ActivePolicyService,
  ) {}

  @Get()
  @Roles(ANY_AUTHENTICATED)
  @ApiOperation({
    summary: 'Resources declared by agents, with online status, last heartbeat and whether the caller may connect',
  })
  async list(@CurrentPrincipal() principal: Principal) {
    const operator = principal.gatewayRoles.some((r) => r === 'admin' || r === 'auditor');
    const items = (await this.resources.listGrouped()).map(({ agents, ...view }) => {
      const access = this.policy.evaluate({
        principal,
        action: 'connect',
        resource: { name: view.name, type: view.type, environment: view.environment ?? undefined, labels: view.labels },
      }).effect;
      // Which agents serve what is operational detail: only operators see it.
      return { ...view, access, ...(operator ? { agents } : {}) };
    });
    return { items };
  }
}
