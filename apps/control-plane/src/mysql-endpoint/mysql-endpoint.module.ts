import { Module } from '@nestjs/common';
import { ConnectModule } from '../connect/connect.module.js';
import { IdentityModule } from '../identity/identity.module.js';
import { MysqlEndpoint } from './mysql-endpoint.service.js';

@Module({ imports: [ConnectModule, IdentityModule], providers: [MysqlEndpoint], exports: [MysqlEndpoint] })
export class MysqlEndpointModule {}
