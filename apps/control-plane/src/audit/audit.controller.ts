import { Controller, Get, Inject, Query } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiQuery, ApiTags } from '@nestjs/swagger';
import { ZodPipe } from '../common/zod-body.pipe.js';
import { Roles } from '../identity/roles.decorator.js';
import { AuditService } from './audit.service.js';
import { processFilterOf } from '../common/query-fields.js';
import { auditEventDto, auditQuerySchema, type AuditQueryDto } from './dto/audit-query.dto.js';

@ApiTags('audit')
@ApiBearerAuth()
@Controller('api/v1/audit')
export class AuditController {
  constructor(@Inject(AuditService) private readonly audit: AuditService) {}

  @Get('events')
  @Roles('admin', 'auditor')
  @ApiOperation({ summary: 'Search audit events (newest first); page with `before=<seq>`; filter by the actor\'s verified process (`process.run_id=...`)' })
  @ApiQuery({ name: 'principal', required: false }) @ApiQuery({ name: 'resource', required: false })
  @ApiQuery({ name: 'action', required: false }) @ApiQuery({ name: 'from', required: false })
  @ApiQuery({ name: 'to', required: false }) @ApiQuery({ name: 'before', required: false })
  @ApiQuery({ name: 'limit', required: false })
  @ApiQuery({ name: 'process.run_id', required: false, description: 'any field of the actor\'s verified process: process.repository, process.pod_uid, process.job_id ...' })
  async search(@Query(new ZodPipe(auditQuerySchema)) q: AuditQueryDto) {
    const events = await this.audit.search({ ...q, beforeSeq: q.before, process: processFilterOf(q) });
    return { items: events.map(auditEventDto), nextBefore: events.length === q.limit ? events.at(-1)?.seq : null };
  }

  @Get('verify')
  @Roles('admin', 'auditor')
  @ApiOperation({ summary: 'Recompute the hash chain and name the first broken link' })
  verify() {
    return this.audit.verify();
  }
}
