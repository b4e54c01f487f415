import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import type { Masker } from '@gw/masking';
import { DomainErrorCode } from '../common/domain-error.js';
import type { ApprovalEntity } from '../approvals/approval.entity.js';
import type { approvalView } from '../approvals/approval-view.js';
import { ToolRefusalKind, errorResult, okResult } from './tool-context.js';
import { PG_LIMITS, type StatementEnd } from './tunnel-postgres.js';
import type { ExecOutcome } from './tunnel-ssh.js';

/** How a call ended, for the audit event (`held`: waiting for an approval). */
export type ToolOutcome = 'success' | 'denied' | 'failure' | 'held';

/*
 * What the agent answered, as a tool result a model can act on: the rows, or which policy refused
 * it and why, or which limit was reached. Pure functions of the answer (tested in tool-results.spec.ts).
 */

export function settledResult(approval: ApprovalEntity, view: ReturnType<typeof approvalView>, heldCall: boolean) {
  if (approval.status === 'approved') return { result: okResult({ approval: view }), outcome: 'success' as const };
  const by = approval.votes.find((v) => v.decision === 'deny');
  const what = heldCall ? 'it did not run' : 'nothing was granted';
  const why = approval.status === 'denied' ? `was denied${by ? ` by ${by.approverName}` : ''}${by?.comment ? `: ${by.comment}` : ''}` : `is ${approval.status}`;
  return { result: errorResult(ToolRefusalKind.Denied, `approval ${approval.id} ${why}; ${what}`, { approval: view }), outcome: 'denied' as const };
}

export function domainKind(code: DomainErrorCode): string {
  switch (code) {
    case DomainErrorCode.NotFound:
      return ToolRefusalKind.NotFound;
    case DomainErrorCode.Forbidden:
      return ToolRefusalKind.Denied;
    case DomainErrorCode.ValidationFailed:
      return ToolRefusalKind.Invalid;
    case DomainErrorCode.Unauthenticated:
    case DomainErrorCode.Conflict:
    case DomainErrorCode.PolicyInvalid:
    case DomainErrorCode.Unavailable:
      return code;
  }
}

/** A statement's end as the tool's answer: rows, or why it did not run. */
export function statementResult(end: StatementEnd, sessionId: string, timeoutSeconds: number): { result: CallToolResult; outcome: ToolOutcome } {
  if (end.kind === 'result') {
    const o = end.outcome;
    return {
      result: okResult({
        decision: { effect: 'allow' }, columns: o.columns, rows: o.rows, rowCount: o.rowCount, command: o.command, truncated: o.truncated !== false,
        ...(o.truncated ? { truncatedBy: o.truncated, message: o.truncated === 'maxRows' ? `more rows exist: add a WHERE or LIMIT, or raise maxRows (at most ${PG_LIMITS.maxRows})` : `the rows were cut at ${PG_LIMITS.maxBytes / 1024} KiB: select fewer or narrower columns, or fewer rows` } : {}),
        sessionId,
      }),
      outcome: 'success',
    };
  }
  if (end.timedOut) return { result: errorResult(ToolRefusalKind.Limit, `the statement was cancelled at the time limit of ${timeoutSeconds} s (timeoutSeconds, at most ${PG_LIMITS.maxTimeoutSeconds})`, { sqlstate: end.code, sessionId }), outcome: 'failure' };
  // The tool speaks the extended protocol (parameters, a cursor): the agent refuses several statements in one.
  if (/multiple commands|cannot contain several statements/.test(end.message)) {
    return { result: errorResult(ToolRefusalKind.Invalid, `postgres_query runs one statement per call: send each statement in its own call (${end.message})`, { sqlstate: end.code, sessionId }), outcome: 'failure' };
  }
  if (end.code === '42501' && /^(denied|approval )/.test(end.message)) {
    return { result: errorResult(ToolRefusalKind.Denied, end.message, { sqlstate: end.code, decision: { effect: 'deny' }, sessionId }), outcome: 'denied' };
  }
  return { result: errorResult('statement_failed', `the database refused the statement: ${end.message} (SQLSTATE ${end.code})`, { sqlstate: end.code, sessionId }), outcome: 'failure' };
}

/** The agent refuses a command (by policy, or after a hold that was not approved) with exit status 126 and a `gateway: ...` line on stderr. */
const REFUSED_LINE = /^gateway: command (denied|was denied|was not approved|did not run|needs approval)/m;

export function execResult(o: ExecOutcome, masker: Masker, sessionId: string, timeoutSeconds: number): { result: CallToolResult; outcome: ToolOutcome } {
  const stdout = masker.maskEntities(o.stdout);
  const stderr = masker.maskEntities(o.stderr);
  if (o.exitStatus === 126 && REFUSED_LINE.test(o.stderr)) {
    const line = stderr.split(/\r?\n/).filter((l) => l.startsWith('gateway: ') && !/is held for approval/.test(l)).at(-1) ?? stderr.trim();
    return { result: errorResult(ToolRefusalKind.Denied, line.replace(/^gateway: /, ''), { exitStatus: 126, decision: { effect: 'deny' }, sessionId }), outcome: 'denied' };
  }
  const value = { decision: { effect: 'allow' }, stdout, stderr, exitStatus: o.exitStatus, signal: o.signal, truncated: o.truncated, sessionId };
  if (o.timedOut) return { result: errorResult(ToolRefusalKind.Limit, `the command was ended at the time limit of ${timeoutSeconds} s`, value), outcome: 'failure' };
  return { result: okResult(value), outcome: 'success' };
}
