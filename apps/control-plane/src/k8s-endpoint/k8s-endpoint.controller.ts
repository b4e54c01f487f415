import { Controller, Get, Inject, NotFoundException } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiTags } from '@nestjs/swagger';
import { ANY_AUTHENTICATED, Roles } from '../identity/roles.decorator.js';
import { K8sEndpoint } from './k8s-endpoint.service.js';

@ApiTags('kubernetes')
@ApiBearerAuth()
@Controller('api/v1/kubernetes')
export class K8sEndpointController {
  constructor(@Inject(K8sEndpoint) private readonly endpoint: K8sEndpoint) {}

  @Get('endpoint')
  @Roles(ANY_AUTHENTICATED)
  @ApiOperation({ summary: 'The Kubernetes endpoint: server URL (clusters at <server>/k8s/<resource>) and the certificate to trust' })
  info() {
    const info = this.endpoint.endpointInfo();
    if (!info.enabled) throw new NotFoundException('the Kubernetes endpoint is not enabled (K8S_PORT=-1)');
    return { server: info.server, pathPrefix: '/k8s/', certificateAuthority: info.certificateAuthority };
  }
}
