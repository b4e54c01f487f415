import { Module } from '@nestjs/common';
import { AuditModule } from '../audit/audit.module.js';
import { ReplicasModule } from '../replicas/replicas.module.js';
import { LiveSessions } from './live-sessions.js';
import { PendingCloses } from './pending-closes.js';
import { SessionsController } from './sessions.controller.js';
import { SessionsService } from './sessions.service.js';
import { RecordingsService } from './recordings.service.js';
import { StaleSessionSweeper } from './stale-session-sweeper.js';

@Module({
  imports: [AuditModule, ReplicasModule],
  providers: [SessionsService, RecordingsService, LiveSessions, PendingCloses, StaleSessionSweeper],
  controllers: [SessionsController],
  exports: [SessionsService, RecordingsService, LiveSessions, PendingCloses],
})
export class SessionsModule {}
