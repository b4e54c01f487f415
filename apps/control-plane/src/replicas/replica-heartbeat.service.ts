import { Inject, Injectable, type BeforeApplicationShutdown, type OnApplicationBootstrap } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import type { Server as HttpServer } from 'node:http';
import { DataSource } from 'typeorm';
import { APP_CONFIG } from '../config/config.module.js';
import { servesClients, type AppConfig } from '../config/app-config.js';
import { loggerFor } from '../common/logger.js';
import { ThisReplica } from './this-replica.js';

/**
 * Keeps this replica's row in `replicas` fresh. The other replicas read it to know which sessions
 * still have a living holder (see StaleSessionSweeper). A failed beat (Postgres down) is only
 * logged: the next one tries again, and a row deleted meanwhile is written anew.
 */
@Injectable()
export class ReplicaHeartbeat implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly log = loggerFor(ReplicaHeartbeat);
  private timer: NodeJS.Timeout | undefined;

  constructor(
    @Inject(DataSource) private readonly dataSource: DataSource,
    @Inject(ThisReplica) private readonly replica: ThisReplica,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @Inject(HttpAdapterHost) private readonly http: HttpAdapterHost,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    await this.beat();
    this.timer = setInterval(() => void this.beat(), this.config.replica.heartbeatMs);
    this.timer.unref();
  }

  async beforeApplicationShutdown(): Promise<void> {
    clearInterval(this.timer);
    // Gone on purpose: the others need not wait for the heartbeat to go stale.
    await this.dataSource.query('DELETE FROM replicas WHERE id = $1', [this.replica.id]).catch((err: unknown) => {
      this.log.warn({ err }, 'could not remove this replica from the replicas table');
    });
  }

  /** Exposed for the sweeper, which must not find this replica stale after a long database outage. */
  async beat(): Promise<void> {
    try {
      await this.dataSource.query(
        `INSERT INTO replicas (id, name, agent_url, started_at, last_seen_at) VALUES ($1, $2, $3, $4, now())
           ON CONFLICT (id) DO UPDATE SET last_seen_at = now(), agent_url = EXCLUDED.agent_url`,
        [this.replica.id, this.replica.name, this.agentUrl(), this.replica.startedAt],
      );
    } catch (err) {
      this.log.warn({ err: (err as Error).message }, 'replica heartbeat failed; retried at the next beat');
    }
  }

  /**
   * Where agents reach this replica: REPLICA_AGENT_URL, else PUBLIC_URL; with HTTP_PORT 0 (tests) the
   * port the server got. None for a worker, and none before the server listens on a port 0.
   */
  private agentUrl(): string | null {
    if (!servesClients(this.config)) return null;
    if (this.config.replica.agentUrl) return this.config.replica.agentUrl;
    if (this.config.http.port !== 0) return this.config.http.publicUrl;
    const server = this.http.httpAdapter?.getHttpServer() as HttpServer | undefined;
    const address = server?.address();
    if (!address || typeof address === 'string' || !address.port) return null;
    const host = this.config.http.host === '0.0.0.0' || this.config.http.host === '::' ? '127.0.0.1' : this.config.http.host;
    return `http://${host.includes(':') ? `[${host}]` : host}:${address.port}`;
  }
}
