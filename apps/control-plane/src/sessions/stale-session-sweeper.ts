import { Inject, Injectable, type BeforeApplicationShutdown, type OnApplicationBootstrap } from '@nestjs/common';
import type { Principal } from '@gw/identity';
import { MAX_SESSION_SECONDS } from '@gw/tunnel';
import { DataSource } from 'typeorm';
import { AuditService } from '../audit/audit.service.js';
import { APP_CONFIG } from '../config/config.module.js';
import type { AppConfig } from '../config/app-config.js';
import { loggerFor } from '../common/logger.js';
import { ThisReplica } from '../replicas/this-replica.js';
import { LiveSessions } from './live-sessions.js';
import { PendingCloses } from './pending-closes.js';
import { parseKillMessage } from './session-kill.js';
import { SessionsService } from './sessions.service.js';

/** A session row this replica holds but no live connection backs is left alone this long (it may still be opening). */
const ORPHAN_GRACE_SECONDS = 120;
/** Past the longest session any policy allows (and a margin for clocks), a live row is surely stale. */
const OVERDUE_SECONDS = MAX_SESSION_SECONDS + 300;

interface ClosedRow {
  id: string;
  principal: Principal;
  resource_name: string;
  end_reason: string;
}

/**
 * Closes session rows that nobody will ever close, with a reason, and delivers kills that did not
 * arrive. Runs on every replica, at start and then every SESSION_SWEEP_INTERVAL_MS; each UPDATE
 * changes a row once, so two replicas sweeping together audit each session once.
 * - held by a replica whose heartbeat is stale, or an earlier life of this replica (same name);
 * - older than the longest session any policy allows (also rows from before replicas were tracked);
 * - held by this replica, with an agent, but not live here (its closing update was lost);
 * - live with a recorded killer: the kill is sent again (a lost bus message, Redis restarted).
 */
@Injectable()
export class StaleSessionSweeper implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly log = loggerFor(StaleSessionSweeper);
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;

  constructor(
    @Inject(DataSource) private readonly dataSource: DataSource,
    @Inject(AuditService) private readonly audit: AuditService,
    @Inject(SessionsService) private readonly sessions: SessionsService,
    @Inject(LiveSessions) private readonly live: LiveSessions,
    @Inject(PendingCloses) private readonly pendingCloses: PendingCloses,
    @Inject(ThisReplica) private readonly replica: ThisReplica,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  onApplicationBootstrap(): void {
    void this.sweep();
    this.timer = setInterval(() => void this.sweep(), this.config.replica.sessionSweepIntervalMs);
    this.timer.unref();
  }

  async beforeApplicationShutdown(): Promise<void> {
    clearInterval(this.timer);
    await this.running;
  }

  /** One pass; never throws (Postgres or Redis down: logged, tried again next time). */
  sweep(): Promise<void> {
    this.running ??= this.sweepOnce()
      .catch((err: unknown) => this.log.warn({ err: (err as Error).message }, 'session sweep failed; retried at the next interval'))
      .finally(() => (this.running = undefined));
    return this.running;
  }

  private async sweepOnce(): Promise<void> {
    const closed = [
      ...(await this.closeEarlierLives()),
      ...(await this.closeUnderStaleReplicas()),
      ...(await this.closeOverdue()),
      ...(await this.closeOrphans()),
    ];
    for (const row of closed) {
      this.log.warn({ sessionId: row.id, reason: row.end_reason }, 'closed a stale session');
      await this.audit.append({
        action: 'session.closed', outcome: 'failure', actor: row.principal, resource: row.resource_name,
        details: { sessionId: row.id, status: 'failed', reason: row.end_reason, closedBy: `session sweep of replica ${this.replica.name}` },
      });
    }
    await this.deliverRecordedKills();
  }

  /** This replica restarted (kill -9, crash): what its earlier lives held is gone with them. */
  private async closeEarlierLives(): Promise<ClosedRow[]> {
    return this.closeWhere(
      `s.replica_id IN (SELECT id FROM replicas WHERE name = $1 AND id <> $2 AND started_at < $3)`,
      [this.replica.name, this.replica.id, this.replica.startedAt],
      `'control plane replica ' || $1 || ' restarted; the session''s client connection was lost'`,
      `DELETE FROM replicas WHERE name = $1 AND id <> $2 AND started_at < $3`,
    );
  }

  private async closeUnderStaleReplicas(): Promise<ClosedRow[]> {
    const staleAfter = `${this.config.replica.staleAfterMs} milliseconds`;
    return this.closeWhere(
      `s.replica_id IS NOT NULL AND s.replica_id <> $2
         AND NOT EXISTS (SELECT 1 FROM replicas r WHERE r.id = s.replica_id AND r.last_seen_at >= now() - $1::interval)`,
      [staleAfter, this.replica.id],
      `'the control plane replica holding the session stopped (' ||
         coalesce((SELECT 'replica ' || r.name || ', last heartbeat ' || to_char(r.last_seen_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"') FROM replicas r WHERE r.id = s.replica_id), 'no heartbeat on record') || ')'`,
      `DELETE FROM replicas r WHERE r.last_seen_at < now() - $1::interval AND r.id <> $2`,
    );
  }

  private async closeOverdue(): Promise<ClosedRow[]> {
    return this.closeWhere(
      // Not the MCP session records (no agent, no replica): MCP sessions live on every replica and end by idleness.
      `s.started_at < now() - $1::interval AND (s.agent_id IS NOT NULL OR s.replica_id IS NOT NULL)`,
      [`${OVERDUE_SECONDS} seconds`],
      `'the session outlived the longest session the gateway allows; its control plane replica is gone'`,
    );
  }

  private async closeOrphans(): Promise<ClosedRow[]> {
    const candidates = await this.dataSource.query<{ id: string }[]>(
      `SELECT id FROM sessions WHERE replica_id = $1 AND status IN ('opening', 'active') AND agent_id IS NOT NULL AND started_at < now() - $2::interval`,
      [this.replica.id, `${ORPHAN_GRACE_SECONDS} seconds`],
    );
    const orphans = candidates.map((r) => r.id).filter((id) => !this.live.has(id) && !this.pendingCloses.has(id));
    if (orphans.length === 0) return [];
    return this.closeWhere(`s.id = ANY($1::uuid[])`, [orphans], `'the session ended but its closing update was lost'`);
  }

  private async closeWhere(condition: string, params: unknown[], reasonSql: string, cleanup?: string): Promise<ClosedRow[]> {
    return this.dataSource.transaction(async (tx) => {
      const rows = await tx.query<[ClosedRow[], number]>(
        `UPDATE sessions s SET status = 'failed', end_reason = left(${reasonSql}, 1000), ended_at = now()
          WHERE s.status IN ('opening', 'active') AND ${condition}
          RETURNING s.id, s.principal, s.resource_name, s.end_reason`,
        params,
      );
      if (cleanup) await tx.query(cleanup, params);
      return rows[0];
    });
  }

  private async deliverRecordedKills(): Promise<void> {
    const killed = await this.dataSource.query<{ id: string; killed_by: unknown }[]>(
      `SELECT id, killed_by FROM sessions WHERE status IN ('opening', 'active') AND killed_by IS NOT NULL`,
    );
    for (const row of killed) {
      const { by } = parseKillMessage(JSON.stringify({ sessionId: row.id, by: row.killed_by }));
      const delivery = await this.sessions.deliverKill({ sessionId: row.id, by });
      if (!delivery.delivered) {
        this.log.warn({ sessionId: row.id, error: delivery.error }, 'recorded kill still not deliverable');
        return;
      }
    }
  }
}
