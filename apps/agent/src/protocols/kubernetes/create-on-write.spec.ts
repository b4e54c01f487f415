import { describe, expect, it } from 'vitest';
import { PolicyEngine, type GatewayAction } from '@gw/policy';
import { decideWriteThatMayCreate, type Existence } from './create-on-write.js';
import { requestAttributes } from './request-attributes.js';
import { policyContextFor } from './request-policy.js';

const POLICY = `
@id("update-bindings") permit (principal, action in [Gateway::Action::"k8s:update", Gateway::Action::"k8s:patch"], resource)
  when { context has apiResource && context.apiResource == "rolebindings" };
@id("write-configmaps") permit (principal, action in [Gateway::Action::"k8s:create", Gateway::Action::"k8s:update"], resource)
  when { context has apiResource && context.apiResource == "configmaps" };
@id("create-leases-approval") @approval("required") permit (principal, action == Gateway::Action::"k8s:create", resource)
  when { context has apiResource && context.apiResource == "leases" };
@id("update-leases") permit (principal, action == Gateway::Action::"k8s:update", resource)
  when { context has apiResource && context.apiResource == "leases" };
`;
const engine = PolicyEngine.compile(POLICY);

/** Decides a PUT to `url` as the handler does, with `exists` standing for the API server's answer. */
async function decidePut(url: string, found: Existence) {
  const attrs = requestAttributes('PUT', url);
  const decide = (action: GatewayAction) => engine.evaluate({
    principal: { id: 'iss#w', kind: 'workload', issuer: 'iss', subject: 'w', roles: [], groups: [], gatewayRoles: [] },
    action, resource: { name: 'c', type: 'kubernetes', labels: {} }, context: policyContextFor(attrs, {}, ''),
  });
  let asked = 0;
  const outcome = await decideWriteThatMayCreate(decide('k8s:update'), decide('k8s:create'), () => {
    asked += 1;
    return Promise.resolve(found);
  }, { request: 'a PUT', action: 'k8s:update' });
  return { ...outcome, asked };
}

const BINDING = '/apis/rbac.authorization.k8s.io/v1/namespaces/default/rolebindings/admins';

describe('a write that creates the object when it does not exist', () => {
  it('is decided as k8s:create when the object does not exist (update permitted, create not)', async () => {
    const outcome = await decidePut(BINDING, { exists: false, status: 404 });
    expect(outcome).toMatchObject({ decidedAsCreate: true, check: { exists: false, status: 404 }, asked: 1 });
    expect(outcome.decision.effect).toBe('deny');
    expect(outcome.decision.reasons[0]).toContain('a PUT creates the object when it does not exist');
    expect(outcome.decision.reasons[0]).toContain('it does not exist, so it is decided as k8s:create');
  });

  it('is decided as the update when the object exists', async () => {
    const outcome = await decidePut(BINDING, { exists: true, status: 200 });
    expect(outcome).toMatchObject({ decidedAsCreate: false, check: { exists: true, status: 200 }, asked: 1 });
    expect(outcome.decision.effect).toBe('allow');
    expect(outcome.decision.determiningPolicies).toEqual(['update-bindings']);
  });

  it('is refused when whether the object exists cannot be found out', async () => {
    const outcome = await decidePut(BINDING, { error: 'the API server answered 403 to the agent\'s GET' });
    expect(outcome.decision).toMatchObject({ effect: 'deny', determiningPolicies: [] });
    expect(outcome.decision.reasons[0]).toContain("whether it exists could not be checked (the API server answered 403 to the agent's GET), so it is refused");
    expect(outcome.check).toEqual({ exists: null, error: 'the API server answered 403 to the agent\'s GET' });
  });

  it('holds a create that needs an approval only when the object does not exist', async () => {
    const absent = await decidePut('/apis/coordination.k8s.io/v1/namespaces/default/leases/l', { exists: false, status: 404 });
    expect(absent.decision.effect).toBe('require_approval');
    const present = await decidePut('/apis/coordination.k8s.io/v1/namespaces/default/leases/l', { exists: true, status: 200 });
    expect(present.decision.effect).toBe('allow');
  });

  it('asks nothing when policy decides create and update alike (both permitted, or the update denied)', async () => {
    const both = await decidePut('/api/v1/namespaces/default/configmaps/c', { error: 'must not be asked' });
    expect(both).toMatchObject({ decidedAsCreate: false, asked: 0 });
    expect(both.decision.effect).toBe('allow');
    expect(both.check).toBeUndefined();
    const neither = await decidePut('/api/v1/namespaces/default/secrets/s', { error: 'must not be asked' });
    expect(neither).toMatchObject({ asked: 0 });
    expect(neither.decision.effect).toBe('deny');
  });
});
