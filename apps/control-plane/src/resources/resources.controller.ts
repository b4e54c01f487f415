import { Controller, Get, Inject, Query } from '@nestjs/common';
import { z } from 'zod';
import { ZodPipe } from '../common/zod-body.pipe.js';
import { ApiBearerAuth, ApiOperation, ApiTags } from '@nestjs/swagger';
import type { Principal } from '@gw/identity';
import { ActivePolicyService } from '../policies/active-policy.service.js';
import { ANY_AUTHENTICATED, CurrentPrincipal, Roles } from '../identity/roles.decorator.js';
import { ResourcesService } from './resources.service.js';

/** `role`: the database role or SSH login to ask about (policy may allow connect for some only). */
const resourcesQuerySchema = z.strictObject({ role: z.string().min(1).max(63).optional() });
type ResourcesQuery = z.infer<typeof resourcesQuerySchema>;

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
    summary: 'Resources declared by agents, with online status, last heartbeat and whether the caller may connect (as `role`, the database role or SSH login, when given)',
  })
  async list(@CurrentPrincipal() principal: Principal, @Query(new ZodPipe(resourcesQuerySchema)) query: ResourcesQuery) {
    const operator = principal.gatewayRoles.some((r) => r === 'admin' || r === 'auditor');
    const items = (await this.resources.listGrouped()).map(({ agents, ...view }) => {
      const access = this.policy.evaluate({
        principal,
        action: 'connect',
        resource: { name: view.name, type: view.type, environment: view.environment ?? undefined, labels: view.labels },
        // The role is the database role for Postgres and the login for SSH, as the endpoints pass them.
        ...(query.role ? { context: { dbRole: query.role, login: query.role } } : {}),
      }).effect;
      // Which agents serve what is operational detail: only operators see it.
      return { ...view, access, ...(operator ? { agents } : {}) };
    });
    return { items };
  }
}
