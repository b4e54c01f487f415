import type { Principal } from '@gw/identity';
import { describe, expect, it } from 'vitest';
import { DEMO_POLICY } from './demo-policy.js';
import { PolicyEngine } from './engine.js';
import type { PolicyInput } from './input.js';

const agent: Principal = {
  id: 'https://login.example/t1#agent-1',
  kind: 'workload',
  issuer: 'https://login.example/t1',
  tenantId: 't1',
  subject: 'agent-1',
  appId: 'app-1',
  roles: ['Agent.Run'],
  groups: ['grp-data', 'grp-ai'],
  gatewayRoles: ['requester'],
};
const admin: Principal = { ...agent, id: 'iss#admin', subject: 'admin', groups: [], gatewayRoles: ['admin'] };
const nobody: Principal = { ...agent, id: 'iss#nobody', groups: [], gatewayRoles: [] };

const prodDb = { name: 'orders', type: 'postgres', environment: 'prod', labels: { env: 'prod' } } as const;
const devDb = { name: 'orders-dev', type: 'postgres', environment: 'dev', labels: { env: 'dev' } } as const;

function input(principal: Principal, action: PolicyInput['action'], resource: PolicyInput['resource'], context: PolicyInput['context'] = {}): PolicyInput {
  return { principal, action, resource, context: { sourceIp: '10.0.0.5', hour: 12, ...context } };
}

describe('PolicyEngine with the demo policy', () => {
  const engine = PolicyEngine.compile(DEMO_POLICY);

  it.each([
    ['agent selects', 'allow', agent, 'sql:select', prodDb],
    ['agent SET/SHOW', 'allow', agent, 'sql:session', prodDb],
    ['agent inserts on prod', 'require_approval', agent, 'sql:insert', prodDb],
    ['agent deletes on prod', 'require_approval', agent, 'sql:delete', prodDb],
    ['agent updates on dev', 'allow', agent, 'sql:update', devDb],
    ['agent DDL', 'deny', agent, 'sql:ddl', devDb],
    ['agent admin statement', 'deny', agent, 'sql:admin', prodDb],
    ['agent DO block (no policy)', 'deny', agent, 'sql:procedural', devDb],
    ['agent ssh (no policy)', 'deny', agent, 'ssh:shell', { name: 'bastion', type: 'ssh' }],
    ['agent connects to demo tcp', 'allow', agent, 'connect', { name: 'echo', type: 'tcp', labels: { demo: 'yes' } }],
    ['agent connects to other tcp', 'deny', agent, 'connect', { name: 'redis', type: 'tcp' }],
    ['agent connects to mysql', 'deny', agent, 'connect', { name: 'm', type: 'mysql' }],
    ['admin DDL on prod', 'allow', admin, 'sql:ddl', prodDb],
    ['admin k8s exec', 'allow', admin, 'k8s:exec', { name: 'cluster', type: 'kubernetes' }],
    ['principal without roles', 'deny', nobody, 'connect', prodDb],
  ] as const)('%s -> %s', (_name, expected, principal, action, resource) => {
    expect(engine.evaluate(input(principal, action, resource)).effect).toBe(expected);
  });

  it.each([
    ['demo_writer', 'allow'],
    ['demo_reader', 'allow'],
    ['postgres', 'deny'],
    ['pg_read_server_files', 'deny'],
    ['DEMO_WRITER', 'deny'],
    ['demo_writer ', 'deny'],
    [undefined, 'deny'],
  ] as const)('a workload connects to Postgres only as a role the demo policy names: %s -> %s', (dbRole, expected) => {
    const context = dbRole === undefined ? {} : { dbRole, login: dbRole };
    expect(engine.evaluate(input(agent, 'connect', prodDb, context)).effect).toBe(expected);
    expect(engine.evaluate(input(admin, 'connect', prodDb, context)).effect).toBe('allow');
  });

  it('names the forbid policy and its reason when a forbid wins', () => {
    const decision = engine.evaluate(input(agent, 'sql:ddl', prodDb));
    expect(decision.determiningPolicies).toEqual(['requester-no-ddl-or-admin']);
    expect(decision.reasons[0]).toMatch(/DDL and administrative statements are not allowed/);
  });

  it('explains a default deny with the action, resource and principal', () => {
    const decision = engine.evaluate(input(nobody, 'connect', prodDb));
    expect(decision.determiningPolicies).toEqual([]);
    expect(decision.reasons).toEqual([`no policy permits connect on postgres resource "orders" for iss#nobody`]);
  });

  it('carries masking, session limit and approval obligations', () => {
    const connect = engine.evaluate(input(agent, 'connect', prodDb, { dbRole: 'demo_writer' }));
    expect(connect.obligations.maxSessionSeconds).toBe(3600);
    expect(connect.obligations.masking.entities).toContainEqual({ entity: 'card', style: 'full' });
    expect(connect.obligations.masking.entities).toContainEqual({ entity: 'email', style: 'partial' });
    const write = engine.evaluate(input(agent, 'sql:insert', prodDb));
    expect(write.obligations.approval).toEqual({ approvals: 1, approvers: ['role:approver'], timeoutSeconds: 900, view: 'unmasked' });
    const denied = engine.evaluate(input(agent, 'sql:ddl', prodDb));
    expect(denied.obligations).toEqual({ masking: { entities: [], columns: [] }, requireGrant: false });
  });

  it('explain returns the same decision with the determining policies and the Cedar request', () => {
    const request = input(agent, 'sql:insert', prodDb);
    const explanation = engine.explain(request);
    expect(explanation.decision).toEqual(engine.evaluate(request));
    expect(explanation.determining.map((p) => p.id)).toEqual(['requester-postgres-write-prod']);
    expect(explanation.engineHash).toBe(engine.hash);
    expect(explanation.request?.action).toEqual({ type: 'Gateway::Action', id: 'sql:insert' });
  });

  it('has a stable content hash as its version', () => {
    expect(engine.hash).toMatch(/^[0-9a-f]{64}$/);
    expect(PolicyEngine.compile(DEMO_POLICY).hash).toBe(engine.hash);
    expect(PolicyEngine.compile(`${DEMO_POLICY}\n// edited\n`).hash).not.toBe(engine.hash);
    expect(engine.version).toBe(engine.hash.slice(0, 12));
  });
});

