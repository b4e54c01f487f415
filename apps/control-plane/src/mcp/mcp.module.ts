import { Module } from '@nestjs/common';
import { ApprovalsModule } from '../approvals/approvals.module.js';
import { AuditModule } from '../audit/audit.module.js';
import { ConnectModule } from '../connect/connect.module.js';
import { GrantsModule } from '../grants/grants.module.js';
import { IdentityModule } from '../identity/identity.module.js';
import { PoliciesModule } from '../policies/policies.module.js';
import { ReplicasModule } from '../replicas/replicas.module.js';
import { ResourcesModule } from '../resources/resources.module.js';
import { HeldCallsStore } from './held-calls.store.js';
import { McpHousekeeping } from './mcp-housekeeping.js';
import { McpHttpHandler } from './mcp-http.handler.js';
import { McpReplicaForwarder } from './mcp-replica-forwarder.js';
import { McpRequestAuth } from './mcp-request-auth.js';
import { McpUpstreamHandler } from './mcp-upstream.handler.js';
import { McpSessionsStore } from './mcp-sessions.store.js';
import { McpToolsService } from './mcp-tools.service.js';
import { ProtectedResourceController } from './protected-resource.controller.js';

/** The MCP endpoint (`/mcp`, mounted in app.ts ahead of the JSON body parser) and its metadata. */
@Module({
  imports: [ApprovalsModule, AuditModule, ConnectModule, GrantsModule, IdentityModule, PoliciesModule, ReplicasModule, ResourcesModule],
  providers: [McpSessionsStore, HeldCallsStore, McpToolsService, McpHttpHandler, McpHousekeeping, McpRequestAuth, McpUpstreamHandler, McpReplicaForwarder],
  controllers: [ProtectedResourceController],
  exports: [McpHttpHandler, McpUpstreamHandler],
})
export class McpModule {}
