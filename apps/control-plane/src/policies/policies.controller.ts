import { Body, Controller, Get, HttpCode, Inject, Param, Post } from '@nestjs/common';
import { ApiBearerAuth, ApiBody, ApiOperation, ApiTags } from '@nestjs/swagger';
import { z } from 'zod';
import type { Principal } from '@gw/identity';
import { policyVersionParam } from '../common/path-params.js';
import { ZodPipe } from '../common/zod-body.pipe.js';
import { CurrentPrincipal, Roles } from '../identity/roles.decorator.js';
import {
  createPolicySchema, dryRunSchema, policyVersionDto, validatePolicySchema,
  type CreatePolicyDto, type DryRunDto,
} from './dto/policy.dto.js';
import { PoliciesService } from './policies.service.js';

const schemaOf = (s: z.ZodType) => z.toJSONSchema(s, { io: 'input', unrepresentable: 'any' }) as Record<string, unknown>;

@ApiTags('policies')
@ApiBearerAuth()
@Controller('api/v1/policies')
export class PoliciesController {
  constructor(@Inject(PoliciesService) private readonly policies: PoliciesService) {}

  @Post()
  @Roles('admin')
  @ApiOperation({ summary: 'Create a new policy version (validated against the schema; refused if invalid)' })
  @ApiBody({ schema: schemaOf(createPolicySchema) })
  async create(@Body(new ZodPipe(createPolicySchema)) dto: CreatePolicyDto, @CurrentPrincipal() actor: Principal) {
    return policyVersionDto(await this.policies.createVersion(dto, actor), true);
  }

  @Post('validate')
  @HttpCode(200)
  @Roles('admin', 'auditor')
  @ApiOperation({ summary: 'Validate a policy set without storing it' })
  @ApiBody({ schema: schemaOf(validatePolicySchema) })
  validate(@Body(new ZodPipe(validatePolicySchema)) dto: { text: string }) {
    return this.policies.validate(dto.text);
  }

  @Post('dry-run')
  @HttpCode(200)
  @Roles('admin', 'auditor')
  @ApiOperation({ summary: 'Decision and determining policies for a principal, resource, action and context' })
  @ApiBody({ schema: schemaOf(dryRunSchema) })
  dryRun(@Body(new ZodPipe(dryRunSchema)) dto: DryRunDto) {
    return this.policies.dryRun(dto);
  }

  @Get()
  @Roles('admin', 'auditor')
  @ApiOperation({ summary: 'List policy versions (newest first)' })
  async list() {
    return { items: (await this.policies.list()).map((p) => policyVersionDto(p)) };
  }

  @Get('active')
  @Roles('admin', 'auditor')
  @ApiOperation({ summary: 'The active policy version, with its text' })
  async active() {
    return policyVersionDto(await this.policies.getActive(), true);
  }

  @Get(':version')
  @Roles('admin', 'auditor')
  @ApiOperation({ summary: 'One policy version, with its text' })
  async get(@Param('version', policyVersionParam) version: number) {
    return policyVersionDto(await this.policies.get(version), true);
  }

  @Post(':version/activate')
  @HttpCode(200)
  @Roles('admin')
  @ApiOperation({ summary: 'Make this version the one active version' })
  async activate(@Param('version', policyVersionParam) version: number, @CurrentPrincipal() actor: Principal) {
    return policyVersionDto(await this.policies.activate(version, actor));
  }
}
