import { describe, expect, it } from 'vitest';
import { DEMO_POLICY, DEMO_SSH_LOGIN } from './demo-policy.js';
import { PolicyEngine } from './engine.js';
import type { PolicyInput } from './input.js';

const workload: PolicyInput['principal'] = { id: 'ai', kind: 'workload', issuer: 'i', subject: 's', roles: [], groups: [], gatewayRoles: ['requester'] };
const demoHost: PolicyInput['resource'] = { name: 'ssh-demo', type: 'ssh', labels: { demo: 'true' } };

describe('demo policy: SSH lines', () => {
  const engine = PolicyEngine.compile(DEMO_POLICY);
  const decide = (action: PolicyInput['action'], context: PolicyInput['context'] = {}, resource = demoHost) =>
    engine.evaluate({ principal: workload, action, resource, context: { login: DEMO_SSH_LOGIN, ...context } });

  it('lets workloads connect, run commands and copy files on demo hosts only', () => {
    expect(decide('connect').effect).toBe('allow');
    expect(decide('connect', {}, { ...demoHost, labels: {} }).effect).toBe('deny');
    expect(decide('ssh:exec', { command: 'uptime' }).effect).toBe('allow');
    expect(decide('ssh:sftp').effect).toBe('allow');
  });

  it('holds sudo for approval, forbids destructive commands, and gives no shell or forwarding', () => {
    expect(decide('ssh:exec', { command: 'sudo systemctl restart app' }).effect).toBe('require_approval');
    expect(decide('ssh:exec', { command: 'cd /var && rm -rf log' })).toMatchObject({ effect: 'deny', determiningPolicies: ['requester-ssh-no-destructive'] });
    expect(decide('ssh:exec', { command: 'sudo reboot' }).effect).toBe('deny');
    expect(decide('ssh:shell').effect).toBe('deny');
    expect(decide('ssh:forward', { host: '127.0.0.1', port: 5432 }).effect).toBe('deny');
  });

  it.each([
    ['root'], ['postgres'], ['ubuntu'], ['admin'], ['gw'], ['gw-demo2'], ['GW-DEMO'], ['gw-demo '], [' gw-demo'],
    ['gw-demo\u0000'], ['gw-demo@ssh-demo'], [''], ['*'],
  ])('refuses to connect as any login but the demo login: %j', (login) => {
    expect(decide('connect', { login }).effect).toBe('deny');
  });

  it('refuses a connect that names no login at all', () => {
    const input = { principal: workload, action: 'connect' as const, resource: demoHost, context: {} };
    expect(engine.evaluate(input).effect).toBe('deny');
  });

  it('the demo login is the unprivileged gw-demo user', () => {
    expect(DEMO_SSH_LOGIN).toBe('gw-demo');
    expect(decide('connect', { login: 'gw-demo' }).effect).toBe('allow');
  });
});
