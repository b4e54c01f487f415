import { Module } from '@nestjs/common';
import { ApprovalsModule } from '../approvals/approvals.module.js';
import { AuditModule } from '../audit/audit.module.js';
import { PoliciesModule } from '../policies/policies.module.js';
import { ResourcesModule } from '../resources/resources.module.js';
import { SessionsModule } from '../sessions/sessions.module.js';
import { AccessRequestsController } from './access-requests.controller.js';
import { AccessRequestsService } from './access-requests.service.js';
import { GrantsController } from './grants.controller.js';
import { GrantsService } from './grants.service.js';

/** Access requests and the just-in-time grants they lead to. */
@Module({
  imports: [ApprovalsModule, AuditModule, PoliciesModule, ResourcesModule, SessionsModule],
  providers: [GrantsService, AccessRequestsService],
  controllers: [AccessRequestsController, GrantsController],
  exports: [GrantsService, AccessRequestsService],
})
export class GrantsModule {}
