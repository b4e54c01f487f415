import { createHash } from 'node:crypto';
import type { ServerResponse } from 'node:http';
import type { PolicyDecision } from '@gw/policy';
import { approvalRequest } from '../../approvals/approval-client.js';
import { sendStatus } from './k8s-status.js';
import type { RequestAttributes } from './request-attributes.js';
import { describeTarget } from './request-policy.js';
import type { K8sSession } from './kubernetes-handler.js';

export interface HeldRequest {
  method: string;
  url: string;
  body: Buffer | undefined;
  /** The request's Content-Type: the same PATCH body means different things as a merge, strategic merge, JSON or apply patch. */
  contentType?: string | undefined;
  attrs: RequestAttributes;
  decision: PolicyDecision;
  res: ServerResponse;
}

export type HoldOutcome =
  | { kind: 'answered'; approvalId?: string; status: number; bytes: number }
  | { kind: 'run'; approvalId: string };

/**
 * What makes a later request "the same request": its method, path with query, media type and body.
 * With the principal and the cluster (the control plane takes those from the session) it is what an
 * approval of a plain Kubernetes request is for. The media type is part of it because the API server
 * reads the same PATCH body differently by Content-Type (an approved strategic merge patch must not
 * release a JSON merge patch of the same bytes, which replaces lists instead of merging them);
 * parameters such as `charset` and the case do not change the meaning and are left out.
 */
export function requestFingerprint(method: string, url: string, body: Buffer | undefined, contentType?: string): string {
  const bodyHash = createHash('sha256').update(body ?? Buffer.alloc(0)).digest('hex');
  return createHash('sha256').update(method.toUpperCase()).update('\0').update(url).update('\0').update(bodyHash)
    .update('\0').update(mediaType(contentType)).digest('hex');
}

/** `Application/Merge-Patch+JSON; charset=utf-8` -> `application/merge-patch+json`; none: empty. */
export function mediaType(contentType: string | undefined): string {
  return (contentType ?? '').split(';')[0]!.trim().toLowerCase();
}

/**
 * Requests that policy holds for approval (`require_approval`). A plain HTTP request cannot wait
 * minutes for a human (clients time out, kubectl prints nothing meanwhile), so the client is
 * answered at once with a 403 Status naming the approval; once approved, the same principal sends
 * the same request again (same method, path, query and body) and it runs, once. The approval in the
 * control plane is the record (it keeps the request's fingerprint): the agent asks it to use up a
 * matching approved one, which it does exactly once, so an approval survives an agent restart and
 * holds with several agents. Any doubt (no control plane) refuses.
 */
export class HeldRequests {
  async decide(session: K8sSession, held: HeldRequest): Promise<HoldOutcome> {
    const target = describeTarget(held.attrs);
    const refuse = (message: string, approvalId?: string): HoldOutcome => {
      const bytes = sendStatus(held.res, 403, 'Forbidden', message);
      return { kind: 'answered', ...(approvalId ? { approvalId } : {}), status: 403, bytes };
    };
    const approvals = session.durableApprovals;
    if (!approvals) return refuse(`${target} needs an approval (${held.decision.reasons.join('; ')}), which this agent cannot ask for`);
    const fingerprint = requestFingerprint(held.method, held.url, held.body, held.contentType);
    const found = await approvals.consume({ sessionId: session.id, fingerprint });
    if (!found.ok) return refuse(`${target} needs an approval (${held.decision.reasons.join('; ')}), and the control plane could not be asked for one: ${found.error}`);
    if (found.consumed) return { kind: 'run', approvalId: found.consumed };
    if (found.pending) return refuse(`${target} is still held for approval ${found.pending}: send the same request again once it is approved`, found.pending);
    const subject = {
      request: `${held.method} ${held.attrs.path}`,
      verb: held.attrs.verb,
      ...(held.attrs.isResourceRequest ? { resource: held.attrs.resource, namespace: held.attrs.namespace ?? null, name: held.attrs.name ?? null, subresource: held.attrs.subresource ?? null } : {}),
      cluster: session.resource.name,
    };
    const detail = { request: `${held.method} ${held.url}`, ...(held.contentType ? { contentType: mediaType(held.contentType) } : {}), ...(held.body && held.body.length <= 64 * 1024 ? { body: held.body.toString('utf8') } : {}) };
    const made = await approvals.create(approvalRequest(session.id, 'kubernetes_request', subject, held.decision.obligations.approval, detail, fingerprint));
    if ('error' in made) return refuse(`${target} needs an approval (${held.decision.reasons.join('; ')}), and none could be requested: ${made.error}`);
    return refuse(
      `${target} is held for approval ${made.approvalId} until ${made.expiresAt.toISOString()} (${held.decision.reasons.join('; ')}); ` +
        `an approver runs it with POST ${made.approveUrl}; once approved, send the same request again: it runs once`,
      made.approvalId,
    );
  }
}
