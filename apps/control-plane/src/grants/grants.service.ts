import { randomUUID } from 'node:crypto';
import { Inject, Injectable, type OnApplicationBootstrap, type OnModuleInit } from '@nestjs/common';
import { Brackets, DataSource, IsNull, type EntityManager } from 'typeorm';
import type { Principal } from '@gw/identity';
import { AuditService } from '../audit/audit.service.js';
import { ConflictError, DomainError, DomainErrorCode, NotFoundError } from '../common/domain-error.js';
import { loggerFor } from '../common/logger.js';
import { processOf } from '../common/process-of.js';
import { insertRow } from '../database/insert-row.js';
import { DomainEvents } from '../events/domain-events.service.js';
import { JobsService } from '../jobs/jobs.service.js';
import { NotDueYet } from '../jobs/job-catalogue.js';
import { SessionsService } from '../sessions/sessions.service.js';
import { seesEverything } from '../approvals/approver-eligibility.js';
import { GrantEntity, grantState } from './grant.entity.js';
import { grantView } from './grant-view.js';

export interface NewGrant {
  principal: Principal | { id: string; kind: string; [key: string]: unknown };
  resourceName: string;
  role: string;
  durationSeconds: number;
  accessRequestId: string | null;
}

/** Expiry jobs may fire a moment early; a grant this close to its end is treated as expired. */
const EXPIRY_SLACK_MS = 1000;

/**
 * Just-in-time grants: a principal may use a role on a resource from `starts_at` to `expires_at`.
 * Ending a grant (revocation or expiry) ends every live session opened under it, on any replica.
 * Expiry is enforced by a BullMQ job at `expires_at` here, by the agent's session timer and by the
 * ephemeral role's VALID UNTIL (both set from the session grant's expiry, see SessionBroker).
 */
@Injectable()
export class GrantsService implements OnModuleInit, OnApplicationBootstrap {
  private readonly log = loggerFor(GrantsService);

  constructor(
    @Inject(DataSource) private readonly dataSource: DataSource,
    @Inject(AuditService) private readonly audit: AuditService,
    @Inject(DomainEvents) private readonly events: DomainEvents,
    @Inject(JobsService) private readonly jobs: JobsService,
    @Inject(SessionsService) private readonly sessions: SessionsService,
  ) {}

  onModuleInit(): void {
    this.jobs.handle('grant-expiry', ({ grantId }) => this.expire(grantId));
    this.jobs.reconcileWith(() => this.reconcile());
  }

  async onApplicationBootstrap(): Promise<void> {
    try {
      await this.reconcile();
    } catch (err) {
      this.log.error({ err }, 'reconciling grants failed; expiry is still enforced by the agents and VALID UNTIL');
    }
  }

  /** Catch up after downtime or a lost job: process expiries that passed, (re)schedule the others (a no-op when queued). */
  async reconcile(): Promise<void> {
    const open = await this.dataSource.getRepository(GrantEntity).find({ where: { expiredAt: IsNull(), revokedAt: IsNull() } });
    for (const g of open) {
      if (g.expiresAt.getTime() <= Date.now()) await this.expire(g.id);
      else await this.jobs.schedule('grant-expiry', { grantId: g.id }, g.expiresAt);
    }
  }

  /** Inside the caller's transaction; the returned callback schedules expiry and announces it. */
  async create(input: NewGrant, manager: EntityManager): Promise<{ grant: GrantEntity; afterCommit: () => Promise<void> }> {
    const now = new Date();
    const grant = Object.assign(new GrantEntity(), {
      id: randomUUID(),
      accessRequestId: input.accessRequestId,
      principalId: input.principal.id,
      process: processOf(input.principal),
      resourceName: input.resourceName,
      role: input.role,
      startsAt: now,
      expiresAt: new Date(now.getTime() + input.durationSeconds * 1000),
      revokedAt: null,
      revokedBy: null,
      expiredAt: null,
      createdAt: now,
    });
    await insertRow(manager, GrantEntity, grant);
    await this.audit.append({
      action: 'grant.created', outcome: 'success', actor: input.principal, resource: input.resourceName,
      details: { grantId: grant.id, role: grant.role, startsAt: grant.startsAt.toISOString(), expiresAt: grant.expiresAt.toISOString(), accessRequestId: grant.accessRequestId },
    }, manager);
    return {
      grant,
      afterCommit: async () => {
        await this.jobs.schedule('grant-expiry', { grantId: grant.id }, grant.expiresAt).catch((err: unknown) => {
          this.log.error({ err, grantId: grant.id }, 'could not schedule the grant expiry; agents and VALID UNTIL still end its sessions');
        });
        await this.events.publish('grant.created', { grant: grantView(grant) });
      },
    };
  }

