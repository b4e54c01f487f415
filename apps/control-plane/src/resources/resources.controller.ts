import { Controller, Get, Inject } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiTags } from '@nestjs/swagger';
import { ANY_AUTHENTICATED, Roles } from '../identity/roles.decorator.js';
import { ResourcesService } from './resources.service.js';

@ApiTags('resources')
@ApiBearerAuth()
@Controller('api/v1/resources')
export class ResourcesController {
  constructor(@Inject(ResourcesService) private readonly resources: ResourcesService) {}

  @Get()
  @Roles(ANY_AUTHENTICATED)
  @ApiOperation({ summary: 'Resources declared by agents, with online status and last heartbeat' })
  async list() {
    return { items: await this.resources.listGrouped() };
  }
}
