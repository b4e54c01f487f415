import pino from 'pino';
import { describe, expect, it } from 'vitest';
import type { HoldForApproval } from '../../approvals/approval-client.js';
import { PolicyHolder } from '../../policy/policy-holder.js';
import { StatementGate } from './statement-gate.js';
import { cutText } from './statement-recording.js';
import type { StatementVerdict } from './statement-policy.js';

/**
 * An approver approves what they are shown. A held statement longer than what an approval shows
 * (cut at 64 KiB with "…") would run with a tail nobody saw: `DELETE ... WHERE id = 5` + 64 KiB of
 * comment + `OR true`. Such a statement is refused, not held.
 */
const verdict: StatementVerdict = { effect: 'require_approval', policies: ['p'], reasons: ['needs approval'], masking: { entities: [], columns: [] } };

function gate() {
  const asked: Record<string, unknown>[] = [];
  const hold: HoldForApproval = (subject) => {
    asked.push(subject);
    return Promise.resolve({ status: 'approved', approvalId: 'a', scope: 'once', by: 'bob', comment: null });
  };
  const g = new StatementGate(
    new PolicyHolder(() => ({ version: 1, sha256: 'x', text: '' }), pino({ level: 'silent' })),
    { principal: { id: 'p', kind: 'human', issuer: 'i', subject: 's', roles: [], groups: [], gatewayRoles: [] }, resource: { name: 'db', type: 'postgres', labels: {} }, dbRole: 'app', sourceIp: '127.0.0.1' },
    hold,
    new AbortController().signal,
  );
  return { g, asked };
}

describe('StatementGate.hold: only what an approver can see in full is held', () => {
  it('holds a statement shown in full', async () => {
    const { g, asked } = gate();
    const sql = 'DELETE FROM orders WHERE id = 5';
    expect((await g.hold(verdict, { text: sql }, { text: cutText(sql) }, () => undefined)).status).toBe('approved');
    expect(asked).toHaveLength(1);
  });

  it('refuses a statement whose text or a value would be cut', async () => {
    const { g, asked } = gate();
    const sql = `DELETE FROM orders WHERE id = 5 /*${' '.repeat(70 * 1024)}*/ OR true`;
    const outcome = await g.hold(verdict, { text: cutText(sql) }, { text: cutText(sql) }, () => undefined);
    expect(outcome).toMatchObject({ status: 'unavailable', reason: expect.stringContaining('too large to show an approver in full') as unknown });
    const big = 'x'.repeat(70 * 1024);
    expect((await g.hold(verdict, { text: 'UPDATE t SET a = $1', params: ['<masked>'] }, { text: 'UPDATE t SET a = $1', params: [cutText(big)] }, () => undefined)).status).toBe('unavailable');
    expect(asked).toHaveLength(0);
  });
});
