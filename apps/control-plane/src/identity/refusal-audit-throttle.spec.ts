import { describe, expect, it } from 'vitest';
import { OVERFLOW_SOURCE, RefusalAuditThrottle } from './refusal-audit-throttle.js';

const TOKEN = 'auth.token_refused';
const detail = (n: number, code = 'invalid_signature') => ({ code, tokenId: `jti-${n}`, path: `/p${n % 7}` });

describe('RefusalAuditThrottle', () => {
  it('audits the first refusals of a source one by one and counts the rest into a summary of the window', () => {
    const t = new RefusalAuditThrottle(3, 60_000);
    const admitted = Array.from({ length: 10 }, (_, n) => t.admit('10.0.0.1', TOKEN, detail(n), 1000 + n));
    expect(admitted).toEqual([true, true, true, false, false, false, false, false, false, false]);
    expect(t.takeSummaries(60_999)).toEqual([]);
    const [summary, ...rest] = t.takeSummaries(61_000);
    expect(rest).toEqual([]);
    expect(summary).toMatchObject({ sourceIp: '10.0.0.1', action: TOKEN, count: 7, codes: { invalid_signature: 7 } });
    expect(summary!.firstAt.getTime()).toBe(1003);
    expect(summary!.lastAt.getTime()).toBe(1009);
    // Samples are distinct and bounded.
    expect(summary!.tokenIds).toEqual(['jti-3', 'jti-4', 'jti-5', 'jti-6', 'jti-7']);
    expect(new Set(summary!.paths).size).toBe(summary!.paths.length);
    expect(summary!.paths.length).toBeLessThanOrEqual(5);
    expect(t.takeSummaries(61_000)).toEqual([]);
  });

  it('starts a new window after the old one ended, whose summary waits for the next take', () => {
    const t = new RefusalAuditThrottle(1, 60_000);
    expect(t.admit('a', TOKEN, detail(1), 0)).toBe(true);
    expect(t.admit('a', TOKEN, detail(2, 'expired'), 10)).toBe(false);
    expect(t.admit('a', TOKEN, detail(3), 60_000)).toBe(true);
    expect(t.admit('a', TOKEN, detail(4), 60_001)).toBe(false);
    expect(t.takeSummaries(60_002).map((s) => [s.count, s.codes])).toEqual([[1, { expired: 1 }]]);
    expect(t.takeSummaries(0, true).map((s) => s.count)).toEqual([1]);
  });

  it('keeps sources and kinds apart', () => {
    const t = new RefusalAuditThrottle(1, 60_000);
    expect(t.admit('a', TOKEN, detail(1), 0)).toBe(true);
    expect(t.admit('b', TOKEN, detail(1), 0)).toBe(true);
    expect(t.admit(null, TOKEN, detail(1), 0)).toBe(true);
    expect(t.admit('a', 'auth.attestation_refused', detail(1), 0)).toBe(true);
    expect(t.admit('a', TOKEN, detail(2), 1)).toBe(false);
  });

  it('puts the refusals of sources beyond its bound into one shared bucket, still counted', () => {
    const t = new RefusalAuditThrottle(1, 60_000, 2);
    expect(t.admit('a', TOKEN, detail(1), 0)).toBe(true);
    expect(t.admit('b', TOKEN, detail(1), 0)).toBe(true);
    const spray = Array.from({ length: 50 }, (_, n) => t.admit(`2001:db8::${n}`, TOKEN, detail(n), 5));
    expect(spray.filter(Boolean)).toHaveLength(1);
    const summaries = t.takeSummaries(0, true);
    expect(summaries).toEqual([expect.objectContaining({ sourceIp: OVERFLOW_SOURCE, count: 49 })]);
  });

  it('frees the bound once windows end', () => {
    const t = new RefusalAuditThrottle(1, 1000, 1);
    expect(t.admit('a', TOKEN, detail(1), 0)).toBe(true);
    expect(t.admit('b', TOKEN, detail(1), 2000)).toBe(true);
    expect(t.admit('b', TOKEN, detail(2), 2001)).toBe(false);
    expect(t.takeSummaries(0, true)).toEqual([expect.objectContaining({ sourceIp: 'b', count: 1 })]);
  });

  it('gives back summaries that could not be written, in front of newer ones', () => {
    const t = new RefusalAuditThrottle(1, 1000);
    t.admit('a', TOKEN, detail(1), 0);
    t.admit('a', TOKEN, detail(2), 1);
    const first = t.takeSummaries(1000);
    t.admit('b', TOKEN, detail(1), 1000);
    t.admit('b', TOKEN, detail(2), 1001);
    t.giveBack(first);
    expect(t.takeSummaries(5000).map((s) => s.sourceIp)).toEqual(['a', 'b']);
  });

  it('keeps at most 10 000 summaries waiting (the database is down); the rest are added up under the overflow source', () => {
    const t = new RefusalAuditThrottle(0, 1000, 20_000);
    for (let n = 0; n < 10_050; n++) t.admit(`10.1.${n >> 8}.${n & 255}`, TOKEN, detail(n), 0);
    const summaries = t.takeSummaries(1000);
    expect(summaries).toHaveLength(10_001);
    expect(summaries.at(-1)).toMatchObject({ sourceIp: OVERFLOW_SOURCE, count: 50 });
    expect(summaries.reduce((sum, s) => sum + s.count, 0)).toBe(10_050);
    t.giveBack(summaries);
    expect(t.takeSummaries(1000).reduce((sum, s) => sum + s.count, 0)).toBe(10_050);
  });
});
