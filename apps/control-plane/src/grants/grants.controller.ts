import { Controller, Delete, Get, Inject, Param, Query } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiTags } from '@nestjs/swagger';
import type { Principal } from '@gw/identity';
import { uuidParam } from '../common/path-params.js';
import { ZodPipe } from '../common/zod-body.pipe.js';
import { ANY_AUTHENTICATED, CurrentPrincipal, Roles } from '../identity/roles.decorator.js';
import { grantQuerySchema, type GrantQuery } from './dto/access-request.dto.js';
import { GrantsService } from './grants.service.js';
import { grantView } from './grant-view.js';

@ApiTags('grants')
@ApiBearerAuth()
@Controller('api/v1/grants')
export class GrantsController {
  constructor(@Inject(GrantsService) private readonly grants: GrantsService) {}

  @Get()
  @Roles(ANY_AUTHENTICATED)
  @ApiOperation({ summary: 'Grants, newest first (`active=true` for the current ones); principals other than admin, approver and auditor see only their own' })
  async list(@Query(new ZodPipe(grantQuerySchema)) q: GrantQuery, @CurrentPrincipal() viewer: Principal) {
    return { items: (await this.grants.list(viewer, q)).map(grantView) };
  }

  @Get(':id')
  @Roles(ANY_AUTHENTICATED)
  @ApiOperation({ summary: 'One grant' })
  async get(@Param('id', uuidParam) id: string, @CurrentPrincipal() viewer: Principal) {
    return grantView(await this.grants.get(id, viewer));
  }

  @Delete(':id')
  @Roles(ANY_AUTHENTICATED)
  @ApiOperation({ summary: 'Revoke (admin, approver, or the holder giving it up): live sessions under the grant end within 2 s' })
  async revoke(@Param('id', uuidParam) id: string, @CurrentPrincipal() actor: Principal) {
    return grantView(await this.grants.revoke(id, actor));
  }
}
