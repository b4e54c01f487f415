import { Module } from '@nestjs/common';
import { PoliciesModule } from '../policies/policies.module.js';
import { ResourcesController } from './resources.controller.js';
import { ResourcesService } from './resources.service.js';

@Module({ imports: [PoliciesModule], providers: [ResourcesService], controllers: [ResourcesController], exports: [ResourcesService] })
export class ResourcesModule {}
