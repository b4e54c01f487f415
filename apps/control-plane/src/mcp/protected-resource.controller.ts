import { Controller, Get, Inject } from '@nestjs/common';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import { APP_CONFIG } from '../config/config.module.js';
import type { AppConfig } from '../config/app-config.js';
import { Public } from '../identity/roles.decorator.js';
import { protectedResourceMetadata } from './protected-resource.js';

/** RFC 9728 metadata of the MCP endpoint, at the root form and the path form for `/mcp`. */
@ApiTags('mcp')
@Controller('.well-known/oauth-protected-resource')
export class ProtectedResourceController {
  constructor(@Inject(APP_CONFIG) private readonly config: AppConfig) {}

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
}
