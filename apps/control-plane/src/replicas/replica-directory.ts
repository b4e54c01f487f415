import { Inject, Injectable } from '@nestjs/common';
import type { ReplicaAddress } from '@gw/contracts';
import { DataSource } from 'typeorm';
import { APP_CONFIG } from '../config/config.module.js';
import type { AppConfig } from '../config/app-config.js';

/** Longest an answer is reused: well under the heartbeat, so a new replica is known within a second. */
const MAX_REUSE_MS = 1000;

/**
 * The replicas agents should keep a tunnel to: those that serve clients, with a known address and
 * a fresh heartbeat. An agent connected to every one of them can be reached by a session that
 * lands on any replica, with no relay between replicas.
 *
 * Every agent asks every few seconds (bench/scale: 5,000 identical queries per replica in a minute
 * with 1,000 agents), so one answer serves all who ask within a short time; a failure is not kept.
 */
@Injectable()
export class ReplicaDirectory {
  private recent?: { at: number; answer: Promise<ReplicaAddress[]> };

  constructor(
    @Inject(DataSource) private readonly dataSource: DataSource,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  live(): Promise<ReplicaAddress[]> {
    const now = Date.now();
    const reuseMs = Math.min(MAX_REUSE_MS, this.config.replica.heartbeatMs);
    if (this.recent && now - this.recent.at < reuseMs) return this.recent.answer;
    const answer = this.query();
    const entry = { at: now, answer };
    this.recent = entry;
    answer.catch(() => {
      if (this.recent === entry) this.recent = undefined;
    });
    return answer;
  }

  private async query(): Promise<ReplicaAddress[]> {
    const rows = await this.dataSource.query<{ id: string; agent_url: string }[]>(
      `SELECT id, agent_url FROM replicas WHERE agent_url IS NOT NULL AND last_seen_at >= now() - $1::interval ORDER BY started_at`,
      [`${this.config.replica.staleAfterMs} milliseconds`],
    );
    return rows.map((r) => ({ id: r.id, url: r.agent_url }));
  }
}
