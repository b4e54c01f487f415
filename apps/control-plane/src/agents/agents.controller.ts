import { Body, Controller, Delete, Get, Inject, Param, Post } from '@nestjs/common';
import { ApiBearerAuth, ApiBody, ApiOperation, ApiTags } from '@nestjs/swagger';
import { z } from 'zod';
import type { Principal } from '@gw/identity';
import { uuidParam } from '../common/path-params.js';
import { ZodPipe } from '../common/zod-body.pipe.js';
import { CurrentPrincipal, Roles } from '../identity/roles.decorator.js';
import { AgentsService } from './agents.service.js';
import { agentDto, registerAgentSchema, type RegisterAgentDto } from './dto/agent.dto.js';

@ApiTags('agents')
@ApiBearerAuth()
@Controller('api/v1/agents')
export class AgentsController {
  constructor(@Inject(AgentsService) private readonly agents: AgentsService) {}

  @Post()
  @Roles('admin')
  @ApiOperation({ summary: 'Register an edge agent; the response holds its credential, shown only this once' })
  @ApiBody({ schema: z.toJSONSchema(registerAgentSchema, { io: 'input' }) as Record<string, unknown> })
  async register(@Body(new ZodPipe(registerAgentSchema)) dto: RegisterAgentDto, @CurrentPrincipal() actor: Principal) {
    const { agent, credential } = await this.agents.register(dto, actor);
    return { ...agentDto(agent), credential };
  }

  @Get()
  @Roles('admin', 'auditor')
  @ApiOperation({ summary: 'List agents with their status' })
  async list() {
    return { items: (await this.agents.list()).map((a) => agentDto(a)) };
  }

  @Delete(':id')
  @Roles('admin')
  @ApiOperation({ summary: 'Revoke an agent credential; its connections are closed' })
  async revoke(@Param('id', uuidParam) id: string, @CurrentPrincipal() actor: Principal) {
    return agentDto(await this.agents.revoke(id, actor));
  }
}
