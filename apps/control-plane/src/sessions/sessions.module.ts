import { Module } from '@nestjs/common';
import { AuditModule } from '../audit/audit.module.js';
import { SessionsController } from './sessions.controller.js';
import { SessionsService } from './sessions.service.js';
import { RecordingsService } from './recordings.service.js';

@Module({ imports: [AuditModule], providers: [SessionsService, RecordingsService], controllers: [SessionsController], exports: [SessionsService, RecordingsService] })
export class SessionsModule {}