const MODEL_POLICY = `
@id("group-read")
permit (principal in Gateway::Group::"grp-data", action in Gateway::Action::"sql:read", resource);

@id("labelled-pci")
@mask("card:partial, email:hash")
@mask_columns("public.customers.email:partial, *.phone:null")
@max_session("2h")
permit (principal in Gateway::Group::"grp-data", action == Gateway::Action::"sql:select", resource)
when { resource.hasTag("pci") && resource.getTag("pci") == "true" };

@id("pci-strict")
@mask("card:full")
@mask_columns("public.customers.email:hash")
@max_session("30m")
@require_grant("true")
permit (principal, action == Gateway::Action::"sql:select", resource)
when { resource.hasTag("pci") && resource.getTag("pci") == "true" && principal.gatewayRoles.contains("requester") };

@id("k8s-read-own-namespace")
permit (principal, action in Gateway::Action::"k8s:read", resource)
when { context has namespace && context.namespace == "agents" };

@id("no-secrets")
@reason("secrets are off limits")
forbid (principal, action in Gateway::Action::"k8s", resource)
when { context has kind && context.kind == "Secret" };

@id("office-hours-only")
@reason("production writes only between 08:00 and 18:00 UTC")
forbid (principal, action in Gateway::Action::"sql:write", resource)
when { resource.environment == "prod" && (context.hour < 8 || context.hour >= 18) };

@id("writes")
@approval("required") @approvals("2") @approvers("group:dba-leads") @approval_timeout("10m")
permit (principal, action in Gateway::Action::"sql:write", resource) when { resource.environment == "prod" };

@id("writes-payments")
@approval("required") @approvals("2") @approvers("group:payments, role:approver") @approval_timeout("1h")
permit (principal, action in Gateway::Action::"sql:write", resource) when { resource.name == "payments" };

@id("writes-any")
@approval("required") @approvals("1") @approvers("role:admin") @approval_timeout("5m")
permit (principal, action == Gateway::Action::"sql:update", resource) when { resource.name == "payments" };

@id("forward-db-port")
permit (principal, action == Gateway::Action::"ssh:forward", resource)
when { context has port && context.port == 5432 && context has host && context.host like "db-*" };
`;

