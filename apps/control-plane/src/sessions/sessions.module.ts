import { Module } from '@nestjs/common';
import { AuditModule } from '../audit/audit.module.js';
import { SessionsController } from './sessions.controller.js';
import { SessionsService } from './sessions.service.js';

@Module({ imports: [AuditModule], providers: [SessionsService], controllers: [SessionsController], exports: [SessionsService] })
export class SessionsModule {}
