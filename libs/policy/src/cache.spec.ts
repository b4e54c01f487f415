import type { Principal } from '@gw/identity';
import { describe, expect, it } from 'vitest';
import { DEMO_POLICY } from './demo-policy.js';
import { MAX_CACHED_REQUEST_CHARS, PolicyEngine } from './engine.js';
import type { PolicyInput } from './input.js';

const principal: Principal = {
  id: 'iss#agent',
  kind: 'workload',
  issuer: 'iss',
  subject: 'agent',
  roles: ['b', 'a'],
  groups: ['g2', 'g1'],
  gatewayRoles: ['requester'],
};
const base: PolicyInput = {
  principal,
  action: 'sql:select',
  resource: { name: 'db', type: 'postgres', labels: { env: 'prod', team: 'x' } },
  context: { sourceIp: '10.0.0.1', hour: 10, tables: ['t2', 't1'] },
};

describe('decision cache', () => {
  it('answers a repeated input from the cache with the same decision', () => {
    const engine = PolicyEngine.compile(DEMO_POLICY);
    const first = engine.evaluate(base);
    const second = engine.evaluate(structuredClone(base));
    expect(second).toBe(first);
    expect(engine.cacheStats()).toMatchObject({ size: 1, hits: 1, misses: 1 });
  });

  it('treats reordered sets, labels and keys as the same input', () => {
    const engine = PolicyEngine.compile(DEMO_POLICY);
    engine.evaluate(base);
    const reordered: PolicyInput = {
      context: { tables: ['t1', 't2'], hour: 10, sourceIp: '10.0.0.1' },
      resource: { labels: { team: 'x', env: 'prod' }, type: 'postgres', name: 'db' },
      action: 'sql:select',
      principal: { ...principal, roles: ['a', 'b'], groups: ['g1', 'g2'] },
    };
    engine.evaluate(reordered);
    expect(engine.cacheStats()).toMatchObject({ size: 1, hits: 1 });
  });

  it('distinguishes inputs that differ in anything Cedar sees', () => {
    const engine = PolicyEngine.compile(DEMO_POLICY);
    engine.evaluate(base);
    engine.evaluate({ ...base, action: 'sql:insert' });
    engine.evaluate({ ...base, context: { ...base.context, hour: 11 } });
    engine.evaluate({ ...base, resource: { ...base.resource, labels: { env: 'dev' } } });
    engine.evaluate({ ...base, principal: { ...principal, gatewayRoles: [] } });
    expect(engine.cacheStats()).toMatchObject({ size: 5, hits: 0 });
    expect(engine.evaluate({ ...base, principal: { ...principal, gatewayRoles: [] } }).effect).toBe('deny');
  });

  it('does not leak decisions across engines (a new policy version starts empty)', () => {
    const permissive = PolicyEngine.compile(DEMO_POLICY);
    expect(permissive.evaluate(base).effect).toBe('allow');
    const strict = PolicyEngine.compile(`@id("none") forbid (principal, action, resource);`);
    expect(strict.evaluate(base).effect).toBe('deny');
    expect(strict.cacheStats().hits).toBe(0);
  });

  it('is bounded and can be disabled', () => {
    const small = PolicyEngine.compile(DEMO_POLICY, { cacheSize: 3 });
    for (let hour = 0; hour < 10; hour++) small.evaluate({ ...base, context: { ...base.context, hour } });
    expect(small.cacheStats()).toMatchObject({ size: 3, capacity: 3 });
    const none = PolicyEngine.compile(DEMO_POLICY, { cacheSize: 0 });
    none.evaluate(base);
    none.evaluate(base);
    expect(none.cacheStats()).toMatchObject({ size: 0, hits: 0 });
  });

  it('does not cache decisions with errors or very large requests', () => {
    const engine = PolicyEngine.compile(DEMO_POLICY);
    engine.evaluate({ ...base, context: { ...base.context, hour: 99 } });
    const big = Array.from({ length: 400 }, (_, i) => `schema.table_${i}`);
    expect(JSON.stringify(big).length).toBeGreaterThan(MAX_CACHED_REQUEST_CHARS);
    engine.evaluate({ ...base, context: { ...base.context, tables: big } });
    expect(engine.cacheStats().size).toBe(0);
  });

  it('keeps the clock hour in the key, so a cached decision does not outlive its hour', () => {
    let now = new Date('2026-01-01T10:00:00Z');
    const engine = PolicyEngine.compile(
      `@id("day") permit (principal, action, resource) when { context.hour >= 8 && context.hour < 18 };`,
      { clock: () => now },
    );
    const noHour: PolicyInput = { ...base, context: { sourceIp: '10.0.0.1' } };
    expect(engine.evaluate(noHour).effect).toBe('allow');
    now = new Date('2026-01-01T19:00:00Z');
    expect(engine.evaluate(noHour).effect).toBe('deny');
  });
});
