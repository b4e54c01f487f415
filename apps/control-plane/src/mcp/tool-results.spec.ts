import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { Masker } from '@gw/masking';
import { execResult, statementResult } from './tool-results.js';

const SID = '00000000-0000-4000-8000-000000000001';
const masker = new Masker({ entities: [{ entity: 'email', style: 'partial' }], columns: [] }, { key: randomBytes(32) });

describe('statement answers as tool results', () => {
  it('rows: allow, with columns and counts; cut rows say so and how to get the rest', () => {
    const ok = statementResult({ kind: 'result', outcome: { columns: [{ name: 'id', dataTypeId: 23 }], rows: [['1']], rowCount: 1, command: 'SELECT', truncated: false } }, SID, 30);
    expect(ok.outcome).toBe('success');
    expect(ok.result.isError).toBeUndefined();
    expect(ok.result.structuredContent).toMatchObject({ decision: { effect: 'allow' }, rows: [['1']], rowCount: 1, truncated: false, sessionId: SID });
    const cut = statementResult({ kind: 'result', outcome: { columns: [], rows: [], rowCount: 0, command: 'SELECT', truncated: 'maxRows' } }, SID, 30);
    expect(cut.result.structuredContent).toMatchObject({ truncated: true, truncatedBy: 'maxRows' });
    expect((cut.result.structuredContent as { message: string }).message).toMatch(/raise maxRows/);
  });

  it('the agent\'s refusal is `denied` with its words; a timeout, several statements and other errors are told apart', () => {
    const denied = statementResult({ kind: 'error', code: '42501', message: 'denied by policy "no-ddl": no schema changes', timedOut: false }, SID, 30);
    expect(denied).toMatchObject({ outcome: 'denied', result: { isError: true, structuredContent: { error: 'denied', message: 'denied by policy "no-ddl": no schema changes', decision: { effect: 'deny' } } } });
    const approvalRefused = statementResult({ kind: 'error', code: '42501', message: 'approval 1 was denied by A: no; the statement did not run', timedOut: false }, SID, 30);
    expect(approvalRefused.result.structuredContent).toMatchObject({ error: 'denied' });
    const slow = statementResult({ kind: 'error', code: '57014', message: 'canceling statement due to user request', timedOut: true }, SID, 7);
    expect(slow.result.structuredContent).toMatchObject({ error: 'limit_reached', message: expect.stringContaining('time limit of 7 s') });
    const two = statementResult({ kind: 'error', code: '42501', message: 'denied: a prepared statement cannot contain several statements; denied', timedOut: false }, SID, 30);
    expect(two.result.structuredContent).toMatchObject({ error: 'invalid_request', message: expect.stringContaining('one statement per call') });
    // A 42501 from the database itself (a missing privilege) is not a policy decision.
    const privilege = statementResult({ kind: 'error', code: '42501', message: 'permission denied for table secrets', timedOut: false }, SID, 30);
    expect(privilege.result.structuredContent).toMatchObject({ error: 'statement_failed', sqlstate: '42501' });
  });
});

describe('command answers as tool results', () => {
  const base = { stdout: '', stderr: '', exitStatus: 0, signal: null, truncated: false, timedOut: false };

  it('output and stderr are masked; exit status kept', () => {
    const r = execResult({ ...base, stdout: 'mail ada@example.com\n', stderr: 'bob@example.org failed\n', exitStatus: 3 }, masker, SID, 30);
    expect(r.outcome).toBe('success');
    expect(r.result.structuredContent).toMatchObject({ stdout: 'mail a**@example.com\n', exitStatus: 3 });
    expect(JSON.stringify(r.result)).not.toContain('bob@example.org');
  });

  it('the agent\'s refusal (exit 126, a gateway line) is `denied` with the policy; a program\'s own 126 is not', () => {
    const denied = execResult({ ...base, stderr: 'gateway: command denied by policy "no-rm": deleting files is not allowed\r\n', exitStatus: 126 }, masker, SID, 30);
    expect(denied.result.structuredContent).toMatchObject({ error: 'denied', message: 'command denied by policy "no-rm": deleting files is not allowed', exitStatus: 126 });
    const own = execResult({ ...base, stderr: 'bash: ./x: Permission denied\n', exitStatus: 126 }, masker, SID, 30);
    expect(own.outcome).toBe('success');
    const afterHold = execResult({ ...base, stderr: 'gateway: command is held for approval 1 until x; ...\r\ngateway: command was denied by Approver (approval 1, policy sudo-held): not now\r\n', exitStatus: 126 }, masker, SID, 30);
    expect(afterHold.result.structuredContent).toMatchObject({ error: 'denied', message: 'command was denied by Approver (approval 1, policy sudo-held): not now' });
  });

  it('a command ended at the time limit says so, with what it printed', () => {
    const r = execResult({ ...base, stdout: 'started\n', exitStatus: null, signal: 'KILL', timedOut: true }, masker, SID, 5);
    expect(r.result.structuredContent).toMatchObject({ error: 'limit_reached', stdout: 'started\n', message: expect.stringContaining('5 s') });
  });
});
