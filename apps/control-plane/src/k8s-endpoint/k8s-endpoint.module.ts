import { Module } from '@nestjs/common';
import { ConnectModule } from '../connect/connect.module.js';
import { IdentityModule } from '../identity/identity.module.js';
import { K8sEndpointController } from './k8s-endpoint.controller.js';
import { K8sEndpoint } from './k8s-endpoint.service.js';

@Module({ imports: [ConnectModule, IdentityModule], controllers: [K8sEndpointController], providers: [K8sEndpoint], exports: [K8sEndpoint] })
export class K8sEndpointModule {}
