import { Body, Controller, Delete, Get, HttpCode, Inject, Param, Post, Query } from '@nestjs/common';
import { ApiBearerAuth, ApiBody, ApiOperation, ApiQuery, ApiTags } from '@nestjs/swagger';
import { z } from 'zod';
import type { Principal } from '@gw/identity';
import { uuidParam } from '../common/path-params.js';
import { ZodPipe } from '../common/zod-body.pipe.js';
import { CurrentPrincipal, Roles } from '../identity/roles.decorator.js';
import { DeliveriesService } from './deliveries.service.js';
import { WebhooksService } from './webhooks.service.js';
import {
  createWebhookSchema, deliveryDto, listDeliveriesSchema, listWebhooksSchema, webhookDto,
  type CreateWebhookDto, type ListDeliveriesDto,
} from './dto/webhook.dto.js';

@ApiTags('webhooks')
@ApiBearerAuth()
@Controller('api/v1/webhooks')
export class WebhooksController {
  constructor(
    @Inject(WebhooksService) private readonly webhooks: WebhooksService,
    @Inject(DeliveriesService) private readonly deliveries: DeliveriesService,
  ) {}

  @Post()
  @Roles('admin')
  @ApiOperation({ summary: 'Subscribe a URL to events; the answer holds the full URL and the signing secret, shown only this once' })
  @ApiBody({ schema: z.toJSONSchema(createWebhookSchema, { io: 'input' }) as Record<string, unknown> })
  async create(@Body(new ZodPipe(createWebhookSchema)) dto: CreateWebhookDto, @CurrentPrincipal() actor: Principal) {
    const { subscription, secret } = await this.webhooks.create(dto, actor);
    return { ...webhookDto(subscription), url: subscription.url, secret };
  }

  @Get()
  @Roles('admin', 'auditor')
  @ApiOperation({ summary: 'Subscriptions, newest first (`includeDeleted=true` adds deleted ones)' })
  @ApiQuery({ name: 'includeDeleted', required: false, enum: ['true', 'false'] })
  async list(@Query(new ZodPipe(listWebhooksSchema)) q: z.infer<typeof listWebhooksSchema>) {
    return { items: (await this.webhooks.list(q.includeDeleted)).map(webhookDto) };
  }

  // Declared before `:id`, which would otherwise take "deliveries" for an id.
  @Get('deliveries')
  @Roles('admin', 'auditor')
  @ApiOperation({ summary: 'Deliveries of all subscriptions, newest first; `status=dead` is the whole dead-letter list' })
  @ApiQuery({ name: 'status', required: false, enum: ['pending', 'delivered', 'dead', 'cancelled'] })
  @ApiQuery({ name: 'before', required: false, description: 'ISO date-time; deliveries created before it' })
  @ApiQuery({ name: 'limit', required: false })
  async listAllDeliveries(@Query(new ZodPipe(listDeliveriesSchema)) q: ListDeliveriesDto) {
    return { items: (await this.deliveries.list(undefined, q)).map(deliveryDto) };
  }

  @Get(':id')
  @Roles('admin', 'auditor')
  @ApiOperation({ summary: 'One subscription (never its secret)' })
  async get(@Param('id', uuidParam) id: string) {
    return webhookDto(await this.webhooks.get(id));
  }

  @Delete(':id')
  @Roles('admin')
  @ApiOperation({ summary: 'Delete a subscription: nothing more is sent, pending deliveries are cancelled, history stays' })
  async remove(@Param('id', uuidParam) id: string, @CurrentPrincipal() actor: Principal) {
    return webhookDto(await this.webhooks.remove(id, actor));
  }

  @Get(':id/deliveries')
  @Roles('admin', 'auditor')
  @ApiOperation({ summary: 'Deliveries, newest first; `status=dead` is the dead-letter list; page with `before=<createdAt>`' })
  @ApiQuery({ name: 'status', required: false, enum: ['pending', 'delivered', 'dead', 'cancelled'] })
  @ApiQuery({ name: 'before', required: false, description: 'ISO date-time; deliveries created before it' })
  @ApiQuery({ name: 'limit', required: false })
  async listDeliveries(@Param('id', uuidParam) id: string, @Query(new ZodPipe(listDeliveriesSchema)) q: ListDeliveriesDto) {
    return { items: (await this.deliveries.list(id, q)).map(deliveryDto) };
  }

  @Post(':id/test')
  @HttpCode(202)
  @Roles('admin')
  @ApiOperation({ summary: 'Queue a signed `webhook.ping` delivery to this subscription' })
  async test(@Param('id', uuidParam) id: string, @CurrentPrincipal() actor: Principal) {
    return deliveryDto(await this.deliveries.ping(id, actor));
  }

  @Post('deliveries/:id/redeliver')
  @HttpCode(202)
  @Roles('admin')
  @ApiOperation({ summary: 'Send a dead (or delivered) delivery again, with a fresh set of attempts and the same delivery id' })
  async redeliver(@Param('id', uuidParam) id: string, @CurrentPrincipal() actor: Principal) {
    return deliveryDto(await this.deliveries.redeliver(id, actor));
  }
}