  /** The grant a session may open under now, if any (role null: any role of that resource). */
  findActive(principalId: string, resourceName: string, role: string | null): Promise<GrantEntity | null> {
    const qb = this.dataSource.getRepository(GrantEntity).createQueryBuilder('g')
      .where('g.principal_id = :principalId AND g.resource_name = :resourceName', { principalId, resourceName })
      .andWhere('g.revoked_at IS NULL AND g.expired_at IS NULL AND g.starts_at <= now() AND g.expires_at > now()');
    if (role !== null) qb.andWhere('g.role = :role', { role });
    return qb.orderBy('g.expires_at', 'DESC').getOne();
  }

  async stillActive(id: string): Promise<boolean> {
    const grant = await this.dataSource.getRepository(GrantEntity).findOne({ where: { id } });
    return grant !== null && grantState(grant) === 'active';
  }

  async revoke(id: string, actor: Principal): Promise<GrantEntity> {
    const grant = await this.dataSource.transaction(async (tx) => {
      const found = await tx.getRepository(GrantEntity).findOne({ where: { id }, lock: { mode: 'pessimistic_write' } });
      if (!found || (!seesEverything(actor) && found.principalId !== actor.id)) throw new NotFoundError('grant', id);
      if (found.principalId !== actor.id && !actor.gatewayRoles.some((r) => r === 'admin' || r === 'approver')) {
        throw new DomainError(DomainErrorCode.Forbidden, 'only admins, approvers and the grant holder may revoke a grant');
      }
      const state = grantState(found);
      if (state !== 'active') throw new ConflictError(`grant ${id} is already ${state}`);
      found.revokedAt = new Date();
      found.revokedBy = actor.displayName ?? actor.id;
      await tx.getRepository(GrantEntity).update({ id }, { revokedAt: found.revokedAt, revokedBy: found.revokedBy });
      await this.audit.append({ action: 'grant.revoked', outcome: 'success', actor, resource: found.resourceName, details: { grantId: id, principalId: found.principalId, role: found.role } }, tx);
      return found;
    });
    await this.endSessions(grant, `access grant ${grant.id} was revoked by ${grant.revokedBy}`);
    await this.jobs.cancel('grant-expiry', { grantId: id });
    await this.events.publish('grant.revoked', { grant: grantView(grant) });
    return grant;
  }

  /** The expiry job (and the start-up catch-up): idempotent, exactly one replica wins the update. */
  async expire(id: string): Promise<void> {
    const grant = await this.dataSource.transaction(async (tx) => {
      const found = await tx.getRepository(GrantEntity).findOne({ where: { id }, lock: { mode: 'pessimistic_write' } });
      if (!found || found.revokedAt || found.expiredAt) return undefined;
      // Early (clocks of replicas differ): the job fails and BullMQ retries it with backoff.
      if (found.expiresAt.getTime() > Date.now() + EXPIRY_SLACK_MS) throw new NotDueYet(`grant ${id}`, found.expiresAt);
      found.expiredAt = new Date();
      await tx.getRepository(GrantEntity).update({ id }, { expiredAt: found.expiredAt });
      await this.audit.append({ action: 'grant.expired', outcome: 'success', actor: { id: 'gateway', kind: 'system' }, resource: found.resourceName, details: { grantId: id, principalId: found.principalId, role: found.role, expiresAt: found.expiresAt.toISOString() } }, tx);
      return found;
    });
    if (!grant) return;
    await this.endSessions(grant, `access grant ${grant.id} expired at ${grant.expiresAt.toISOString()}`);
    await this.events.publish('grant.expired', { grant: grantView(grant) });
  }

  async get(id: string, viewer: Principal): Promise<GrantEntity> {
    const grant = await this.dataSource.getRepository(GrantEntity).findOne({ where: { id } });
    if (!grant || (!seesEverything(viewer) && grant.principalId !== viewer.id)) throw new NotFoundError('grant', id);
    return grant;
  }

  list(viewer: Principal, q: { active?: boolean; principal?: string; resource?: string; limit: number }): Promise<GrantEntity[]> {
    const qb = this.dataSource.getRepository(GrantEntity).createQueryBuilder('g');
    if (!seesEverything(viewer)) qb.andWhere('g.principal_id = :me', { me: viewer.id });
    else if (q.principal) qb.andWhere('g.principal_id = :principal', { principal: q.principal });
    if (q.resource) qb.andWhere('g.resource_name = :resource', { resource: q.resource });
    if (q.active !== undefined) {
      const active = 'g.revoked_at IS NULL AND g.expired_at IS NULL AND g.expires_at > now()';
      qb.andWhere(new Brackets((w) => (q.active ? w.where(active) : w.where(`NOT (${active})`))));
    }
    return qb.orderBy('g.created_at', 'DESC').limit(q.limit).getMany();
  }

  private async endSessions(grant: GrantEntity, reason: string): Promise<void> {
    const ended = await this.sessions.terminateUnderGrant(grant.id, reason);
    if (ended.length > 0) this.log.info({ grantId: grant.id, sessions: ended }, 'ended sessions of a grant');
  }
}
