import { Inject, Injectable } from '@nestjs/common';
import { APP_CONFIG } from '../config/config.module.js';
import type { AppConfig } from '../config/app-config.js';
import { AuditService } from '../audit/audit.service.js';
import { ConflictError } from '../common/domain-error.js';
import { channels } from '../redis/redis.module.js';
import { RedisChannels } from '../redis/redis-channels.js';
import { killerFromPrincipal, type SessionKiller, type SessionKillMessage } from './session-kill.js';
import { randomUUID } from 'node:crypto';
import { DataSource, In } from 'typeorm';
import type { Principal } from '@gw/identity';
import { NotFoundError } from '../common/domain-error.js';
import { SessionEntity, type SessionStatus } from './session.entity.js';
import { insertRow } from '../database/insert-row.js';
import { principalSnapshot } from './principal-snapshot.js';

export interface OpenSessionInput {
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
}

export interface SessionQuery {
  principal?: string;
  resource?: string;
  /** Resource type: `postgres`, `ssh`, `mysql`, `kubernetes`, `tcp`, `mcp`. */
  type?: string;
  /** Sessions opened by the tool calls of this MCP session. */
  parent?: string;
  status?: SessionStatus;
  from?: Date;
  to?: Date;
  limit: number;
}

@Injectable()
export class SessionsService {
  constructor(
    @Inject(DataSource) private readonly dataSource: DataSource,
    @Inject(RedisChannels) private readonly redisChannels: RedisChannels,
    @Inject(AuditService) private readonly audit: AuditService,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  /**
   * Every replica hears the (sealed) kill; the one holding the session closes the client within a
   * second. Who asked is written on the session first, so it is known even if the message is lost.
   */
  async kill(id: string, actor: Principal): Promise<SessionEntity> {
    const session = await this.get(id);
    if (session.status !== 'active' && session.status !== 'opening') {
      throw new ConflictError(`session ${id} is not live (status ${session.status})`);
    }
    const by = killerFromPrincipal(actor);
    await this.recordKiller(id, by);
    session.killedBy = by;
    await this.audit.append({ action: 'session.kill', outcome: 'success', actor, resource: session.resourceName, details: { sessionId: id, killedBy: by } });
    await this.sendKill({ sessionId: id, by });
    return session;
  }

  /**
   * Ends every live session opened under a grant (revoked or expired), on whichever replica holds
   * it; `reason` is what the client is told.
   */
  async terminateUnderGrant(grantId: string, reason: string): Promise<string[]> {
    const live = await this.dataSource.getRepository(SessionEntity).find({ where: { grantId, status: In(['opening', 'active']) } });
    const by: SessionKiller = { kind: 'grant', grantId };
    for (const session of live) {
      await this.recordKiller(session.id, by);
      await this.sendKill({ sessionId: session.id, by, reason });
    }
    return live.map((s) => s.id);
  }

  /** The first killer stays: a second kill of a session already being killed does not rewrite it. */
  private async recordKiller(id: string, by: SessionKiller): Promise<void> {
    await this.dataSource.query('UPDATE sessions SET killed_by = $1 WHERE id = $2 AND killed_by IS NULL', [JSON.stringify(by), id]);
  }

  private async sendKill(message: SessionKillMessage): Promise<void> {
    await this.redisChannels.publish(channels(this.config.redis.prefix).sessionKill, JSON.stringify(message));
  }

  async open(input: OpenSessionInput): Promise<SessionEntity> {
    const p = input.principal;
    const session: SessionEntity = Object.assign(new SessionEntity(), {
      id: randomUUID(),
      principalId: p.id,
      principal: principalSnapshot(p),
      tokenId: p.tokenId ?? null,
      resourceName: input.resourceName,
      resourceType: input.resourceType,
      agentId: input.agentId,
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
    });
    await insertRow(this.dataSource.manager, SessionEntity, session);
    return session;
  }

  async markActive(id: string): Promise<void> {
    await this.dataSource.getRepository(SessionEntity).update({ id }, { status: 'active' });
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
    if (q.from) qb.andWhere('s.started_at >= :from', { from: q.from });
    if (q.to) qb.andWhere('s.started_at < :to', { to: q.to });
    return qb.orderBy('s.started_at', 'DESC').limit(q.limit).getMany();
  }
}

