import { Body, Controller, Get, HttpCode, Inject, Param, Post, Query } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiTags } from '@nestjs/swagger';
import type { Principal } from '@gw/identity';
import { uuidParam } from '../common/path-params.js';
import { ZodPipe } from '../common/zod-body.pipe.js';
import { ANY_AUTHENTICATED, CurrentPrincipal, Roles } from '../identity/roles.decorator.js';
import { approvalViewFor } from './approval-view.js';
import { ApprovalsService } from './approvals.service.js';
import { approvalQuerySchema, approveBodySchema, denyBodySchema, type ApprovalQuery, type ApproveBody, type DenyBody } from './dto/approval.dto.js';

@ApiTags('approvals')
@ApiBearerAuth()
@Controller('api/v1/approvals')
export class ApprovalsController {
  constructor(@Inject(ApprovalsService) private readonly approvals: ApprovalsService) {}

  @Get()
  @Roles(ANY_AUTHENTICATED)
  @ApiOperation({ summary: 'Approvals, newest first (`status=pending` for the queue; `youMayDecide` marks those the caller may vote on); requesters see only their own' })
  async list(@Query(new ZodPipe(approvalQuerySchema)) q: ApprovalQuery, @CurrentPrincipal() viewer: Principal) {
    return { items: (await this.approvals.list(viewer, q)).map((a) => approvalViewFor(a, viewer)) };
  }

  @Get(':id')
  @Roles(ANY_AUTHENTICATED)
  @ApiOperation({ summary: 'One approval with its votes; a workload may wait on it here or on the stream' })
  async get(@Param('id', uuidParam) id: string, @CurrentPrincipal() viewer: Principal) {
    return approvalViewFor(await this.approvals.get(id, viewer), viewer);
  }

  @Post(':id/approve')
  @HttpCode(200)
  @Roles('approver', 'admin')
  @ApiOperation({ summary: 'Approve (N-of-M; never your own request). For a held statement, `scope: session` also lets later statements with the same fingerprint run in that session' })
  async approve(@Param('id', uuidParam) id: string, @Body(new ZodPipe(approveBodySchema)) body: ApproveBody, @CurrentPrincipal() voter: Principal) {
    return approvalViewFor(await this.approvals.vote(id, voter, { decision: 'approve', scope: body.scope, ...(body.comment ? { comment: body.comment } : {}) }), voter);
  }

  @Post(':id/deny')
  @HttpCode(200)
  @Roles('approver', 'admin')
  @ApiOperation({ summary: 'Deny: one eligible deny decides' })
  async deny(@Param('id', uuidParam) id: string, @Body(new ZodPipe(denyBodySchema)) body: DenyBody, @CurrentPrincipal() voter: Principal) {
    return approvalViewFor(await this.approvals.vote(id, voter, { decision: 'deny', ...(body.comment ? { comment: body.comment } : {}) }), voter);
  }
}
