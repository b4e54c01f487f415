import type { Principal } from '@gw/identity';
import { describe, expect, it } from 'vitest';
import { DEMO_POLICY } from './demo-policy.js';
import { PolicyEngine } from './engine.js';
import type { PolicyInput } from './input.js';

const workload: Principal = { id: 'iss#w', kind: 'workload', issuer: 'iss', subject: 'w', roles: [], groups: [], gatewayRoles: ['requester'] };
const cluster = { name: 'k8s-demo', type: 'kubernetes', labels: { demo: 'true', env: 'dev' } } as const;
const engine = PolicyEngine.compile(DEMO_POLICY);
const decide = (action: PolicyInput['action'], context: PolicyInput['context'] = {}) =>
  engine.evaluate({ principal: workload, action, resource: cluster, context: { sourceIp: '', apiGroup: '', ...context } });

describe('demo policy: Kubernetes', () => {
  it('lets workloads connect as gw/deployer and read with Secret data masked', () => {
    expect(decide('connect').obligations.kubernetes).toEqual({ serviceAccounts: ['gw/deployer'], groups: [] });
    const read = decide('k8s:get', { apiResource: 'secrets', namespace: 'default', name: 'db-credentials' });
    expect(read.effect).toBe('allow');
    expect(read.obligations.masking.columns).toContainEqual({ table: 'secrets', column: 'data', style: 'full' });
  });

  it('holds deletes and execs into prod for an approver, denies writes outside default', () => {
    expect(decide('k8s:delete', { apiResource: 'pods', namespace: 'default', name: 'web-1' }).effect).toBe('require_approval');
    expect(decide('k8s:exec', { apiResource: 'pods', subresource: 'exec', namespace: 'prod' }).effect).toBe('require_approval');
    expect(decide('k8s:exec', { apiResource: 'pods', subresource: 'exec', namespace: 'default' }).effect).toBe('allow');
    expect(decide('k8s:create', { apiResource: 'pods', namespace: 'prod' }).effect).toBe('deny');
    expect(decide('k8s:portforward', { apiResource: 'pods', subresource: 'portforward', namespace: 'default' }).effect).toBe('deny');
  });
});
