import { describe, expect, it } from 'vitest';
import { DEMO_POLICY } from './demo-policy.js';
import { PolicyEngine } from './engine.js';
import type { PolicyInput } from './input.js';

const workload: PolicyInput['principal'] = { id: 'ai', kind: 'workload', issuer: 'i', subject: 's', roles: [], groups: [], gatewayRoles: ['requester'] };
const demoHost: PolicyInput['resource'] = { name: 'ssh-demo', type: 'ssh', labels: { demo: 'true' } };

describe('demo policy: SSH lines', () => {
  const engine = PolicyEngine.compile(DEMO_POLICY);
  const decide = (action: PolicyInput['action'], context: PolicyInput['context'] = {}, resource = demoHost) =>
    engine.evaluate({ principal: workload, action, resource, context: { login: 'demo', ...context } });

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
});
