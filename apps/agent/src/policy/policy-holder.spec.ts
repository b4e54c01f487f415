import { PolicyEngine } from '@gw/policy';
import { classifySql, loadSqlParser } from '@gw/sql';
import pino from 'pino';
import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { PolicyHolder, type PolicySnapshotText } from './policy-holder.js';
import { decideStatement, principalFromGrant, type SessionPolicyContext } from '../protocols/postgres/statement-policy.js';

const ALLOW_READ = '@id("read") permit (principal, action == Gateway::Action::"sql:select", resource);';
const FORBID_READ = '@id("no-read") @reason("reads are off") forbid (principal, action == Gateway::Action::"sql:select", resource);';

const log = pino({ level: 'silent' });
const ctx: SessionPolicyContext = {
  principal: principalFromGrant({ id: 'iss#a', kind: 'workload', issuer: 'iss', subject: 'a' } as never),
  resource: { name: 'crm', type: 'postgres' },
  dbRole: 'app',
  sourceIp: '127.0.0.1',
};

function holderWith(initial: PolicySnapshotText | null) {
  let snap = initial;
  const holder = new PolicyHolder(() => snap, log);
  return { holder, set: (s: PolicySnapshotText | null) => (snap = s) };
}

beforeAll(async () => {
  await loadSqlParser();
});

afterEach(() => {
  vi.restoreAllMocks();
});

describe('PolicyHolder', () => {
  it('denies when no snapshot has arrived', () => {
    const { holder } = holderWith(null);
    expect(holder.current()).toEqual({ engine: undefined, reason: 'no policy received from the control plane yet' });
  });

  it('compiles once per snapshot hash and reuses the engine', () => {
    const compile = vi.spyOn(PolicyEngine, 'compile');
    const { holder } = holderWith({ version: 1, sha256: 's1', text: ALLOW_READ });
    const first = holder.current();
    const second = holder.current();
    expect(first.engine).toBeInstanceOf(PolicyEngine);
    expect(second.engine).toBe(first.engine);
    expect(compile).toHaveBeenCalledTimes(1);
  });

  it('recompiles when the snapshot changes, and decisions follow the new policy', () => {
    const { holder, set } = holderWith({ version: 1, sha256: 's1', text: ALLOW_READ });
    const select = classifySql('SELECT 1')[0]!;
    expect(decideStatement(holder, ctx, select).effect).toBe('allow');
    set({ version: 2, sha256: 's2', text: `${ALLOW_READ}\n${FORBID_READ}` });
    expect(holder.current()).toMatchObject({ version: 2 });
    expect(decideStatement(holder, ctx, select)).toMatchObject({ effect: 'deny', policies: ['no-read'], reasons: ['reads are off'] });
  });

  it('an uncompilable snapshot denies everything (the previous good policy is not kept)', () => {
    const { holder, set } = holderWith({ version: 1, sha256: 's1', text: ALLOW_READ });
    expect(holder.current().engine).toBeDefined();
    set({ version: 2, sha256: 's2', text: 'permit (principal, action, resource' });
    const current = holder.current();
    expect(current.engine).toBeUndefined();
    if (current.engine === undefined) expect(current.reason).toMatch(/^policy version 2 does not compile: /);
    const verdict = decideStatement(holder, ctx, classifySql('SELECT 1')[0]!);
    expect(verdict.effect).toBe('deny');
    expect(verdict.reasons[0]).toMatch(/policy version 2 does not compile.*; denied$/);
    // Still denied on the next call (not retried into a stale engine).
    expect(holder.current().engine).toBeUndefined();
  });

  it('recovers when a good snapshot follows a bad one', () => {
    const { holder, set } = holderWith({ version: 1, sha256: 'bad', text: 'nonsense' });
    expect(holder.current().engine).toBeUndefined();
    set({ version: 2, sha256: 'good', text: ALLOW_READ });
    expect(holder.current().engine).toBeInstanceOf(PolicyEngine);
  });

  it('denies again when the snapshot disappears', () => {
    const { holder, set } = holderWith({ version: 1, sha256: 's1', text: ALLOW_READ });
    expect(holder.current().engine).toBeDefined();
    set(null);
    expect(holder.current().engine).toBeUndefined();
  });
});
