import { Module } from '@nestjs/common';
import { AuditModule } from '../audit/audit.module.js';
import { ConnectModule } from '../connect/connect.module.js';
import { IdentityModule } from '../identity/identity.module.js';
import { PgEndpoint } from './pg-endpoint.service.js';

@Module({ imports: [AuditModule, ConnectModule, IdentityModule], providers: [PgEndpoint], exports: [PgEndpoint] })
export class PgEndpointModule {}
