import { Inject, Injectable } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { DataSource, type EntityManager } from 'typeorm';
import type { Principal } from '@gw/identity';
import { AuditEventEntity } from './audit-event.entity.js';
import { checkLink, contentHash, CURRENT_CHAIN_VERSION, type BrokenLink } from './audit-chain.js';
import { jsonSafe } from './canonical-json.js';

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

/** Records one `audit_append` call may link: bounds the statement's size and a failed batch's blast radius. */
const MAX_BATCH = 200;

interface PendingAppend {
  record: AuditRecord;
  /** When it was asked for, which is when it happened (not when its batch got the lock). */
  at: Date;
  resolve: (event: AuditEventEntity) => void;
  reject: (err: unknown) => void;
}

@Injectable()
export class AuditService {
  /** Appends waiting for the chain lock; taken in order, many per lock holding. */
  private readonly pending: PendingAppend[] = [];
  private draining?: Promise<void>;

  constructor(@Inject(DataSource) private readonly dataSource: DataSource) {}

  /**
   * Appends an event to the chain; resolves once it is committed. Pass the caller's transaction
   * manager so the audit event commits or rolls back with the change it describes (the chain's lock is
   * then held until that transaction ends). Without one, the appends that arrive while this replica's
   * previous call is in flight go together in the next: one statement, one round trip per batch.
   */
  append(record: AuditRecord, manager?: EntityManager): Promise<AuditEventEntity> {
    if (manager) return appendBatch(manager, [{ record, at: new Date() }]).then(([event]) => event!);
    return new Promise((resolve, reject) => {
      this.pending.push({ record, at: new Date(), resolve, reject });
      this.draining ??= this.drain().finally(() => (this.draining = undefined));
    });
  }

  private async drain(): Promise<void> {
    while (this.pending.length > 0) {
      const batch = this.pending.splice(0, MAX_BATCH);
      try {
        const events = await appendBatch(this.dataSource.manager, batch);
        batch.forEach((p, i) => p.resolve(events[i]!));
      } catch (err) {
        if (batch.length === 1) batch[0]!.reject(err);
        // One bad record must not fail the others: each is tried on its own.
        else for (const p of batch) await appendBatch(this.dataSource.manager, [p]).then(([e]) => p.resolve(e!), p.reject);
      }
    }
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

type Appendable = Pick<PendingAppend, 'record' | 'at'>;

/**
 * Links a batch into the chain in one statement: Node hashes each event's content, and Postgres
 * (`audit_append`, migration AuditAppendFunction1765500000000) takes the chain's lock, reads the head,
 * links the events in order and inserts them. The lock, shared by every replica, is never held while
 * a round trip waits for an event loop: before, it was held across three, and an open under load waited
 * 88 ms (p50, bench/scale) for its audit event.
 */
async function appendBatch(manager: EntityManager, records: Appendable[]): Promise<AuditEventEntity[]> {
  const events = records.map(({ record, at }) => eventOf(record, at));
  const batch = events.map((e) => ({
    id: e.id, occurredAt: e.occurredAt.toISOString(), actorId: e.actorId, actor: e.actor, action: e.action,
    resource: e.resource, outcome: e.outcome, details: e.details, contentHash: contentHash(e),
  }));
  const linked = await manager.query<{ appended_seq: string; appended_prev_hash: string; appended_hash: string }[]>(
    'SELECT appended_seq, appended_prev_hash, appended_hash FROM audit_append($1::jsonb)',
    [JSON.stringify(batch)],
  );
  if (linked.length !== events.length) throw new Error(`audit_append linked ${linked.length} of ${events.length} events`);
  return events.map((event, i) => {
    event.seq = String(linked[i]!.appended_seq);
    event.prevHash = linked[i]!.appended_prev_hash;
    event.hash = linked[i]!.appended_hash;
    return event;
  });
}

/** The event as written; its place in the chain (seq, prevHash, hash) is filled in by appendBatch. */
function eventOf(record: AuditRecord, at: Date): AuditEventEntity {
  const event = new AuditEventEntity();
  event.id = randomUUID();
  event.occurredAt = at;
  event.actorId = record.actor?.id ?? null;
  event.actor = record.actor ? jsonSafe(summariseActor(record.actor)) : null;
  event.action = record.action;
  event.resource = record.resource ?? null;
  event.outcome = record.outcome;
  event.details = jsonSafe(record.details ?? {});
  event.chainVersion = CURRENT_CHAIN_VERSION;
  return event;
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
