import type { Principal } from '@gw/identity';
import { describe, expect, it } from 'vitest';
import { PolicyEngine } from './engine.js';
import { validatePolicySet } from './validate.js';

const workload: Principal = { id: 'iss#w', kind: 'workload', issuer: 'iss', subject: 'w', roles: [], groups: [], gatewayRoles: ['requester'] };
const cluster = { name: 'k8s', type: 'kubernetes', labels: { env: 'prod' } } as const;

describe('@k8s_service_account and @k8s_groups', () => {
  it('carry the service account and the joined groups of the satisfied connect permits', () => {
    const engine = PolicyEngine.compile(`
@id("a") @k8s_service_account("gw/deployer") @k8s_groups("readers, deployers")
permit (principal, action == Gateway::Action::"connect", resource) when { resource.type == "kubernetes" };
@id("b") @k8s_groups("readers, auditors")
permit (principal, action == Gateway::Action::"connect", resource) when { principal.gatewayRoles.contains("requester") };
`);
    const decision = engine.evaluate({ principal: workload, action: 'connect', resource: cluster, context: { sourceIp: '' } });
    expect(decision.effect).toBe('allow');
    expect(decision.obligations.kubernetes).toEqual({ serviceAccounts: ['gw/deployer'], groups: ['auditors', 'deployers', 'readers'] });
  });

  it('name every service account when several permits disagree (the agent then refuses)', () => {
    const engine = PolicyEngine.compile(`
@id("a") @k8s_service_account("gw/deployer") permit (principal, action == Gateway::Action::"connect", resource);
@id("b") @k8s_service_account("default/reader") permit (principal, action == Gateway::Action::"connect", resource);
`);
    expect(engine.evaluate({ principal: workload, action: 'connect', resource: cluster }).obligations.kubernetes?.serviceAccounts).toEqual(['default/reader', 'gw/deployer']);
  });

  it.each([
    ['@k8s_service_account("deployer")', 'must be \\"<namespace>/<name>'],
    ['@k8s_service_account("Gw/deployer")', 'must be \\"<namespace>/<name>'],
    ['@k8s_service_account("gw/deployer/x")', 'must be \\"<namespace>/<name>'],
    ['@k8s_groups("system:masters")', 'system:masters'],
    ['@k8s_groups("ok, bad group")', 'is not a group name'],
  ])('refuses %s', (annotation, message) => {
    const result = validatePolicySet(`@id("x") ${annotation} permit (principal, action == Gateway::Action::"connect", resource);`);
    expect(result.ok).toBe(false);
    expect(JSON.stringify(result)).toContain(message);
  });

  it('decides the Kubernetes actions with the request attributes in the context', () => {
    const engine = PolicyEngine.compile(`
@id("read") permit (principal, action in Gateway::Action::"k8s:read", resource);
@id("no-secrets") forbid (principal, action, resource) when { context has apiResource && context.apiResource == "secrets" };
@id("exec-web") permit (principal, action == Gateway::Action::"k8s:exec", resource) when { context has objectLabels && context.objectLabels.contains("app=web") };
`);
    const ctx = { sourceIp: '', nonResource: false, apiGroup: '', apiVersion: 'v1', namespace: 'default' };
    expect(engine.evaluate({ principal: workload, action: 'k8s:list', resource: cluster, context: { ...ctx, apiResource: 'pods' } }).effect).toBe('allow');
    expect(engine.evaluate({ principal: workload, action: 'k8s:get', resource: cluster, context: { ...ctx, apiResource: 'secrets', name: 's' } }).determiningPolicies).toEqual(['no-secrets']);
    expect(engine.evaluate({ principal: workload, action: 'k8s:deletecollection', resource: cluster, context: { ...ctx, apiResource: 'pods' } }).effect).toBe('deny');
    expect(engine.evaluate({ principal: workload, action: 'k8s:exec', resource: cluster, context: { ...ctx, apiResource: 'pods', subresource: 'exec', objectLabels: ['app=web'] } }).effect).toBe('allow');
  });
});
