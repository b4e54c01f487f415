import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { ToolCallEvents } from './tool-call-event.js';
import { errorResult, okResult } from './tool-context.js';

const events = new ToolCallEvents(randomBytes(32));

describe('ToolCallEvents', () => {
  it('never keeps SQL parameters, masks entities in other arguments, and cuts long text', () => {
    const e = events.event({
      tool: 'postgres_query',
      arguments: { resource: 'db', sql: "SELECT 1 WHERE email = 'ada@example.com'", params: ['4111 1111 1111 1111', null, 7], note: 'x'.repeat(5000) },
      result: okResult({ rows: [['secret']], rowCount: 1, command: 'SELECT', truncated: false, sessionId: 's' }),
      outcome: 'success',
      durationMs: 12,
      notes: { resourceSessionId: 's' },
    });
    const args = e.arguments as Record<string, unknown>;
    expect(args.params).toEqual(['<masked>', null, '<masked>']);
    expect(args.sql).not.toContain('ada@example.com');
    expect(String(args.note)).toMatch(/…\[cut at 4096 characters\]$/);
    expect(e).toMatchObject({ decision: { effect: 'allow' }, result: { rowCount: 1, command: 'SELECT', truncated: false }, durationMs: 12, resourceSessionId: 's' });
    // The rows themselves are not part of the summary.
    expect(JSON.stringify(e)).not.toContain('secret');
  });

  it('takes the decision the result states (with its policies), else the one the outcome implies, and none for a failure', () => {
    const denied = errorResult('denied', 'not allowed', { decision: { effect: 'deny', policies: ['closed-door'], reasons: ['closed'] } });
    expect(events.event({ tool: 't', arguments: {}, result: denied, outcome: 'denied', durationMs: 1, notes: {} }).decision).toEqual({ effect: 'deny', policies: ['closed-door'], reasons: ['closed'] });
    expect(events.event({ tool: 't', arguments: {}, result: errorResult('approval_required', 'held'), outcome: 'held', durationMs: 1, notes: {} }).decision).toEqual({ effect: 'require_approval' });
    const offline = events.event({ tool: 't', arguments: {}, result: errorResult('resource_offline', 'offline'), outcome: 'failure', durationMs: 1, notes: {} });
    expect(offline).toMatchObject({ decision: null, isError: true, result: { error: 'resource_offline', message: 'offline' } });
  });
});
