import { classifySql, loadSqlParser } from '@gw/sql';
import type { Bind } from '@gw/protocol-postgres';
import { beforeAll, describe, expect, it } from 'vitest';
import { backendSignalCall, boundPid, resolveSignal } from './backend-signal.js';

beforeAll(async () => {
  await loadSqlParser();
});

const callOf = (sql: string) => {
  const statements = classifySql(sql);
  return statements.length === 1 ? backendSignalCall(statements[0]!) : undefined;
};

const bind = (params: (Buffer | null)[], paramFormats: (0 | 1)[] = []): Bind => ({ kind: 'Bind', portal: '', statement: '', params, paramFormats, resultFormats: [] });

describe('which statements are a bare signal call', () => {
  it.each([
    ['SELECT pg_cancel_backend($1);', { fn: 'pg_cancel_backend', action: 'cancel', pid: 'param' }],
    ['select pg_catalog.pg_terminate_backend(123)', { fn: 'pg_terminate_backend', action: 'terminate', pid: 123 }],
    ['SELECT pg_cancel_backend( 2147483647 ) AS cancelled', { fn: 'pg_cancel_backend', action: 'cancel', pid: 2147483647 }],
    ['SELECT pg_cancel_backend($1::int4)', { fn: 'pg_cancel_backend', action: 'cancel', pid: 'param' }],
  ])('%s', (sql, expected) => {
    expect(callOf(sql)).toEqual(expected);
  });

  it.each([
    'SELECT pg_cancel_backend(pid) FROM pg_stat_activity',
    'SELECT pg_cancel_backend(pg_backend_pid())',
    'SELECT pg_cancel_backend(1), 2',
    'SELECT pg_terminate_backend(1, 1000)',
    'SELECT pg_cancel_backend(2147483648)',
    'SELECT pg_cancel_backend(0)',
    'SELECT pg_cancel_backend($2)',
    'SELECT lower(pg_cancel_backend(1)::text)',
    'SELECT 1; SELECT pg_cancel_backend(1)',
  ])('not: %s', (sql) => {
    expect(callOf(sql)).toBeUndefined();
  });
});

describe('the pid a Bind carries', () => {
  it('reads text and binary int4/int8, and nothing else', () => {
    expect(boundPid(bind([Buffer.from('4242')]))).toBe(4242);
    const int4 = Buffer.alloc(4);
    int4.writeInt32BE(77);
    expect(boundPid(bind([int4], [1]))).toBe(77);
    const int8 = Buffer.alloc(8);
    int8.writeBigInt64BE(88n);
    expect(boundPid(bind([int8], [1]))).toBe(88);
    expect(boundPid(bind([Buffer.from('12; DROP TABLE x')]))).toBeUndefined();
    expect(boundPid(bind([null]))).toBeUndefined();
    expect(boundPid(bind([Buffer.from('1'), Buffer.from('2')]))).toBeUndefined();
  });
});

describe('what the control plane answer means', () => {
  const call = { fn: 'pg_cancel_backend', action: 'cancel', pid: 'param' } as const;

  it('signalled: allowed with a reason; not-owner and a failed request: refused; unknown: policy decides', async () => {
    expect(await resolveSignal(call, 5, () => Promise.resolve({ ok: true, outcome: 'signalled' }))).toMatchObject({ kind: 'signalled', verdict: { effect: 'allow' } });
    expect(await resolveSignal(call, 5, () => Promise.resolve({ ok: true, outcome: 'not-owner' }))).toMatchObject({
      kind: 'refused', verdict: { effect: 'deny', message: expect.stringContaining('another principal') as unknown },
    });
    expect(await resolveSignal(call, 5, () => Promise.reject(new Error('timeout')))).toMatchObject({ kind: 'refused', verdict: { effect: 'deny' } });
    expect(await resolveSignal(call, 5, () => Promise.resolve({ ok: true, outcome: 'unknown' }))).toEqual({ kind: 'not-gateway-pid' });
    expect(await resolveSignal(call, -5, () => Promise.reject(new Error('not asked')))).toEqual({ kind: 'not-gateway-pid' });
  });
});
