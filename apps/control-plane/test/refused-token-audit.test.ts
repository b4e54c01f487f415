import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHarness, type Harness } from './support/harness.js';

/**
 * A client looping on bad tokens must not flood the audit trail: beyond AUDIT_REFUSALS_PER_MINUTE per
 * source, refusals are counted and audited as one summary, and none is lost (a shutdown writes the
 * open window's summary).
 */
describe('audit of refused tokens under a flood', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ AUDIT_REFUSALS_PER_MINUTE: '3' });
  });
  afterAll(async () => {
    await h?.close();
  });

  it('audits 3 refusals one by one, the other 37 as one summary, and keeps serving good tokens', async () => {
    const good = await h.token('ai-agent');
    // A bad signature: the token id stays readable (the audit names it, never the token).
    const [head, payload, sig] = good.split('.');
    const tampered = `${head}.${payload}.${sig!.slice(0, -4)}AAAA`;
    for (let i = 0; i < 40; i++) {
      const res = await h.request('GET', i % 2 ? '/api/v1/whoami' : '/api/v1/resources', { token: tampered });
      expect(res.status).toBe(401);
    }
    expect((await h.request('GET', '/api/v1/whoami', { token: good })).status).toBe(200);

    const auditor = await h.token('auditor');
    const single = await h.request('GET', '/api/v1/audit/events?action=auth.token_refused&limit=100', { token: auditor });
    expect(single.body.items).toHaveLength(3);
    const before = await h.request('GET', '/api/v1/audit/events?action=auth.refusals_suppressed', { token: auditor });
    expect(before.body.items).toHaveLength(0);

    // The window is still open: a shutdown writes its summary.
    await h.restart();
    const after = await h.request('GET', '/api/v1/audit/events?action=auth.refusals_suppressed', { token: auditor });
    expect(after.body.items).toHaveLength(1);
    const summary = after.body.items[0];
    expect(summary.outcome).toBe('denied');
    expect(summary.details).toMatchObject({ refusedAction: 'auth.token_refused', sourceIp: expect.stringMatching(/127\.0\.0\.1/), count: 37 });
    expect(Object.values(summary.details.codes as Record<string, number>).reduce((a, b) => a + b, 0)).toBe(37);
    expect(summary.details.paths).toEqual(expect.arrayContaining(['/api/v1/whoami', '/api/v1/resources']));
    expect(single.body.items[0].details.tokenId).toBeTruthy();
    expect(summary.details.tokenIds).toEqual([single.body.items[0].details.tokenId]);
    expect(JSON.stringify(after.body)).not.toContain(tampered);
    expect((await h.request('GET', '/api/v1/audit/verify', { token: auditor })).body).toMatchObject({ ok: true });
  });
});
