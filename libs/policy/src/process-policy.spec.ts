import type { Principal } from '@gw/identity';
import { describe, expect, it } from 'vitest';
import { PolicyEngine } from './engine.js';
import { validatePolicySet } from './validate.js';

const run = (ref: string, environment?: string): Principal => ({
  id: 'https://token.actions.githubusercontent.com#repo:acme/deploy', kind: 'workload', issuer: 'https://token.actions.githubusercontent.com',
  subject: 'repo:acme/deploy', roles: [], groups: [], gatewayRoles: ['requester'],
  process: { platform: 'github-actions', issuer: 'https://token.actions.githubusercontent.com', subject: 'repo:acme/deploy', source: 'token', repository: 'acme/deploy', ref, run_id: '77', ...(environment ? { environment } : {}) },
});
const db = { name: 'orders', type: 'postgres', environment: 'prod' } as const;

const MAIN_ONLY = `
@id("main-branch-runs-only")
permit (principal, action == Gateway::Action::"connect", resource)
when { principal has process && principal.process has repository && principal.process has ref && principal.process.repository == "acme/deploy" && principal.process.ref == "refs/heads/main" };
`;

describe('Cedar reads principal.process', () => {
  it('a policy that allows only main-branch runs allows main and denies a feature branch and a principal without a process', () => {
    const engine = PolicyEngine.compile(MAIN_ONLY);
    expect(engine.evaluate({ principal: run('refs/heads/main'), action: 'connect', resource: db }).effect).toBe('allow');
    expect(engine.evaluate({ principal: run('refs/heads/feature'), action: 'connect', resource: db }).effect).toBe('deny');
    const { process: _omitted, ...plain } = run('refs/heads/main');
    expect(engine.evaluate({ principal: plain, action: 'connect', resource: db }).effect).toBe('deny');
  });

  it('optional process fields must be tested with `has` (strict validation)', () => {
    const result = validatePolicySet(`@id("x") permit (principal, action == Gateway::Action::"connect", resource) when { principal.process.environment == "production" };`);
    expect(result.ok).toBe(false);
    expect(validatePolicySet(`@id("x") permit (principal, action == Gateway::Action::"connect", resource) when { principal has process && principal.process has environment && principal.process.environment == "production" };`).ok).toBe(true);
  });

  it('decisions for different processes are not mixed up by the decision cache', () => {
    const engine = PolicyEngine.compile(`@id("prod-env") permit (principal, action == Gateway::Action::"connect", resource) when { principal has process && principal.process has environment && principal.process.environment == "production" };`);
    expect(engine.evaluate({ principal: run('refs/heads/main', 'production'), action: 'connect', resource: db }).effect).toBe('allow');
    expect(engine.evaluate({ principal: run('refs/heads/main', 'staging'), action: 'connect', resource: db }).effect).toBe('deny');
  });
});
