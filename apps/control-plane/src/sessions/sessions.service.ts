import { Inject, Injectable, type OnApplicationBootstrap } from '@nestjs/common';
import { APP_CONFIG } from '../config/config.module.js';
import type { AppConfig } from '../config/app-config.js';
import { AuditService } from '../audit/audit.service.js';
import { ConflictError, DomainError, DomainErrorCode } from '../common/domain-error.js';
import { loggerFor } from '../common/logger.js';
import { boundedRedis } from '../redis/bounded.js';
import { ThisReplica } from '../replicas/this-replica.js';
import { LiveSessions } from './live-sessions.js';
import { channels } from '../redis/redis.module.js';
import { RedisChannels } from '../redis/redis-channels.js';
import { describeKiller, killerFromPrincipal, parseKillMessage, type SessionKiller, type SessionKillMessage } from './session-kill.js';
import { randomUUID } from 'node:crypto';
import { DataSource, In } from 'typeorm';
import type { Principal } from '@gw/identity';
import { NotFoundError } from '../common/domain-error.js';
import { SessionEntity, type SessionStatus } from './session.entity.js';
import { insertRow } from '../database/insert-row.js';
import { principalSnapshot } from './principal-snapshot.js';

export interface OpenSessionInput {
  /** Made by the caller when it needs the id before the row is written (the broker signs with it meanwhile). */
  id?: string;
  principal: Principal;
  resourceName: string;
  resourceType: string;
  /** Chosen before the stream opens, so the agent's first recording batch is accepted. */
  agentId: string;
  role: string | null;
  sourceAddress: string | null;
  declared: Record<string, unknown>;
  /** The JIT grant the session runs under; it ends when the grant does. */
  grantId?: string | null;
  /** The MCP session whose tool call opens this one. */
  parentSessionId?: string | null;
  /** The id the client was given for the session (Postgres cancel pid, MySQL connection id). */
  clientKey?: number | null;
}

export interface SessionQuery {
  principal?: string;
  resource?: string;
  /** Resource type: `postgres`, `ssh`, `mysql`, `kubernetes`, `tcp`, `mcp`. */
  type?: string;
  /** Sessions opened by the tool calls of this MCP session. */
  parent?: string;
  status?: SessionStatus;
  /** Fields of the verified process that must all match (`{ run_id: '123' }`). */
  process?: Record<string, string>;
  from?: Date;
  to?: Date;
  limit: number;
}

@Injectable()
export class SessionsService implements OnApplicationBootstrap {
  private readonly log = loggerFor(SessionsService);

  constructor(
    @Inject(DataSource) private readonly dataSource: DataSource,
    @Inject(RedisChannels) private readonly redisChannels: RedisChannels,
    @Inject(AuditService) private readonly audit: AuditService,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @Inject(LiveSessions) private readonly live: LiveSessions,
    @Inject(ThisReplica) private readonly replica: ThisReplica,
  ) {}

  /** Kills sent by other replicas reach the sessions this one holds. */
  onApplicationBootstrap(): void {
    this.redisChannels.listen(channels(this.config.redis.prefix).sessionKill, (message) => {
      const { sessionId, by, reason } = parseKillMessage(message);
      this.live.terminate(sessionId, reason ?? `session killed by ${describeKiller(by)}`, by);
    });
  }

  /**
   * Ends the session on the replica that holds it: directly when that is this one, else through the
   * replicas' message bus. Audited as a success only once delivered; when it cannot be delivered
   * (the bus is down) the answer says so (503), the failure is audited, and the session goes on.
   */
  async kill(id: string, actor: Principal): Promise<SessionEntity> {
    const session = await this.get(id);
    if (session.status !== 'active' && session.status !== 'opening') {
      throw new ConflictError(`session ${id} is not live (status ${session.status})`);
    }
    const by = killerFromPrincipal(actor);
    const delivery = await this.deliverKill({ sessionId: id, by });
    if (!delivery.delivered) {
      await this.audit.append({ action: 'session.kill', outcome: 'failure', actor, resource: session.resourceName, details: { sessionId: id, killedBy: by, error: delivery.error } });
      throw new DomainError(DomainErrorCode.Unavailable, `session ${id} was not killed: ${delivery.error}; the session goes on, try again`);
    }
    // Recorded once on its way (not before: the sweep sends recorded kills again, and must never send
    // one this call is about to refuse); the sweep re-sends it if the bus lost the message.
    await this.recordKiller(id, by);
    session.killedBy = by;
    await this.audit.append({ action: 'session.kill', outcome: 'success', actor, resource: session.resourceName, details: { sessionId: id, killedBy: by, delivered: delivery.via } });
    return session;
  }

