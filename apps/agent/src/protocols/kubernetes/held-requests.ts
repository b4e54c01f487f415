import { createHash } from 'node:crypto';
import type { ServerResponse } from 'node:http';
import type { PolicyDecision } from '@gw/policy';
import { sendStatus } from './k8s-status.js';
import type { RequestAttributes } from './request-attributes.js';
import { describeTarget } from './request-policy.js';
import type { K8sSession } from './kubernetes-handler.js';

/** How long an approved request waits for its client to send it again before the approval lapses. */
export const APPROVED_REQUEST_TTL_MS = 15 * 60 * 1000;
const MAX_HELD = 1000;

export interface HeldRequest {
  method: string;
  url: string;
  body: Buffer | undefined;
  attrs: RequestAttributes;
  decision: PolicyDecision;
  res: ServerResponse;
}

export type HoldOutcome =
  | { kind: 'answered'; approvalId?: string; status: number; bytes: number }
  | { kind: 'run'; approvalId: string };

interface Entry {
  approvalId?: string;
  state: 'pending' | 'approved';
  expiresAt: number;
}

/**
 * Requests that policy holds for approval (`require_approval`). A plain HTTP request cannot wait
 * minutes for a human (clients time out, kubectl prints nothing meanwhile), so the client is
 * answered at once with a 403 Status naming the approval; once approved, the same principal sends
 * the same request again (same method, path, query and body) and it runs, once. Entries live in the
 * agent only: an agent restart forgets approvals not yet used (the request is then held again).
 */
export class HeldRequests {
  private readonly entries = new Map<string, Entry>();

  private keyOf(session: K8sSession, held: HeldRequest): string {
    const hash = createHash('sha256').update(held.method).update('\0').update(held.url).update('\0');
    if (held.body) hash.update(held.body);
    return `${session.principal.id}\n${session.resource.name}\n${hash.digest('hex')}`;
  }

  async decide(session: K8sSession, held: HeldRequest): Promise<HoldOutcome> {
    const now = Date.now();
    for (const [key, entry] of this.entries) if (entry.expiresAt < now) this.entries.delete(key);
    const key = this.keyOf(session, held);
    const target = describeTarget(held.attrs);
    const existing = this.entries.get(key);
    if (existing?.state === 'approved' && existing.approvalId) {
      this.entries.delete(key);
      return { kind: 'run', approvalId: existing.approvalId };
    }
    if (existing?.state === 'pending') {
      const bytes = sendStatus(held.res, 403, 'Forbidden', `${target} is still held for approval ${existing.approvalId ?? ''}: send the same request again once it is approved`);
      return { kind: 'answered', ...(existing.approvalId ? { approvalId: existing.approvalId } : {}), status: 403, bytes };
    }
    if (!session.holdRequest || this.entries.size >= MAX_HELD) {
      const bytes = sendStatus(held.res, 403, 'Forbidden', `${target} needs an approval (${held.decision.reasons.join('; ')}), which this agent cannot ask for now`);
      return { kind: 'answered', status: 403, bytes };
    }
    const entry: Entry = { state: 'pending', expiresAt: now + APPROVED_REQUEST_TTL_MS };
    this.entries.set(key, entry);
    const subject = {
      request: `${held.method} ${held.attrs.path}`,
      verb: held.attrs.verb,
      ...(held.attrs.isResourceRequest ? { resource: held.attrs.resource, namespace: held.attrs.namespace ?? null, name: held.attrs.name ?? null, subresource: held.attrs.subresource ?? null } : {}),
      cluster: session.resource.name,
    };
    const requested = new Promise<{ approvalId: string; expiresAt: Date; approveUrl: string } | undefined>((resolve) => {
      const waiting = session.holdRequest!(subject, held.decision.obligations.approval, {
        detail: { request: `${held.method} ${held.url}`, ...(held.body && held.body.length <= 64 * 1024 ? { body: held.body.toString('utf8') } : {}) },
        onRequested: (info) => resolve(info),
      });
      waiting.then(
        (outcome) => {
          resolve(undefined);
          if (outcome.status === 'approved') {
            entry.state = 'approved';
            entry.approvalId = outcome.approvalId;
            entry.expiresAt = Date.now() + APPROVED_REQUEST_TTL_MS;
          } else this.entries.delete(key);
        },
        () => {
          resolve(undefined);
          this.entries.delete(key);
        },
      );
    });
    const info = await requested;
    if (!info) {
      this.entries.delete(key);
      const bytes = sendStatus(held.res, 403, 'Forbidden', `${target} needs an approval (${held.decision.reasons.join('; ')}), and none could be requested`);
      return { kind: 'answered', status: 403, bytes };
    }
    entry.approvalId = info.approvalId;
    entry.expiresAt = Math.max(entry.expiresAt, info.expiresAt.getTime() + APPROVED_REQUEST_TTL_MS);
    const bytes = sendStatus(
      held.res,
      403,
      'Forbidden',
      `${target} is held for approval ${info.approvalId} until ${info.expiresAt.toISOString()} (${held.decision.reasons.join('; ')}); ` +
        `an approver runs it with POST ${info.approveUrl}; once approved, send the same request again: it runs once`,
    );
    return { kind: 'answered', approvalId: info.approvalId, status: 403, bytes };
  }
}
