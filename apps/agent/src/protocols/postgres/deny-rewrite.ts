import { randomBytes } from 'node:crypto';
import { errorResponse, serializeFrontend, type NoticeFields } from '@gw/protocol-postgres';

/**
 * How a statement is refused without emulating the server: the denied message is replaced by one
 * the server itself rejects at the same position (a unique marker that is a syntax error, or a Bind
 * of a statement that cannot exist). The server then aborts the transaction and, in the extended
 * protocol, skips to Sync exactly as for a permission error; its ErrorResponse is rewritten on the
 * way back into 42501 with the policy's message.
 */
export function newDenialMarker(): string {
  return `GW_DENIED_${randomBytes(8).toString('hex')}`;
}

export function deniedQuery(marker: string): Buffer {
  return serializeFrontend({ kind: 'Query', sql: marker });
}

export function deniedParse(statement: string, marker: string): Buffer {
  return serializeFrontend({ kind: 'Parse', statement, sql: marker, paramTypes: [] });
}

/** A Bind of a prepared statement named by the marker, which cannot exist: the server refuses it. */
export function deniedBind(portal: string, marker: string): Buffer {
  return serializeFrontend({ kind: 'Bind', portal, statement: marker, paramFormats: [], params: [], resultFormats: [] });
}

/**
 * The client's ErrorResponse for a denied message: only when the server's error is the marker's
 * own (otherwise, e.g. "current transaction is aborted", the server's error is what a real refusal
 * would have produced too and is forwarded unchanged).
 */
export function rewriteDenial(fields: NoticeFields, marker: string, message: string): Buffer | undefined {
  if (!(fields.message ?? '').includes(marker)) return undefined;
  return errorResponse({ severity: 'ERROR', code: '42501', message });
}
