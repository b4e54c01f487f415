import { Controller, Get, HttpCode, Inject, Param, ParseUUIDPipe, Post, Query } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiTags } from '@nestjs/swagger';
import type { Principal } from '@gw/identity';
import { ZodPipe } from '../common/zod-body.pipe.js';
import { CurrentPrincipal, Roles } from '../identity/roles.decorator.js';
import { sessionDto, sessionQuerySchema, type SessionQueryDto } from './dto/session.dto.js';
import { SessionsService } from './sessions.service.js';

@ApiTags('sessions')
@ApiBearerAuth()
@Controller('api/v1/sessions')
export class SessionsController {
  constructor(@Inject(SessionsService) private readonly sessions: SessionsService) {}

  @Get()
  @Roles('admin', 'auditor')
  @ApiOperation({ summary: 'Sessions, newest first; filter by principal, resource, status and time' })
  async list(@Query(new ZodPipe(sessionQuerySchema)) q: SessionQueryDto) {
    return { items: (await this.sessions.search(q)).map(sessionDto) };
  }

  @Get(':id')
  @Roles('admin', 'auditor')
  @ApiOperation({ summary: 'One session with its principal, token id, source address and declared client details' })
  async get(@Param('id', new ParseUUIDPipe()) id: string) {
    return sessionDto(await this.sessions.get(id));
  }

  @Post(':id/kill')
  @HttpCode(202)
  @Roles('admin')
  @ApiOperation({ summary: "End a live session; the client's connection is closed within a second" })
  async kill(@Param('id', new ParseUUIDPipe()) id: string, @CurrentPrincipal() actor: Principal) {
    return sessionDto(await this.sessions.kill(id, actor));
  }
}
