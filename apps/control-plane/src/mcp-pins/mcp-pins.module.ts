import { Module } from '@nestjs/common';
import { AuditModule } from '../audit/audit.module.js';
import { ToolPinsController } from './tool-pins.controller.js';
import { ToolPinsService } from './tool-pins.service.js';

/** Pinned tool definitions of MCP servers behind agents (checked by agents, accepted by admins). */
@Module({
  imports: [AuditModule],
  providers: [ToolPinsService],
  controllers: [ToolPinsController],
  exports: [ToolPinsService],
})
export class McpPinsModule {}
