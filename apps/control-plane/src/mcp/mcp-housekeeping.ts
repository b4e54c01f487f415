import { Inject, Injectable, type OnApplicationBootstrap, type OnModuleInit } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { APP_CONFIG } from '../config/config.module.js';
import type { AppConfig } from '../config/app-config.js';
import { loggerFor } from '../common/logger.js';
import { JobsService } from '../jobs/jobs.service.js';
import { IDLE_HOURS } from './mcp-sessions.store.js';

/**
 * Retention of MCP state, as a repeating job (one replica runs each round). An MCP session idle past
 * IDLE_HOURS is already refused (404); here its record in `/api/v1/sessions` is ended too. The
 * state behind ended sessions (`mcp_sessions`) and the stored results of held calls
 * (`mcp_held_calls`) go after MCP_RETENTION_DAYS; session records and their events stay, like every
 * other session's.
 */
@Injectable()
export class McpHousekeeping implements OnModuleInit, OnApplicationBootstrap {
  private readonly log = loggerFor(McpHousekeeping);

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @Inject(DataSource) private readonly dataSource: DataSource,
    @Inject(JobsService) private readonly jobs: JobsService,
  ) {}

  onModuleInit(): void {
    this.jobs.handle('mcp-housekeeping', () => this.run().then(() => undefined));
  }

  async onApplicationBootstrap(): Promise<void> {
    // Without Redis there is no schedule yet; the next replica (or restart) that reaches Redis declares it.
    await this.jobs.every('mcp-housekeeping', {}, this.config.mcp.housekeepingIntervalMs)
      .catch((err: unknown) => this.log.warn({ err }, 'could not schedule MCP housekeeping'));
  }

  async run(): Promise<{ ended: number; sessionsDeleted: number; heldCallsDeleted: number }> {
    const [, ended] = await this.dataSource.query<[unknown[], number]>(
      `WITH idle AS (
         UPDATE mcp_sessions SET ended_at = now()
         WHERE ended_at IS NULL AND last_seen_at < now() - make_interval(hours => $1)
         RETURNING id, last_seen_at)
       UPDATE sessions SET status = 'ended', end_reason = $2, ended_at = idle.last_seen_at
       FROM idle WHERE sessions.id = idle.id AND sessions.status = 'active'`,
      [IDLE_HOURS, `the MCP session expired after ${IDLE_HOURS} h without a request`],
    );
    const days = this.config.mcp.retentionDays;
    const [, sessionsDeleted] = await this.dataSource.query<[unknown[], number]>(
      `DELETE FROM mcp_sessions WHERE ended_at < now() - make_interval(days => $1)`, [days],
    );
    // A call still `held` after the retention period can no longer run (approvals expire long before).
    const [, heldCallsDeleted] = await this.dataSource.query<[unknown[], number]>(
      `DELETE FROM mcp_held_calls WHERE coalesce(finished_at, created_at) < now() - make_interval(days => $1)`, [days],
    );
    if (ended + sessionsDeleted + heldCallsDeleted > 0) this.log.info({ ended, sessionsDeleted, heldCallsDeleted }, 'MCP housekeeping');
    return { ended, sessionsDeleted, heldCallsDeleted };
  }
}
