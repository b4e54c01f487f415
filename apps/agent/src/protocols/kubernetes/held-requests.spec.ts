import type { ServerResponse } from 'node:http';
import { describe, expect, it } from 'vitest';
import type { PolicyDecision } from '@gw/policy';
import { HeldRequests, requestFingerprint, type HeldRequest } from './held-requests.js';
import type { K8sSession } from './kubernetes-handler.js';

/**
 * An approved Kubernetes request is used up by "the same request" sent again: the approval of one
 * PATCH must not release another one that means something else.
 */
const url = '/api/v1/namespaces/prod/pods/web-1';
const body = Buffer.from('{"spec":{"containers":[{"name":"web","image":"web:2"}]}}');

describe('the fingerprint of a held Kubernetes request', () => {
  it('tells patch types apart: the same bytes as a strategic merge and as a JSON merge patch are two requests', () => {
    const strategic = requestFingerprint('PATCH', url, body, 'application/strategic-merge-patch+json');
    expect(requestFingerprint('PATCH', url, body, 'application/merge-patch+json')).not.toBe(strategic);
    expect(requestFingerprint('PATCH', url, body, 'application/apply-patch+yaml')).not.toBe(strategic);
    // Parameters and case do not change the meaning.
    expect(requestFingerprint('patch', url, body, 'Application/Strategic-Merge-Patch+JSON; charset=utf-8')).toBe(strategic);
    expect(requestFingerprint('PATCH', url, Buffer.from(`${body.toString()} `), 'application/strategic-merge-patch+json')).not.toBe(strategic);
  });

  it('HeldRequests asks the control plane to use up an approval of exactly that media type, and shows it to approvers', async () => {
    const consumed: string[] = [];
    const created: { fingerprint?: string; detail?: Record<string, unknown> }[] = [];
    const session = {
      id: 's-1',
      resource: { name: 'k8s-prod' },
      durableApprovals: {
        consume: (m: { fingerprint: string }) => {
          consumed.push(m.fingerprint);
          return Promise.resolve({ ok: true as const, consumed: null, pending: null });
        },
        create: (r: { fingerprint?: string; detail?: Record<string, unknown> }) => {
          created.push(r);
          return Promise.resolve({ approvalId: 'a-1', expiresAt: new Date(Date.now() + 60_000), approveUrl: 'http://cp/api/v1/approvals/a-1/approve' });
        },
      },
    } as unknown as K8sSession;
    const res = { writeHead: () => res, end: () => res } as unknown as ServerResponse;
    const held = (contentType: string): HeldRequest => ({
      method: 'PATCH', url, body, contentType, res,
      attrs: { path: url, verb: 'patch', isResourceRequest: true, resource: 'pods', namespace: 'prod', name: 'web-1' },
      decision: { effect: 'require_approval', reasons: ['prod writes need an approver'], obligations: {} } as unknown as PolicyDecision,
    });
    await new HeldRequests().decide(session, held('application/strategic-merge-patch+json'));
    await new HeldRequests().decide(session, held('application/merge-patch+json'));
    expect(consumed[0]).not.toBe(consumed[1]);
    expect(created[0]?.detail).toMatchObject({ contentType: 'application/strategic-merge-patch+json' });
  });
});
