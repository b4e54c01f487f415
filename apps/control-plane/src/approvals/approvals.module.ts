import { Module } from '@nestjs/common';
import { AuditModule } from '../audit/audit.module.js';
import { ApprovalStreamController } from './approval-stream.controller.js';
import { ApprovalsController } from './approvals.controller.js';
import { ApprovalsService } from './approvals.service.js';

/** Approvals of every kind; the stream controller is listed first so `/stream` is not taken for an id. */
@Module({
  imports: [AuditModule],
  providers: [ApprovalsService],
  controllers: [ApprovalStreamController, ApprovalsController],
  exports: [ApprovalsService],
})
export class ApprovalsModule {}
