import { Controller, Get, Header, HttpCode, Inject, Param, Post, Query } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiTags } from '@nestjs/swagger';
import type { Principal } from '@gw/identity';
import { uuidParam } from '../common/path-params.js';
import { integerText, limitText, processFilterOf } from '../common/query-fields.js';
import { ZodPipe } from '../common/zod-body.pipe.js';
import { CurrentPrincipal, Roles } from '../identity/roles.decorator.js';
import { sessionDto, sessionQuerySchema, type SessionQueryDto } from './dto/session.dto.js';
import { SessionsService } from './sessions.service.js';
import { RecordingsService } from './recordings.service.js';
import { z } from 'zod';

const eventsQuerySchema = z.strictObject({
  after: integerText(-1, Number.MAX_SAFE_INTEGER).default(-1),
  limit: limitText(1000, 500),
});

const castQuerySchema = z.strictObject({
  /** An SSH channel id (uint32 on the wire). */
  channel: integerText(1, 4_294_967_295).optional(),
});

@ApiTags('sessions')
@ApiBearerAuth()
@Controller('api/v1/sessions')
export class SessionsController {
  constructor(
    @Inject(SessionsService) private readonly sessions: SessionsService,
    @Inject(RecordingsService) private readonly recordings: RecordingsService,
  ) {}

  @Get()
  @Roles('admin', 'auditor')
  @ApiOperation({ summary: 'Sessions, newest first; filter by principal, resource, status, time and verified process fields (`process.run_id=...`)' })
  async list(@Query(new ZodPipe(sessionQuerySchema)) q: SessionQueryDto) {
    return { items: (await this.sessions.search({ ...q, process: processFilterOf(q) })).map(sessionDto) };
  }

  @Get(':id')
  @Roles('admin', 'auditor')
  @ApiOperation({ summary: 'One session with its principal, token id, source address and declared client details' })
  async get(@Param('id', uuidParam) id: string) {
    return sessionDto(await this.sessions.get(id));
  }

  @Get(':id/events')
  @Roles('admin', 'auditor')
  @ApiOperation({ summary: 'The recording: statements, decisions, row counts and (masked) sample rows, in order; page with `after=<seq>`' })
  async events(@Param('id', uuidParam) id: string, @Query(new ZodPipe(eventsQuerySchema)) q: z.infer<typeof eventsQuerySchema>) {
    const items = await this.recordings.list(id, q.after, q.limit);
    return { items, nextAfter: items.length === q.limit ? items.at(-1)?.seq : null };
  }

  @Get(':id/recording.cast')
  @Roles('admin', 'auditor')
  @Header('content-type', 'application/x-asciicast')
  @ApiOperation({ summary: 'An SSH session\'s terminal as asciicast v2 (`asciinema play`, asciinema-player): the first shell, else the first command, or `channel=<n>`' })
  async cast(@Param('id', uuidParam) id: string, @Query(new ZodPipe(castQuerySchema)) q: z.infer<typeof castQuerySchema>) {
    return this.recordings.asciicast(id, q.channel);
  }

  @Post(':id/kill')
  @HttpCode(202)
  @Roles('admin')
  @ApiOperation({ summary: "End a live session; the client's connection is closed within a second" })
  async kill(@Param('id', uuidParam) id: string, @CurrentPrincipal() actor: Principal) {
    return sessionDto(await this.sessions.kill(id, actor));
  }
}
