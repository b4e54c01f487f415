import { Inject, Injectable } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { DataSource, type EntityManager } from 'typeorm';
import type { Principal } from '@gw/identity';
import { AuditEventEntity } from './audit-event.entity.js';
import { checkLink, GENESIS_HASH, hashEvent, type BrokenLink } from './audit-chain.js';
import { jsonSafe } from './canonical-json.js';
import { insertRow } from '../database/insert-row.js';

export type AuditOutcome = 'success' | 'failure' | 'denied' | 'allowed' | 'pending';

export interface AuditRecord {
  action: string;
  outcome: AuditOutcome;
  actor?: Principal | { id: string; kind: string; [key: string]: unknown } | null;
  resource?: string | null;
  details?: Record<string, unknown>;
}

export interface AuditQuery {
  principal?: string;
  resource?: string;
  action?: string;
  /** Fields of the actor's verified process that must all match. */
  process?: Record<string, string>;
  from?: Date;
  to?: Date;
  beforeSeq?: string;
  limit: number;
}

export interface VerifyResult {
  ok: boolean;
  checked: number;
  headSeq: string | null;
  headHash: string | null;
  firstBroken?: BrokenLink;
}

/** Every writer serialises on this one lock, so concurrent requests and replicas extend one chain. */
const CHAIN_LOCK_KEY = 0x6777_4155; // "gwAU"

@Injectable()
export class AuditService {
  constructor(@Inject(DataSource) private readonly dataSource: DataSource) {}

  /**
   * Appends an event to the chain. Pass the caller's transaction manager so the audit event
   * commits or rolls back with the change it describes.
   */
  async append(record: AuditRecord, manager?: EntityManager): Promise<AuditEventEntity> {
    if (manager) return this.appendIn(manager, record);
    return this.dataSource.transaction((tx) => this.appendIn(tx, record));
  }

  private async appendIn(tx: EntityManager, record: AuditRecord): Promise<AuditEventEntity> {
    await tx.query('SELECT pg_advisory_xact_lock($1)', [CHAIN_LOCK_KEY]);
    const head = await tx.query<{ seq: string; hash: string }[]>('SELECT seq, hash FROM audit_events ORDER BY seq DESC LIMIT 1');
    const event = new AuditEventEntity();
    event.seq = head[0] ? (BigInt(head[0].seq) + 1n).toString() : '1';
    event.id = randomUUID();
    event.occurredAt = new Date();
    event.actorId = record.actor?.id ?? null;
    event.actor = record.actor ? jsonSafe(summariseActor(record.actor)) : null;
    event.action = record.action;
    event.resource = record.resource ?? null;
    event.outcome = record.outcome;
    event.details = jsonSafe(record.details ?? {});
    event.prevHash = head[0]?.hash ?? GENESIS_HASH;
    event.hash = hashEvent(event);
    await insertRow(tx, AuditEventEntity, event);
    return event;
  }

  async search(query: AuditQuery): Promise<AuditEventEntity[]> {
    const qb = this.dataSource.getRepository(AuditEventEntity).createQueryBuilder('e');
    if (query.principal) qb.andWhere('e.actor_id = :principal', { principal: query.principal });
    if (query.resource) qb.andWhere('e.resource = :resource', { resource: query.resource });
    if (query.action) qb.andWhere('e.action = :action', { action: query.action });
    if (query.process) qb.andWhere(`(e.actor -> 'process') @> CAST(:process AS jsonb)`, { process: JSON.stringify(query.process) });
    if (query.from) qb.andWhere('e.occurred_at >= :from', { from: query.from });
    if (query.to) qb.andWhere('e.occurred_at < :to', { to: query.to });
    if (query.beforeSeq) qb.andWhere('e.seq < :before', { before: query.beforeSeq });
    return qb.orderBy('e.seq', 'DESC').limit(query.limit).getMany();
  }

  /** Recomputes the whole chain in seq order, in batches, and names the first broken link. */
  async verify(batchSize = 2000): Promise<VerifyResult> {
    const repo = this.dataSource.getRepository(AuditEventEntity);
    let previous: { seq: bigint; hash: string } | undefined;
    let checked = 0;
    for (;;) {
      const qb = repo.createQueryBuilder('e').orderBy('e.seq', 'ASC').limit(batchSize);
      if (previous) qb.where('e.seq > :after', { after: previous.seq.toString() });
      const batch = await qb.getMany();
      for (const event of batch) {
        const reason = checkLink(event, previous);
        if (reason) {
          return { ok: false, checked, headSeq: previous?.seq.toString() ?? null, headHash: previous?.hash ?? null, firstBroken: { seq: event.seq, id: event.id, reason } };
        }
        previous = { seq: BigInt(event.seq), hash: event.hash };
        checked += 1;
      }
      if (batch.length < batchSize) break;
    }
    return { ok: true, checked, headSeq: previous?.seq.toString() ?? null, headHash: previous?.hash ?? null };
  }
}

/** The audit row keeps who acted, not the whole token-derived object. */
function summariseActor(actor: NonNullable<AuditRecord['actor']>): Record<string, unknown> {
  const a = actor as Partial<Principal> & { id: string; kind: string };
  return {
    id: a.id,
    kind: a.kind,
    issuer: a.issuer,
    tenantId: a.tenantId,
    objectId: a.objectId,
    appId: a.appId,
    displayName: a.displayName,
    tokenId: a.tokenId,
    gatewayRoles: a.gatewayRoles,
    process: a.process,
  };
}
