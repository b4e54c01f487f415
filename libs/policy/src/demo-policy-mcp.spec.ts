import type { Principal } from '@gw/identity';
import { describe, expect, it } from 'vitest';
import { DEMO_POLICY } from './demo-policy.js';
import { PolicyEngine } from './engine.js';
import type { PolicyInput } from './input.js';

const workload: Principal = { id: 'iss#w', kind: 'workload', issuer: 'iss', subject: 'w', roles: [], groups: [], gatewayRoles: ['requester'] };
const files = { name: 'mcp-files', type: 'mcp', labels: { demo: 'true', env: 'dev' } } as const;
const engine = PolicyEngine.compile(DEMO_POLICY);
const decide = (action: PolicyInput['action'], context: PolicyInput['context'] = {}, resource: PolicyInput['resource'] = files) =>
  engine.evaluate({ principal: workload, action, resource, context: { sourceIp: '', ...context } });

describe('demo policy: MCP servers behind the gateway', () => {
  it('lets workloads connect to demo MCP servers with PII masked, and no other', () => {
    const connect = decide('connect');
    expect(connect.effect).toBe('allow');
    expect(connect.obligations.masking.entities).toContainEqual({ entity: 'email', style: 'partial' });
    expect(decide('connect', {}, { ...files, labels: {} }).effect).toBe('deny');
  });

  it('allows read-only tools, holds writes for an approver, denies move_file and anything unmarked', () => {
    expect(decide('mcp:call_tool', { tool: 'read_text_file', toolReadOnly: true }).effect).toBe('allow');
    const write = decide('mcp:call_tool', { tool: 'write_file', toolReadOnly: false, toolDestructive: true });
    expect(write.effect).toBe('require_approval');
    expect(write.obligations.approval?.approvers).toEqual(['role:approver']);
    const move = decide('mcp:call_tool', { tool: 'move_file', toolReadOnly: false });
    expect(move).toMatchObject({ effect: 'deny', determiningPolicies: ['requester-mcp-no-move'] });
    expect(decide('mcp:call_tool', { tool: 'something_else' }).effect).toBe('deny');
  });
});
