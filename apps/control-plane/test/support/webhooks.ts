import { randomUUID } from 'node:crypto';
import type { Harness } from './harness.js';

/** Creates a subscription as the security admin; returns its id and secret. */
export async function subscribe(h: Harness, body: Record<string, unknown>): Promise<{ id: string; secret: string }> {
  const res = await h.request('POST', '/api/v1/webhooks', { token: await h.token('security-admin'), body });
  if (res.status !== 201) throw new Error(`subscribe failed: ${res.status} ${JSON.stringify(res.body)}`);
  return { id: res.body.id, secret: res.body.secret };
}

export async function deliveries(h: Harness, subscriptionId: string, status?: string): Promise<any[]> {
  const query = status ? `?status=${status}` : '';
  const res = await h.request('GET', `/api/v1/webhooks/${subscriptionId}/deliveries${query}`, { token: await h.token('auditor') });
  if (res.status !== 200) throw new Error(`deliveries failed: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body.items;
}

/** An approval as the approvals module publishes it: a held DELETE waiting for one approver. */
export function pendingStatementApproval(overrides: Record<string, unknown> = {}) {
  return {
    id: randomUUID(),
    kind: 'statement',
    status: 'pending',
    resource: 'postgres-demo',
    principalId: 'http://127.0.0.1:9000#ai-agent',
    sessionId: randomUUID(),
    subject: { statement: "DELETE FROM customers WHERE email = 'a**@example.com'", classification: 'sql:delete' },
    requiredApprovals: 1,
    votes: [],
    expiresAt: new Date(Date.now() + 10 * 60_000).toISOString(),
    ...overrides,
  };
}
