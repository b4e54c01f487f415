import { Module } from '@nestjs/common';
import { AuditModule } from '../audit/audit.module.js';
import { ActivePolicyService } from './active-policy.service.js';
import { PoliciesController } from './policies.controller.js';
import { PoliciesService } from './policies.service.js';

@Module({
  imports: [AuditModule],
  providers: [PoliciesService, ActivePolicyService],
  controllers: [PoliciesController],
  exports: [ActivePolicyService],
})
export class PoliciesModule {}