describe('PolicyEngine evaluation semantics', () => {
  const engine = PolicyEngine.compile(MODEL_POLICY);
  const table = { name: 'cards', type: 'postgres', environment: 'dev', labels: { pci: 'true' } } as const;

  it('matches group membership from the groups claim', () => {
    expect(engine.evaluate(input(agent, 'sql:select', devDb)).effect).toBe('allow');
    expect(engine.evaluate(input({ ...agent, groups: ['grp-other'] }, 'sql:select', devDb)).effect).toBe('deny');
  });

  it('merges obligations: strongest mask per entity and column, shortest session, grant if any asks', () => {
    const decision = engine.evaluate(input(agent, 'sql:select', table, { hasGrant: true }));
    expect(decision.effect).toBe('allow');
    expect(decision.determiningPolicies).toEqual(['group-read', 'labelled-pci', 'pci-strict']);
    const byEntity = Object.fromEntries(decision.obligations.masking.entities.map((r) => [r.entity, r.style]));
    expect(byEntity).toEqual({ card: 'full', email: 'hash' });
    expect(decision.obligations.masking.columns).toEqual(
      expect.arrayContaining([
        { table: 'public.customers', column: 'email', style: 'hash' },
        { table: '*', column: 'phone', style: 'null' },
      ]),
    );
    expect(decision.obligations.masking.columns).toHaveLength(2);
    expect(decision.obligations.maxSessionSeconds).toBe(1800);
    expect(decision.obligations.requireGrant).toBe(true);
  });

  it('denies when a permit requires a JIT grant and the request has none', () => {
    const decision = engine.evaluate(input(agent, 'sql:select', table, { hasGrant: false }));
    expect(decision.effect).toBe('deny');
    expect(decision.reasons[0]).toMatch(/just-in-time grant is required by policy "pci-strict"/);
    expect(decision.obligations.requireGrant).toBe(true);
  });

  it('uses resource labels as Cedar tags', () => {
    const noLabel = { ...table, labels: {} };
    const decision = engine.evaluate(input(agent, 'sql:select', noLabel));
    expect(decision.determiningPolicies).toEqual(['group-read']);
    expect(decision.obligations.masking.entities).toEqual([]);
  });

  it('lets a forbid override a permit and reports its @reason', () => {
    const ns = { name: 'k', type: 'kubernetes' } as const;
    expect(engine.evaluate(input(agent, 'k8s:get', ns, { namespace: 'agents', kind: 'Pod' })).effect).toBe('allow');
    const secret = engine.evaluate(input(agent, 'k8s:get', ns, { namespace: 'agents', kind: 'Secret' }));
    expect(secret.effect).toBe('deny');
    expect(secret.reasons).toEqual(['secrets are off limits']);
    expect(engine.evaluate(input(agent, 'k8s:get', ns, { namespace: 'other', kind: 'Pod' })).effect).toBe('deny');
  });

  it('reads the hour from the context, or from the engine clock when absent', () => {
    const prod = { name: 'ledger', type: 'postgres', environment: 'prod' } as const;
    expect(engine.evaluate(input(agent, 'sql:insert', prod, { hour: 9 })).effect).toBe('require_approval');
    expect(engine.evaluate(input(agent, 'sql:insert', prod, { hour: 22 })).reasons).toEqual([
      'production writes only between 08:00 and 18:00 UTC',
    ]);
    const night = PolicyEngine.compile(MODEL_POLICY, { clock: () => new Date('2026-01-01T23:30:00Z') });
    const noHour: PolicyInput = { principal: agent, action: 'sql:insert', resource: prod };
    expect(night.evaluate(noHour).effect).toBe('deny');
    const day = PolicyEngine.compile(MODEL_POLICY, { clock: () => new Date('2026-01-01T10:30:00Z') });
    expect(day.evaluate(noHour).effect).toBe('require_approval');
  });

  it('@approval_view: masked for approvers when any permit that demands approval says so', () => {
    const text = `
@id("w") @approval("required") permit (principal, action == Gateway::Action::"sql:update", resource);
@id("w-masked") @approval("required") @approval_view("masked") permit (principal, action == Gateway::Action::"sql:update", resource)
  when { resource.name == "payments" };
@id("d") @approval("required") @approval_view("unmasked") permit (principal, action == Gateway::Action::"sql:delete", resource);`;
    const e = PolicyEngine.compile(text);
    const at = (action: 'sql:update' | 'sql:delete', name: string) =>
      e.evaluate(input(agent, action, { name, type: 'postgres', environment: 'prod' })).obligations.approval?.view;
    expect(at('sql:update', 'orders')).toBe('unmasked');
    expect(at('sql:update', 'payments')).toBe('masked');
    expect(at('sql:delete', 'orders')).toBe('unmasked');
  });

  it('takes the most demanding approval: highest N, its approvers joined, shortest timeout', () => {
    const payments = { name: 'payments', type: 'postgres', environment: 'prod' } as const;
    const decision = engine.evaluate(input(agent, 'sql:update', payments));
    expect(decision.effect).toBe('require_approval');
    expect(decision.obligations.approval).toEqual({
      approvals: 2,
      approvers: ['group:dba-leads', 'group:payments', 'role:approver'],
      timeoutSeconds: 300,
      view: 'unmasked',
    });
    expect(decision.determiningPolicies).toEqual(['writes', 'writes-any', 'writes-payments']);
  });

  it('evaluates ssh forward context with like patterns', () => {
    const bastion = { name: 'bastion', type: 'ssh' } as const;
    expect(engine.evaluate(input(agent, 'ssh:forward', bastion, { host: 'db-1', port: 5432 })).effect).toBe('allow');
    expect(engine.evaluate(input(agent, 'ssh:forward', bastion, { host: 'db-1', port: 22 })).effect).toBe('deny');
    expect(engine.evaluate(input(agent, 'ssh:forward', bastion, { host: 'web-1', port: 5432 })).effect).toBe('deny');
  });
});

