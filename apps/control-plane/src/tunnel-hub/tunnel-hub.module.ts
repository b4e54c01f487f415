import { Module } from '@nestjs/common';
import { AgentsModule } from '../agents/agents.module.js';
import { ApprovalsModule } from '../approvals/approvals.module.js';
import { AuditModule } from '../audit/audit.module.js';
import { IdentityModule } from '../identity/identity.module.js';
import { PoliciesModule } from '../policies/policies.module.js';
import { ReplicasModule } from '../replicas/replicas.module.js';
import { ResourcesModule } from '../resources/resources.module.js';
import { SessionsModule } from '../sessions/sessions.module.js';
import { McpPinsModule } from '../mcp-pins/mcp-pins.module.js';
import { AgentAuthenticator } from './agent-authenticator.js';
import { AgentHub } from './agent-hub.service.js';
import { AgentRegistry } from './agent-registry.js';
import { AgentApprovals } from './agent-approvals.service.js';
import { AgentToolPins } from './agent-tool-pins.service.js';
import { GrantSigner } from './grant-signer.service.js';
import { SessionSignals } from './session-signals.service.js';

/** Where agents dial in: authentication, the registry of connected agents, and grant signing. */
@Module({
  imports: [AgentsModule, ApprovalsModule, AuditModule, IdentityModule, McpPinsModule, PoliciesModule, ReplicasModule, ResourcesModule, SessionsModule],
  providers: [AgentHub, AgentApprovals, AgentToolPins, SessionSignals, AgentRegistry, GrantSigner, AgentAuthenticator],
  exports: [AgentRegistry, GrantSigner],
})
export class TunnelHubModule {}
