import { Body, Controller, Get, Inject, Post, Query, Req } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiTags } from '@nestjs/swagger';
import type { Request } from 'express';
import type { Principal } from '@gw/identity';
import { ZodPipe } from '../common/zod-body.pipe.js';
import { ANY_AUTHENTICATED, CurrentPrincipal, Roles } from '../identity/roles.decorator.js';
import { approvalView } from '../approvals/approval-view.js';
import { AccessRequestsService } from './access-requests.service.js';
import { accessRequestBodySchema, accessRequestQuerySchema, type AccessRequestBody, type AccessRequestQuery } from './dto/access-request.dto.js';
import { accessRequestView, grantView } from './grant-view.js';

@ApiTags('grants')
@ApiBearerAuth()
@Controller('api/v1/access-requests')
export class AccessRequestsController {
  constructor(@Inject(AccessRequestsService) private readonly requests: AccessRequestsService) {}

  @Post()
  @Roles(ANY_AUTHENTICATED)
  @ApiOperation({ summary: 'Ask for a role on a resource for a while: policy grants at once, asks approvers, or refuses (403)' })
  async create(@Body(new ZodPipe(accessRequestBodySchema)) body: AccessRequestBody, @CurrentPrincipal() principal: Principal, @Req() req: Request) {
    const outcome = await this.requests.request(principal, body, req.ip);
    return {
      accessRequest: accessRequestView(outcome.accessRequest),
      grant: outcome.grant ? grantView(outcome.grant) : null,
      approval: outcome.approval ? approvalView(outcome.approval) : null,
    };
  }

  @Get()
  @Roles(ANY_AUTHENTICATED)
  @ApiOperation({ summary: 'Access requests, newest first; requesters see only their own' })
  async list(@Query(new ZodPipe(accessRequestQuerySchema)) q: AccessRequestQuery, @CurrentPrincipal() viewer: Principal) {
    return { items: (await this.requests.list(viewer, q)).map(accessRequestView) };
  }
}
