import { Body, Controller, Get, HttpCode, Inject, Post, Query } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiTags } from '@nestjs/swagger';
import { z } from 'zod';
import type { Principal } from '@gw/identity';
import { ZodPipe } from '../common/zod-body.pipe.js';
import { CurrentPrincipal, Roles } from '../identity/roles.decorator.js';
import { ToolPinsService } from './tool-pins.service.js';

const listQuerySchema = z.strictObject({
  resource: z.string().min(1).max(63).optional(),
  status: z.enum(['withheld', 'accepted', 'superseded']).optional(),
});
const acceptBodySchema = z.strictObject({
  resource: z.string().min(1).max(63),
  tool: z.string().min(1).max(256),
  hash: z.string().regex(/^[0-9a-f]{64}$/, 'the definition\'s sha256 (64 hex digits), as listed'),
});

@ApiTags('mcp')
@ApiBearerAuth()
@Controller('api/v1/mcp/tool-pins')
export class ToolPinsController {
  constructor(@Inject(ToolPinsService) private readonly pins: ToolPinsService) {}

  @Get()
  @Roles('admin', 'auditor')
  @ApiOperation({ summary: 'Tool definitions of MCP servers behind agents: accepted, withheld (new or changed, not shown to clients) or superseded' })
  async list(@Query(new ZodPipe(listQuerySchema)) q: z.infer<typeof listQuerySchema>) {
    return { items: await this.pins.list(q) };
  }

  @Post('accept')
  @HttpCode(200)
  @Roles('admin')
  @ApiOperation({ summary: 'Accept a tool definition (by hash): clients see and may call the tool again; the definition accepted before is superseded' })
  async accept(@Body(new ZodPipe(acceptBodySchema)) body: z.infer<typeof acceptBodySchema>, @CurrentPrincipal() actor: Principal) {
    return this.pins.accept(actor, body);
  }
}
