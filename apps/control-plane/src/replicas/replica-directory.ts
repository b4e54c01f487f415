import { Inject, Injectable } from '@nestjs/common';
import type { ReplicaAddress } from '@gw/contracts';
import { DataSource } from 'typeorm';
import { APP_CONFIG } from '../config/config.module.js';
import type { AppConfig } from '../config/app-config.js';

/**
 * The replicas agents should keep a tunnel to: those that serve clients, with a known address and
 * a fresh heartbeat. An agent connected to every one of them can be reached by a session that
 * lands on any replica, with no relay between replicas.
 */
@Injectable()
export class ReplicaDirectory {
  constructor(
    @Inject(DataSource) private readonly dataSource: DataSource,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  async live(): Promise<ReplicaAddress[]> {
    const rows = await this.dataSource.query<{ id: string; agent_url: string }[]>(
      `SELECT id, agent_url FROM replicas WHERE agent_url IS NOT NULL AND last_seen_at >= now() - $1::interval ORDER BY started_at`,
      [`${this.config.replica.staleAfterMs} milliseconds`],
    );
    return rows.map((r) => ({ id: r.id, url: r.agent_url }));
  }
}
