import { NOT_OWNER_MESSAGE, type SessionSignal, type SessionSignalAck } from '@gw/contracts';
import { serializeFrontend, type Bind, type Parse } from '@gw/protocol-postgres';
import type { StatementClassification } from '@gw/sql';
import { NO_MASKING, denied, type StatementVerdict } from './statement-policy.js';

/**
 * `SELECT pg_cancel_backend(<pid>)` / `pg_terminate_backend(<pid>)` where the pid is one the
 * gateway handed out (its BackendKeyData: the only pid a client sees, and what Knex's
 * `.timeout(ms, { cancel: true })` sends on a second connection, as `SELECT pg_cancel_backend($1)`).
 * The server does not know that pid, so the agent asks the control plane to cancel (or end) the
 * session behind it, which it does only for a session of the same principal, and answers with the
 * boolean the function would return. A pid the gateway did not hand out (a real backend's, from
 * `pg_stat_activity`) is left to policy, as any other call of these functions.
 */
export interface BackendSignalCall {
  fn: 'pg_cancel_backend' | 'pg_terminate_backend';
  action: SessionSignal['action'];
  /** The literal pid, or the statement's only parameter ($1, extended protocol). */
  pid: number | 'param';
}

/** Asks the control plane; bound to the asking session by the handler. */
export type SignalBackend = (signal: Omit<SessionSignal, 'sessionId'>) => Promise<SessionSignalAck>;

/**
 * Only the plain call, alone, is translated (what drivers and people type); anything around it
 * (other columns, a FROM, a second argument) is not a bare signal and goes to policy unchanged.
 */
const BARE_CALL =
  /^select\s+(?:pg_catalog\s*\.\s*)?(pg_cancel_backend|pg_terminate_backend)\s*\(\s*(?:([0-9]{1,10})|\$1)\s*(?:::\s*(?:int4|integer|int|int8|bigint))?\s*\)(?:\s+as\s+[a-z_][a-z0-9_]*)?\s*;?\s*$/i;

export function backendSignalCall(statement: StatementClassification): BackendSignalCall | undefined {
  if (statement.kind !== 'select' || statement.tablesRead.length > 0 || statement.functions.length !== 1) return undefined;
  const match = BARE_CALL.exec(statement.text.trim());
  if (!match) return undefined;
  const fn = match[1]!.toLowerCase() as BackendSignalCall['fn'];
  if (!statement.functions[0]!.toLowerCase().endsWith(fn)) return undefined;
  const pid = match[2] === undefined ? 'param' : Number(match[2]);
  if (pid !== 'param' && !isClientKey(pid)) return undefined;
  return { fn, action: fn === 'pg_cancel_backend' ? 'cancel' : 'terminate', pid };
}

/** Gateway pids are positive 31-bit numbers (see the control plane's CancelKeys). */
function isClientKey(n: number): boolean {
  return Number.isInteger(n) && n >= 1 && n <= 0x7fffffff;
}

/** What the answer means for the statement: its result, a refusal, or "not ours: policy decides". */
export type SignalResolution =
  | { kind: 'signalled'; verdict: StatementVerdict }
  | { kind: 'refused'; verdict: StatementVerdict }
  | { kind: 'not-gateway-pid' };

export async function resolveSignal(call: BackendSignalCall, pid: number, signal: SignalBackend | undefined): Promise<SignalResolution> {
  if (!signal || !isClientKey(pid)) return { kind: 'not-gateway-pid' };
  let ack: SessionSignalAck;
  try {
    ack = await signal({ clientKey: pid, action: call.action });
  } catch (error) {
    ack = { ok: false, error: error instanceof Error ? error.message : String(error) };
  }
  if (!ack.ok) return { kind: 'refused', verdict: denied(`${call.fn}(${pid}): the control plane could not be asked (${ack.error}); nothing was signalled`) };
  switch (ack.outcome) {
    case 'signalled': {
      const did = call.action === 'cancel' ? 'statement cancelled' : 'session ended';
      return { kind: 'signalled', verdict: { effect: 'allow', policies: [], reasons: [`${call.fn}(${pid}): ${did} through the gateway (a session of the same principal)`], masking: NO_MASKING } };
    }
    case 'not-owner':
      return { kind: 'refused', verdict: { ...denied(`process ${pid} ${NOT_OWNER_MESSAGE}`), message: `${call.fn}(${pid}): process ${pid} ${NOT_OWNER_MESSAGE}` } };
    case 'unknown':
      return { kind: 'not-gateway-pid' };
  }
}

/** The simple-protocol answer to a signalled call, produced by the server so it stays the source of ReadyForQuery. */
export function signalledQuery(call: BackendSignalCall): Buffer {
  return serializeFrontend({ kind: 'Query', sql: `SELECT true AS ${call.fn}` });
}

/**
 * The Parse sent in place of `SELECT pg_cancel_backend($1)`: one statement that answers every
 * outcome, chosen at Bind by the value the agent puts in $1 ('true' once the gateway signalled the
 * session; the client's pid, left to policy, runs the real function). $1 is declared text so the
 * agent's value always parses, whatever type the client declared.
 */
export function signalParse(m: Parse, call: BackendSignalCall): Buffer {
  const sql = `SELECT CASE WHEN $1::text = 'true' THEN true ELSE pg_catalog.${call.fn}($1::text::int4) END AS ${call.fn}`;
  return serializeFrontend({ kind: 'Parse', statement: m.statement, sql, paramTypes: [25] });
}

/** The pid the client bound to $1 (text or binary int4/int8); undefined when it is not one. */
export function boundPid(m: Bind): number | undefined {
  if (m.params.length !== 1) return undefined;
  const value = m.params[0];
  if (!value) return undefined;
  const format = m.paramFormats[0] ?? 0;
  if (format === 0) {
    const text = value.toString('utf8').trim();
    return /^[0-9]{1,10}$/.test(text) ? Number(text) : undefined;
  }
  if (value.length === 4) return value.readInt32BE(0);
  if (value.length === 8) {
    const n = value.readBigInt64BE(0);
    return n >= 0n && n <= 0x7fffffffn ? Number(n) : undefined;
  }
  return undefined;
}

/** The client's Bind with $1 replaced by `value` as text (null: SQL NULL). */
export function signalBind(m: Bind, value: string | null): Buffer {
  const param = value === null ? null : Buffer.from(value, 'utf8');
  return serializeFrontend({ kind: 'Bind', portal: m.portal, statement: m.statement, paramFormats: [0], params: [param], resultFormats: m.resultFormats });
}