describe('PolicyEngine fails closed', () => {
  it('denies and reports an evaluation error even when another permit is satisfied', () => {
    const engine = PolicyEngine.compile(`
      @id("open") permit (principal, action, resource);
      @id("overflow")
      forbid (principal, action, resource) when { context.hour * 9223372036854775807 > 0 };
    `);
    const decision = engine.evaluate(input(agent, 'connect', devDb, { hour: 3 }));
    expect(decision.effect).toBe('deny');
    expect(decision.determiningPolicies).toEqual(['overflow']);
    expect(decision.errors[0]).toMatch(/overflow/);
    expect(decision.reasons[0]).toMatch(/fail closed/);
    // hour 0 does not overflow, so the same engine allows: the deny above came from the error.
    expect(engine.evaluate(input(agent, 'connect', devDb, { hour: 0 })).effect).toBe('allow');
  });

  it('denies malformed input instead of throwing', () => {
    const engine = PolicyEngine.compile(`@id("open") permit (principal, action, resource);`);
    const cases: unknown[] = [
      { ...input(agent, 'connect', devDb), action: 'sql:drop_everything' },
      { ...input(agent, 'connect', devDb), resource: { name: 'x', type: 'oracle' } },
      input(agent, 'connect', devDb, { port: 70_000 }),
      input(agent, 'connect', devDb, { hour: 24 }),
      { ...input(agent, 'connect', devDb), principal: { ...agent, groups: 'grp-data' } },
      { ...input(agent, 'connect', devDb), context: { sourceIp: '1.2.3.4', surprise: true } },
      { ...input(agent, 'connect', devDb), resource: { ...devDb, labels: { 'bad key!': 'x' } } },
      null,
      { principal: null },
    ];
    for (const bad of cases) {
      const decision = engine.evaluate(bad as PolicyInput);
      expect(decision.effect, JSON.stringify(bad)).toBe('deny');
      expect(decision.errors.length, JSON.stringify(bad)).toBeGreaterThan(0);
    }
  });

  it('refuses over-long values', () => {
    const engine = PolicyEngine.compile(`@id("open") permit (principal, action, resource);`);
    const decision = engine.evaluate(input(agent, 'ssh:exec', devDb, { command: 'x'.repeat(20_000) }));
    expect(decision.effect).toBe('deny');
    expect(decision.errors[0]).toMatch(/context\.command/);
  });

  it('denies everything with an empty policy set', () => {
    const engine = PolicyEngine.compile('');
    expect(engine.evaluate(input(admin, 'connect', devDb)).effect).toBe('deny');
  });

  it('returns frozen decisions so a caller cannot alter a cached one', () => {
    const engine = PolicyEngine.compile(DEMO_POLICY);
    const decision = engine.evaluate(input(agent, 'sql:select', devDb));
    expect(() => decision.obligations.masking.entities.push({ entity: 'email', style: 'null' })).toThrow();
    expect(Object.isFrozen(decision)).toBe(true);
  });
});
