import type { NoticeFields, TransactionStatus } from './backend-messages.js';
import { serializeBackend } from './backend-serialize.js';
import { ProtocolError } from './errors.js';

export type ErrorSeverity = 'ERROR' | 'FATAL' | 'PANIC';
export type NoticeSeverity = 'WARNING' | 'NOTICE' | 'DEBUG' | 'INFO' | 'LOG';

export interface ErrorInit<S extends string> {
  readonly severity: S;
  /** SQLSTATE: five characters of 0-9 and A-Z, e.g. 28000, 42501, 08P01. */
  readonly code: string;
  readonly message: string;
  readonly detail?: string;
  readonly hint?: string;
}

const SQLSTATE = /^[0-9A-Z]{5}$/;

function fieldsOf(init: ErrorInit<string>): NoticeFields {
  if (!SQLSTATE.test(init.code)) throw new ProtocolError('invalid_value', `SQLSTATE ${JSON.stringify(init.code)} is not 5 of [0-9A-Z]`);
  return {
    severity: init.severity,
    // Clients such as libpq prefer V (never localized) when deciding whether the error is FATAL.
    severityNonLocalized: init.severity,
    code: init.code,
    message: init.message,
    ...(init.detail !== undefined ? { detail: init.detail } : {}),
    ...(init.hint !== undefined ? { hint: init.hint } : {}),
  };
}

/** An ErrorResponse frame the gateway sends itself (refusals: 28000, 42501, 08P01...). */
export function errorResponse(init: ErrorInit<ErrorSeverity>): Buffer {
  return serializeBackend({ kind: 'ErrorResponse', fields: fieldsOf(init) });
}

export function noticeResponse(init: ErrorInit<NoticeSeverity>): Buffer {
  return serializeBackend({ kind: 'NoticeResponse', fields: fieldsOf(init) });
}

export function readyForQuery(status: TransactionStatus): Buffer {
  return serializeBackend({ kind: 'ReadyForQuery', status });
}
