import { Module } from '@nestjs/common';
import { ApprovalsModule } from '../approvals/approvals.module.js';
import { AuditModule } from '../audit/audit.module.js';
import { GrantsModule } from '../grants/grants.module.js';
import { IdentityModule } from '../identity/identity.module.js';
import { PoliciesModule } from '../policies/policies.module.js';
import { ResourcesModule } from '../resources/resources.module.js';
import { SessionsModule } from '../sessions/sessions.module.js';
import { TunnelHubModule } from '../tunnel-hub/tunnel-hub.module.js';
import { ConnectGateway } from './connect-gateway.service.js';
import { SessionBroker } from './session-broker.service.js';

/** Client sessions: the broker (protocol-independent) and the raw-bytes WebSocket endpoint of `gw connect`. */
@Module({
  imports: [ApprovalsModule, AuditModule, GrantsModule, IdentityModule, PoliciesModule, ResourcesModule, SessionsModule, TunnelHubModule],
  providers: [SessionBroker, ConnectGateway],
  exports: [SessionBroker],
})
export class ConnectModule {}
