import { Controller, Get, Inject, Query, Req, Res } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiProduces, ApiTags } from '@nestjs/swagger';
import type { Request, Response } from 'express';
import type { Principal } from '@gw/identity';
import { ZodPipe } from '../common/zod-body.pipe.js';
import type { DomainEvent } from '../events/domain-event.js';
import { DomainEvents } from '../events/domain-events.service.js';
import { ANY_AUTHENTICATED, CurrentPrincipal, Roles } from '../identity/roles.decorator.js';
import { seesEverything } from './approver-eligibility.js';
import { approvalEventFor } from './approval-view.js';
import { streamQuerySchema, type StreamQuery } from './dto/approval.dto.js';

const HEARTBEAT_MS = 15_000;

/**
 * Server-sent events of approval changes (and the grants and requests they lead to), from every
 * replica: a workload waits for its outcome here instead of polling. There is no replay: after a
 * (re)connect, read the current state with GET /approvals/:id.
 */
@ApiTags('approvals')
@ApiBearerAuth()
@Controller('api/v1/approvals/stream')
export class ApprovalStreamController {
  constructor(@Inject(DomainEvents) private readonly events: DomainEvents) {}

  @Get()
  @Roles(ANY_AUTHENTICATED)
  @ApiProduces('text/event-stream')
  @ApiOperation({ summary: 'Live stream (text/event-stream): event name = type, id = event id; requesters get only events about themselves' })
  stream(@Query(new ZodPipe(streamQuerySchema)) q: StreamQuery, @CurrentPrincipal() viewer: Principal, @Req() req: Request, @Res() res: Response): void {
    res.status(200);
    res.setHeader('Content-Type', 'text/event-stream; charset=utf-8');
    res.setHeader('Cache-Control', 'no-cache, no-transform');
    res.setHeader('Connection', 'keep-alive');
    res.setHeader('X-Accel-Buffering', 'no');
    res.flushHeaders();
    res.write(': connected\n\n');
    const unsubscribe = this.events.subscribe((event) => {
      if (!visibleTo(event, viewer, q)) return;
      const shown = { ...event, data: approvalEventFor(event.data, viewer) };
      res.write(`id: ${event.id}\nevent: ${event.type}\ndata: ${JSON.stringify(shown)}\n\n`);
    });
    const heartbeat = setInterval(() => res.write(': heartbeat\n\n'), HEARTBEAT_MS);
    // The stream lives no longer than the token that opened it.
    const expiresInMs = viewer.expiresAt ? viewer.expiresAt * 1000 - Date.now() : undefined;
    const expiry = expiresInMs !== undefined ? setTimeout(() => res.end('event: token_expired\ndata: {}\n\n'), Math.max(0, Math.min(expiresInMs, 2 ** 31 - 1))) : undefined;
    const close = (): void => {
      unsubscribe();
      clearInterval(heartbeat);
      clearTimeout(expiry);
    };
    req.on('close', close);
    res.on('close', close);
  }
}

function visibleTo(event: DomainEvent, viewer: Principal, q: StreamQuery): boolean {
  if (q.types && !q.types.includes(event.type)) return false;
  const data = event.data as {
    approval?: { id?: string; principalId?: string };
    accessRequest?: { principalId?: string };
    grant?: { principalId?: string };
  };
  if (q.approval && data.approval?.id !== q.approval) return false;
  if (seesEverything(viewer)) return true;
  const owner = data.approval?.principalId ?? data.accessRequest?.principalId ?? data.grant?.principalId;
  return owner === viewer.id;
}
