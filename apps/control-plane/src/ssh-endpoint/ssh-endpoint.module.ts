import { Module } from '@nestjs/common';
import { ConnectModule } from '../connect/connect.module.js';
import { IdentityModule } from '../identity/identity.module.js';
import { SshEndpoint } from './ssh-endpoint.service.js';

@Module({ imports: [ConnectModule, IdentityModule], providers: [SshEndpoint], exports: [SshEndpoint] })
export class SshEndpointModule {}
