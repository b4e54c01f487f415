import type { GatewayAction, PolicyDecision } from '@gw/policy';
import { STRICTNESS } from './request-policy.js';

/** Whether the object a write names exists, as the API server answered; or why that is not known. */
export type Existence = { exists: boolean; status: number } | { error: string };

/** What the request's record keeps of the check (never the object). */
export interface ExistenceCheck {
  exists: boolean | null;
  status?: number;
  error?: string;
}

export interface WriteDecision {
  decision: PolicyDecision;
  /** The object does not exist: the request was decided as `k8s:create`. */
  decidedAsCreate: boolean;
  /** Present when the agent asked the API server whether the object exists. */
  check?: ExistenceCheck;
}

/**
 * A write that creates the object when it does not exist (`mayCreate`: a PUT, server-side apply) is
 * decided as the API server authorizes it: as the write (`k8s:update`, `k8s:patch`) when the object
 * exists, and as the write and `k8s:create` when it does not (the API server checks `create` only
 * then, inside the write). When policy decides `k8s:create` no more strictly than the write (it
 * permits both, or the write is denied anyway), the answer does not depend on the object and nothing
 * is asked: the common path. Otherwise `exists()` asks the API server; without an answer the request
 * is refused, never guessed.
 */
export async function decideWriteThatMayCreate(
  write: PolicyDecision,
  create: PolicyDecision,
  exists: () => Promise<Existence>,
  what: { request: string; action: GatewayAction },
): Promise<WriteDecision> {
  if (write.effect === 'deny' || STRICTNESS[create.effect] <= STRICTNESS[write.effect]) return { decision: write, decidedAsCreate: false };
  const found = await exists();
  const creates = `${what.request} creates the object when it does not exist, and policy decides k8s:create (${create.effect}) more strictly than ${what.action} (${write.effect})`;
  if ('error' in found) {
    return {
      decision: { ...create, effect: 'deny', determiningPolicies: [], reasons: [`${creates}; whether it exists could not be checked (${found.error}), so it is refused`] },
      decidedAsCreate: false,
      check: { exists: null, error: found.error },
    };
  }
  if (found.exists) return { decision: write, decidedAsCreate: false, check: { exists: true, status: found.status } };
  return {
    decision: { ...create, reasons: [`${creates}; it does not exist, so it is decided as k8s:create`, ...create.reasons] },
    decidedAsCreate: true,
    check: { exists: false, status: found.status },
  };
}
