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

/** Records one chain-lock holding may append: bounds the INSERT's size and a failed batch's blast radius. */
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
   * manager so the audit event commits or rolls back with the change it describes. Without one, the
   * appends that arrive while the chain lock is busy are written together in one transaction: the
   * lock is global (every replica extends one chain), and taking it once per event made every
   * replica's appends wait in line behind the slowest event loop holding it (measured with
   * bench/scale: most Postgres backends were waiting on it under load).
   */
  append(record: AuditRecord, manager?: EntityManager): Promise<AuditEventEntity> {
    if (manager) return this.appendIn(manager, [{ record, at: new Date() }]).then(([event]) => event!);
    return new Promise((resolve, reject) => {
      this.pending.push({ record, at: new Date(), resolve, reject });
      this.draining ??= this.drain().finally(() => (this.draining = undefined));
    });
  }

  private async drain(): Promise<void> {
    while (this.pending.length > 0) {
      const batch = this.pending.splice(0, MAX_BATCH);
      try {
        const events = await this.dataSource.transaction((tx) => this.appendIn(tx, batch));
        batch.forEach((p, i) => p.resolve(events[i]!));
      } catch (err) {
        if (batch.length === 1) batch[0]!.reject(err);
        // One bad record must not fail the others: each is tried on its own.
        else for (const p of batch) await this.dataSource.transaction((tx) => this.appendIn(tx, [p])).then(([e]) => p.resolve(e!), p.reject);
      }
    }
  }

  private async appendIn(tx: EntityManager, records: Pick<PendingAppend, 'record' | 'at'>[]): Promise<AuditEventEntity[]> {
    const head = await lockedChainHead(tx);
    let seq = head[0] ? BigInt(head[0].seq) : 0n;
    let prevHash = head[0]?.hash ?? GENESIS_HASH;
    const events = records.map(({ record, at }) => {
      seq += 1n;
      const event = eventOf(record, at, seq, prevHash);
      prevHash = event.hash;
      return event;
    });
    await insertRow(tx, AuditEventEntity, events);
    return events;
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

const LOCK_AND_HEAD = `SELECT pg_advisory_xact_lock(${CHAIN_LOCK_KEY}); SELECT seq, hash FROM audit_events ORDER BY seq DESC LIMIT 1`;

/**
 * Takes the chain lock and reads the head in one round trip: the lock is held until COMMIT, and every
 * round trip under it waits for this process's event loop while other replicas wait for the lock.
 * Two statements of one simple query: under READ COMMITTED the second takes its snapshot after the
 * first has the lock, so it sees the head the previous holder committed.
 */
async function lockedChainHead(tx: EntityManager): Promise<{ seq: string; hash: string }[]> {
  const client = (tx.queryRunner as unknown as { databaseConnection?: { query(text: string): Promise<unknown> } } | undefined)?.databaseConnection;
  if (!client) {
    await tx.query('SELECT pg_advisory_xact_lock($1)', [CHAIN_LOCK_KEY]);
    return tx.query('SELECT seq, hash FROM audit_events ORDER BY seq DESC LIMIT 1');
  }
  const results = (await client.query(LOCK_AND_HEAD)) as { rows: { seq: string; hash: string }[] }[];
  return results[1]!.rows;
}

function eventOf(record: AuditRecord, at: Date, seq: bigint, prevHash: string): AuditEventEntity {
  const event = new AuditEventEntity();
  event.seq = seq.toString();
  event.id = randomUUID();
  event.occurredAt = at;
  event.actorId = record.actor?.id ?? null;
  event.actor = record.actor ? jsonSafe(summariseActor(record.actor)) : null;
  event.action = record.action;
  event.resource = record.resource ?? null;
  event.outcome = record.outcome;
  event.details = jsonSafe(record.details ?? {});
  event.prevHash = prevHash;
  event.hash = hashEvent(event);
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
