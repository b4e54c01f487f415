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

  it('denies workloads minting credentials (TokenRequest, CSR approval and signing, token Secrets), also in default', () => {
    const mint = decide('k8s:issue_credential', { apiResource: 'serviceaccounts', subresource: 'token', namespace: 'default', name: 'reader' });
    expect(mint.effect).toBe('deny');
    expect(mint.determiningPolicies).toEqual(['requester-k8s-no-credentials']);
    expect(mint.reasons.join(' ')).toContain('the credential would work without the gateway');
    expect(decide('k8s:issue_credential', { apiGroup: 'certificates.k8s.io', apiResource: 'certificatesigningrequests', subresource: 'approval', name: 'csr-1' }).effect).toBe('deny');
    // A token Secret is a create in default (permitted) and a credential (forbidden): the agent takes the stricter.
    expect(decide('k8s:create', { apiResource: 'secrets', namespace: 'default' }).effect).toBe('allow');
    expect(decide('k8s:issue_credential', { apiResource: 'secrets', namespace: 'default' }).effect).toBe('deny');
    const admin = engine.evaluate({ principal: { ...workload, gatewayRoles: ['admin', 'requester'] }, action: 'k8s:issue_credential', resource: cluster, context: { sourceIp: '', apiGroup: '', apiResource: 'serviceaccounts', subresource: 'token', namespace: 'default' } });
    expect(admin.effect).toBe('allow');
  });

  it('denies workloads pod specs that reach the node (k8s:run_privileged), also in default, and leaves them to admins', () => {
    const privileged = decide('k8s:run_privileged', { apiResource: 'pods', namespace: 'default', name: 'p' });
    expect(privileged.effect).toBe('deny');
    expect(privileged.determiningPolicies).toEqual(['requester-k8s-no-privileged-pods']);
    expect(privileged.reasons.join(' ')).toContain('reach the node');
    // The same pod without those privileges is a plain create, permitted in default: the agent takes the stricter.
    expect(decide('k8s:create', { apiResource: 'pods', namespace: 'default', name: 'p' }).effect).toBe('allow');
    const admin = engine.evaluate({ principal: { ...workload, gatewayRoles: ['admin', 'requester'] }, action: 'k8s:run_privileged', resource: cluster, context: { sourceIp: '', apiGroup: 'apps', apiResource: 'deployments', namespace: 'prod' } });
    expect(admin.effect).toBe('allow');
  });

  it('denies workloads writing roles and role bindings, also in default', () => {
    for (const action of ['k8s:create', 'k8s:update', 'k8s:patch'] as const) {
      const write = decide(action, { apiGroup: 'rbac.authorization.k8s.io', apiResource: 'rolebindings', namespace: 'default', name: 'x' });
      expect(write.effect, action).toBe('deny');
      expect(write.determiningPolicies).toEqual(['requester-k8s-no-rbac-writes']);
    }
    expect(decide('k8s:get', { apiGroup: 'rbac.authorization.k8s.io', apiResource: 'rolebindings', namespace: 'default', name: 'x' }).effect).toBe('allow');
    expect(decide('k8s:create', { apiGroup: 'apps', apiResource: 'deployments', namespace: 'default' }).effect).toBe('allow');
  });
});
