import { Controller, Get, Inject, NotFoundException, Param } from '@nestjs/common';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import { APP_CONFIG } from '../config/config.module.js';
import type { AppConfig } from '../config/app-config.js';
import { Public } from '../identity/roles.decorator.js';
import { resourceNameParam } from '../common/path-params.js';
import { ResourcesService } from '../resources/resources.service.js';
import { protectedResourceMetadata } from './protected-resource.js';

/**
 * RFC 9728 metadata of the MCP endpoints: the root form and the path form for `/mcp`, and the path
 * form for each MCP server behind an agent (`/mcp/<resource>`).
 */
@ApiTags('mcp')
@Controller('.well-known/oauth-protected-resource')
export class ProtectedResourceController {
  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @Inject(ResourcesService) private readonly resources: ResourcesService,
  ) {}

  @Get()
  @Public()
  @ApiOperation({ summary: 'OAuth protected resource metadata (RFC 9728) of the MCP endpoint' })
  root() {
    return protectedResourceMetadata(this.config);
  }

  @Get('mcp')
  @Public()
  @ApiOperation({ summary: 'OAuth protected resource metadata (RFC 9728) of /mcp' })
  mcp() {
    return protectedResourceMetadata(this.config);
  }

  @Get('mcp/:resource')
  @Public()
  @ApiOperation({ summary: 'OAuth protected resource metadata (RFC 9728) of /mcp/<resource>, an MCP server behind an agent' })
  async server(@Param('resource', resourceNameParam) resource: string) {
    // Only for a declared resource of type mcp: other names have no MCP endpoint to describe.
    const found = await this.resources.findByName(resource);
    if (found?.type !== 'mcp') throw new NotFoundException(`no MCP server named ${resource.slice(0, 63)} is behind the gateway`);
    return protectedResourceMetadata(this.config, found.name);
  }
}