  /**
   * Ends every live session opened under a grant (revoked or expired), on whichever replica holds
   * it; `reason` is what the client is told. A kill that cannot be delivered now stays recorded on
   * the session, and the sweep delivers it once the bus is back (a revocation never lapses).
   */
  async terminateUnderGrant(grantId: string, reason: string): Promise<string[]> {
    const live = await this.dataSource.getRepository(SessionEntity).find({ where: { grantId, status: In(['opening', 'active']) } });
    const by: SessionKiller = { kind: 'grant', grantId };
    for (const session of live) {
      await this.recordKiller(session.id, by);
      const delivery = await this.deliverKill({ sessionId: session.id, by, reason });
      if (!delivery.delivered) this.log.warn({ sessionId: session.id, grantId, error: delivery.error }, 'grant kill not delivered yet; the session sweep sends it again');
    }
    return live.map((s) => s.id);
  }

  /** The first killer stays: a second kill of a session already being killed does not rewrite it. */
  private async recordKiller(id: string, by: SessionKiller): Promise<void> {
    await this.dataSource.query('UPDATE sessions SET killed_by = $1 WHERE id = $2 AND killed_by IS NULL', [JSON.stringify(by), id]);
  }

  /** To this replica's own session directly, else to every replica through Redis (bounded in time). */
  async deliverKill(message: SessionKillMessage): Promise<{ delivered: true; via: 'this replica' | 'message bus' } | { delivered: false; error: string }> {
    const reason = message.reason ?? `session killed by ${describeKiller(message.by)}`;
    if (this.live.terminate(message.sessionId, reason, message.by)) return { delivered: true, via: 'this replica' };
    try {
      await boundedRedis(this.redisChannels.publishNowOrNever(channels(this.config.redis.prefix).sessionKill, JSON.stringify(message)), 'sending the kill');
      return { delivered: true, via: 'message bus' };
    } catch (err) {
      return { delivered: false, error: `the replicas' message bus (Redis) is unavailable (${(err as Error).message})` };
    }
  }

  async open(input: OpenSessionInput): Promise<SessionEntity> {
    const p = input.principal;
    const session: SessionEntity = Object.assign(new SessionEntity(), {
      id: input.id ?? randomUUID(),
      principalId: p.id,
      principal: principalSnapshot(p),
      tokenId: p.tokenId ?? null,
      resourceName: input.resourceName,
      resourceType: input.resourceType,
      agentId: input.agentId,
      replicaId: this.replica.id,
      role: input.role,
      grantId: input.grantId ?? null,
      sourceAddress: input.sourceAddress,
      declared: input.declared,
      status: 'opening',
      endReason: null,
      killedBy: null,
      bytesIn: '0',
      bytesOut: '0',
      startedAt: new Date(),
      endedAt: null,
      parentSessionId: input.parentSessionId ?? null,
      clientKey: input.clientKey ?? null,
    });
    await insertRow(this.dataSource.manager, SessionEntity, session);
    return session;
  }

  /** Only from `opening`: a session that already ended (a close that overtook this) stays ended. */
  async markActive(id: string): Promise<void> {
    await this.dataSource.query(`UPDATE sessions SET status = 'active' WHERE id = $1 AND status = 'opening'`, [id]);
  }

  async close(id: string, status: Exclude<SessionStatus, 'opening' | 'active'>, reason: string, bytes: { in: number; out: number }): Promise<void> {
    await this.dataSource.getRepository(SessionEntity).update(
      { id },
      { status, endReason: reason.slice(0, 1000), endedAt: new Date(), bytesIn: String(bytes.in), bytesOut: String(bytes.out) },
    );
  }

  async get(id: string): Promise<SessionEntity> {
    const found = await this.dataSource.getRepository(SessionEntity).findOne({ where: { id } });
    if (!found) throw new NotFoundError('session', id);
    return found;
  }

  search(q: SessionQuery): Promise<SessionEntity[]> {
    const qb = this.dataSource.getRepository(SessionEntity).createQueryBuilder('s');
    if (q.principal) qb.andWhere('s.principal_id = :principal', { principal: q.principal });
    if (q.resource) qb.andWhere('s.resource_name = :resource', { resource: q.resource });
    if (q.type) qb.andWhere('s.resource_type = :type', { type: q.type });
    if (q.parent) qb.andWhere('s.parent_session_id = :parent', { parent: q.parent });
    if (q.status) qb.andWhere('s.status = :status', { status: q.status });
    if (q.process) qb.andWhere(`(s.principal -> 'process') @> CAST(:process AS jsonb)`, { process: JSON.stringify(q.process) });
    if (q.from) qb.andWhere('s.started_at >= :from', { from: q.from });
    if (q.to) qb.andWhere('s.started_at < :to', { to: q.to });
    return qb.orderBy('s.started_at', 'DESC').limit(q.limit).getMany();
  }
}

