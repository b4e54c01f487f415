import { createHash } from 'node:crypto';
import { canonicalJson } from './canonical-json.js';

export const GENESIS_HASH = '0'.repeat(64);

export interface ChainedFields {
  seq: string;
  id: string;
  occurredAt: Date;
  actorId: string | null;
  actor: Record<string, unknown> | null;
  action: string;
  resource: string | null;
  outcome: string;
  details: Record<string, unknown>;
  prevHash: string;
}

/** SHA-256 over the canonical encoding of every field of the event, including the previous hash. */
export function hashEvent(event: ChainedFields): string {
  const canonical = canonicalJson({
    seq: event.seq,
    id: event.id,
    occurredAt: event.occurredAt.toISOString(),
    actorId: event.actorId,
    actor: event.actor,
    action: event.action,
    resource: event.resource,
    outcome: event.outcome,
    details: event.details,
    prevHash: event.prevHash,
  });
  return createHash('sha256').update(canonical).digest('hex');
}

export interface BrokenLink {
  seq: string;
  id: string;
  reason: 'hash_mismatch' | 'prev_hash_mismatch' | 'sequence_gap';
}

/** Checks one event against its predecessor; returns the reason it breaks the chain, if any. */
export function checkLink(
  event: ChainedFields & { hash: string },
  previous: { seq: bigint; hash: string } | undefined,
): BrokenLink['reason'] | undefined {
  const expectedSeq = previous ? previous.seq + 1n : 1n;
  if (BigInt(event.seq) !== expectedSeq) return 'sequence_gap';
  if (event.prevHash !== (previous?.hash ?? GENESIS_HASH)) return 'prev_hash_mismatch';
  if (hashEvent(event) !== event.hash) return 'hash_mismatch';
  return undefined;
}
