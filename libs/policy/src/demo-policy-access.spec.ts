import { describe, expect, it } from 'vitest';
import { DEMO_POLICY } from './demo-policy.js';
import { PolicyEngine } from './engine.js';
import type { PolicyInput } from './input.js';

type GatewayRoles = PolicyInput['principal']['gatewayRoles'];
const principal = (gatewayRoles: GatewayRoles): PolicyInput['principal'] =>
  ({ id: `p-${gatewayRoles.join('-')}`, kind: 'workload', issuer: 'i', subject: 's', roles: [], groups: [], gatewayRoles });
const workload = principal(['requester']);

/** The resources of examples/agent.yaml, with their labels, plus variants the rules must not match. */
const resources: Record<string, PolicyInput['resource']> = {
  'postgres-demo (env=prod)': { name: 'postgres-demo', type: 'postgres', labels: { demo: 'true', env: 'prod' } },
  'ssh-demo (env=dev)': { name: 'ssh-demo', type: 'ssh', labels: { demo: 'true', env: 'dev' } },
  'redis (env=dev)': { name: 'redis', type: 'tcp', labels: { demo: 'true', env: 'dev' } },
  'no env label': { name: 'orders', type: 'postgres', labels: { demo: 'true' } },
  'env=staging': { name: 'orders-staging', type: 'postgres', labels: { env: 'staging' } },
  'env=Prod (other case)': { name: 'orders-x', type: 'postgres', labels: { env: 'Prod' } },
  'env=dev in the environment attribute only': { name: 'orders-y', type: 'postgres', environment: 'dev', labels: {} },
};

describe('demo policy: request_access (just-in-time grants)', () => {
  const engine = PolicyEngine.compile(DEMO_POLICY);
  const ask = (resource: PolicyInput['resource'], who = workload, role = 'demo_writer') =>
    engine.evaluate({ principal: who, action: 'request_access', resource, context: { dbRole: role, login: role } });

  const cases: { resource: string; effect: 'allow' | 'require_approval' | 'deny'; policy?: string }[] = [
    { resource: 'ssh-demo (env=dev)', effect: 'allow', policy: 'requester-access-dev' },
    { resource: 'redis (env=dev)', effect: 'allow', policy: 'requester-access-dev' },
    { resource: 'postgres-demo (env=prod)', effect: 'require_approval', policy: 'requester-access-prod' },
    { resource: 'no env label', effect: 'deny' },
    { resource: 'env=staging', effect: 'deny' },
    { resource: 'env=Prod (other case)', effect: 'deny' },
    { resource: 'env=dev in the environment attribute only', effect: 'deny' },
  ];
  for (const c of cases) {
    it(`a workload asking for ${c.resource}: ${c.effect}`, () => {
      const decision = ask(resources[c.resource]!);
      expect(decision.effect).toBe(c.effect);
      if (c.policy) expect(decision.determiningPolicies).toEqual([c.policy]);
    });
  }

  it('grants dev at once for at most an hour', () => {
    expect(ask(resources['ssh-demo (env=dev)']!).obligations.maxSessionSeconds).toBe(3600);
  });

  it('asks one approver (role:approver) for prod within 30 minutes, with no cap below the server maximum', () => {
    const decision = ask(resources['postgres-demo (env=prod)']!);
    expect(decision.obligations.approval).toEqual({ approvals: 1, approvers: ['role:approver'], timeoutSeconds: 1800, view: 'unmasked' });
    expect(decision.obligations.maxSessionSeconds).toBeUndefined();
  });

  it('gives nothing to principals without a gateway role, nor to approvers and auditors asking for themselves', () => {
    for (const roles of [[], ['approver'], ['auditor']] satisfies GatewayRoles[]) {
      for (const name of ['ssh-demo (env=dev)', 'postgres-demo (env=prod)']) {
        expect(ask(resources[name]!, principal(roles)).effect, `${roles.join(',') || 'none'} on ${name}`).toBe('deny');
      }
    }
  });

  it('does not change what a request_access permit leaves alone: connect and statements still follow their own rules', () => {
    const prod = resources['postgres-demo (env=prod)']!;
    expect(engine.evaluate({ principal: workload, action: 'sql:delete', resource: prod, context: { dbRole: 'demo_writer' } }).effect).toBe('require_approval');
    expect(engine.evaluate({ principal: workload, action: 'connect', resource: resources['redis (env=dev)']!, context: {} }).effect).toBe('allow');
    expect(engine.evaluate({ principal: workload, action: 'connect', resource: resources['env=staging']!, context: { dbRole: 'demo_reader' } }).effect).toBe('allow');
    expect(engine.evaluate({ principal: workload, action: 'connect', resource: resources['env=staging']!, context: { dbRole: 'postgres' } }).effect).toBe('deny');
  });
});
