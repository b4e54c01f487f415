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

/** How a row's hash was computed: 1 in Node over every field; 2 by `audit_append` in Postgres over the content hash. */
export type ChainVersion = 1 | 2;

/** The chain version this control plane writes (see the migration AuditAppendFunction1765500000000). */
export const CURRENT_CHAIN_VERSION: ChainVersion = 2;

type ContentFields = Omit<ChainedFields, 'seq' | 'prevHash'>;

/** What an event says, as hashed: every field but its place in the chain. */
function contentOf(event: ContentFields): Record<string, unknown> {
  return {
    id: event.id,
    occurredAt: event.occurredAt.toISOString(),
    actorId: event.actorId,
    actor: event.actor,
    action: event.action,
    resource: event.resource,
    outcome: event.outcome,
    details: event.details,
  };
}

const sha256Hex = (text: string): string => createHash('sha256').update(text).digest('hex');

/** Version 1: SHA-256 over the canonical encoding of every field of the event, including the previous hash (keys sorted, so order here is irrelevant). */
export function hashEvent(event: ChainedFields): string {
  return sha256Hex(canonicalJson({ seq: event.seq, ...contentOf(event), prevHash: event.prevHash }));
}

/** Version 2, first half: SHA-256 over the canonical encoding of what the event says (not where it sits). */
export function contentHash(event: ContentFields): string {
  return sha256Hex(canonicalJson(contentOf(event)));
}

/** Version 2, second half, as `audit_append` computes it in Postgres: the link binds content, position and predecessor. */
export function linkHash(prevHash: string, seq: string, content: string): string {
  return sha256Hex(`gw-audit-v2:${prevHash}:${seq}:${content}`);
}

/** The hash a row must carry, by the version it was written with. */
export function expectedHash(event: ChainedFields & { chainVersion: number }): string | undefined {
  if (event.chainVersion === 1) return hashEvent(event);
  if (event.chainVersion === 2) return linkHash(event.prevHash, event.seq, contentHash(event));
  return undefined;
}

export interface BrokenLink {
  seq: string;
  id: string;
  reason: 'hash_mismatch' | 'prev_hash_mismatch' | 'sequence_gap';
}

/** Checks one event against its predecessor; returns the reason it breaks the chain, if any. */
export function checkLink(
  event: ChainedFields & { hash: string; chainVersion: number },
  previous: { seq: bigint; hash: string } | undefined,
): BrokenLink['reason'] | undefined {
  const expectedSeq = previous ? previous.seq + 1n : 1n;
  if (BigInt(event.seq) !== expectedSeq) return 'sequence_gap';
  if (event.prevHash !== (previous?.hash ?? GENESIS_HASH)) return 'prev_hash_mismatch';
  if (expectedHash(event) !== event.hash) return 'hash_mismatch';
  return undefined;
}
