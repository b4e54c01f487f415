import type { BackendMessage, FieldDescription, NoticeFields, TransactionStatus } from './backend-messages.js';
import { NOTICE_FIELD_CODES } from './backend-messages.js';
import { ProtocolError } from './errors.js';
import { readFormats, toFormat } from './formats.js';
import type { Parsed } from './frontend-messages.js';
import type { ProtocolLimits } from './limits.js';
import { table, type MessageTable } from './message-table.js';
import type { Reader } from './reader.js';
import { MAX_SECRET_KEY_LENGTH } from './startup.js';

/** Mechanism names in AuthenticationSASL; a server offers one or two (SCRAM-SHA-256, -PLUS). */
const MAX_SASL_MECHANISMS = 16;
/** Unknown ErrorResponse field codes kept per message; real servers send none. */
const MAX_UNKNOWN_NOTICE_FIELDS = 32;

const FIELD_BY_CODE: ReadonlyMap<number, keyof typeof NOTICE_FIELD_CODES> = new Map(
  Object.entries(NOTICE_FIELD_CODES).map(([name, code]) => [code.charCodeAt(0), name as keyof typeof NOTICE_FIELD_CODES]),
);

function decodeAuthentication(r: Reader, raw: Buffer): Parsed<BackendMessage> {
  const code = r.i32('authentication code');
  switch (code) {
    case 0:
      return { kind: 'AuthenticationOk', raw };
    case 2:
      return { kind: 'AuthenticationKerberosV5', raw };
    case 3:
      return { kind: 'AuthenticationCleartextPassword', raw };
    case 5:
      return { kind: 'AuthenticationMD5Password', salt: r.bytes(4, 'salt'), raw };
    case 7:
      return { kind: 'AuthenticationGSS', raw };
    case 8:
      return { kind: 'AuthenticationGSSContinue', data: r.rest(), raw };
    case 9:
      return { kind: 'AuthenticationSSPI', raw };
    case 10: {
      const mechanisms: string[] = [];
      for (;;) {
        const name = r.cstring('SASL mechanism');
        if (name === '') break;
        if (mechanisms.length === MAX_SASL_MECHANISMS) {
          throw new ProtocolError('limit_exceeded', `AuthenticationSASL: more than ${MAX_SASL_MECHANISMS} mechanisms`);
        }
        mechanisms.push(name);
      }
      return { kind: 'AuthenticationSASL', mechanisms, raw };
    }
    case 11:
      return { kind: 'AuthenticationSASLContinue', data: r.rest(), raw };
    case 12:
      return { kind: 'AuthenticationSASLFinal', data: r.rest(), raw };
    default:
      throw new ProtocolError('unknown_message', `Authentication: unknown request code ${code}`);
  }
}

function decodeNoticeFields(r: Reader): NoticeFields {
  const fields: { -readonly [K in keyof NoticeFields]: NoticeFields[K] } = {};
  const unknown: { code: string; value: string }[] = [];
  for (;;) {
    const code = r.u8('field code');
    if (code === 0) break;
    const value = r.cstring('field value');
    const name = FIELD_BY_CODE.get(code);
    if (name !== undefined) {
      fields[name] = value;
    } else {
      // The protocol says to ignore unknown codes; we keep them (bounded) so re-encoding is lossless.
      if (unknown.length === MAX_UNKNOWN_NOTICE_FIELDS) {
        throw new ProtocolError('limit_exceeded', `more than ${MAX_UNKNOWN_NOTICE_FIELDS} unknown notice fields`);
      }
      unknown.push({ code: String.fromCharCode(code), value });
    }
  }
  if (unknown.length > 0) fields.unknown = unknown;
  return fields;
}

function decodeFields(r: Reader, limits: ProtocolLimits): FieldDescription[] {
  // Each field is at least 19 bytes: empty name (1) + 4 + 2 + 4 + 2 + 4 + 2.
  const n = r.count(limits.maxFields, 19, 'fields');
  const fields = new Array<FieldDescription>(n);
  for (let i = 0; i < n; i++) {
    fields[i] = {
      name: r.cstring('field name'),
      tableOid: r.u32('table oid'),
      columnAttr: r.i16('column number'),
      typeOid: r.u32('type oid'),
      typeSize: r.i16('type size'),
      typeModifier: r.i32('type modifier'),
      format: toFormat(r.i16('format'), 'RowDescription'),
    };
  }
  return fields;
}

function decodeDataRow(r: Reader, raw: Buffer, limits: ProtocolLimits): Parsed<BackendMessage> {
  const n = r.count(limits.maxFields, 4, 'columns');
  const values = new Array<Buffer | null>(n);
  for (let i = 0; i < n; i++) values[i] = r.nullableBytes('column');
  return { kind: 'DataRow', values, raw };
}

function toStatus(v: number): TransactionStatus {
  if (v === 0x49) return 'I';
  if (v === 0x54) return 'T';
  if (v === 0x45) return 'E';
  throw new ProtocolError('invalid_value', `ReadyForQuery: unknown transaction status byte ${v}`);
}

function copyResponse<K extends 'CopyInResponse' | 'CopyOutResponse' | 'CopyBothResponse'>(kind: K) {
  return {
    name: kind,
    decode: (r: Reader, raw: Buffer, limits: ProtocolLimits): Parsed<BackendMessage> => {
      const format = toFormat(r.u8('format'), kind);
      const columnFormats = readFormats(r, limits.maxFields, 'column formats');
      return { kind, format, columnFormats, raw };
    },
  };
}

/** Backend messages keyed by type byte. */
export const BACKEND_MESSAGES: MessageTable<BackendMessage> = table<BackendMessage>({
  R: { name: 'Authentication', decode: decodeAuthentication },
  S: {
    name: 'ParameterStatus',
    decode: (r, raw) => {
      const name = r.cstring('name');
      return { kind: 'ParameterStatus', name, value: r.cstring('value'), raw };
    },
  },
  K: {
    name: 'BackendKeyData',
    decode: (r, raw) => {
      const processId = r.i32('process id');
      if (r.remaining < 4 || r.remaining > MAX_SECRET_KEY_LENGTH) {
        throw new ProtocolError('bad_length', `BackendKeyData: secret key of ${r.remaining} bytes (4..${MAX_SECRET_KEY_LENGTH})`);
      }
      return { kind: 'BackendKeyData', processId, secretKey: r.rest(), raw };
    },
  },
  Z: { name: 'ReadyForQuery', exactLength: 5, decode: (r, raw) => ({ kind: 'ReadyForQuery', status: toStatus(r.u8()), raw }) },
  T: { name: 'RowDescription', decode: (r, raw, limits) => ({ kind: 'RowDescription', fields: decodeFields(r, limits), raw }) },
  D: { name: 'DataRow', decode: decodeDataRow },
  C: { name: 'CommandComplete', decode: (r, raw) => ({ kind: 'CommandComplete', tag: r.cstring('tag'), raw }) },
  I: { name: 'EmptyQueryResponse', exactLength: 4, decode: (_r, raw) => ({ kind: 'EmptyQueryResponse', raw }) },
  E: { name: 'ErrorResponse', decode: (r, raw) => ({ kind: 'ErrorResponse', fields: decodeNoticeFields(r), raw }) },
  N: { name: 'NoticeResponse', decode: (r, raw) => ({ kind: 'NoticeResponse', fields: decodeNoticeFields(r), raw }) },
  '1': { name: 'ParseComplete', exactLength: 4, decode: (_r, raw) => ({ kind: 'ParseComplete', raw }) },
  '2': { name: 'BindComplete', exactLength: 4, decode: (_r, raw) => ({ kind: 'BindComplete', raw }) },
  '3': { name: 'CloseComplete', exactLength: 4, decode: (_r, raw) => ({ kind: 'CloseComplete', raw }) },
  n: { name: 'NoData', exactLength: 4, decode: (_r, raw) => ({ kind: 'NoData', raw }) },
  t: {
    name: 'ParameterDescription',
    decode: (r, raw, limits) => {
      const n = r.count(limits.maxParams, 4, 'parameter types');
      const typeOids = new Array<number>(n);
      for (let i = 0; i < n; i++) typeOids[i] = r.u32('parameter type');
      return { kind: 'ParameterDescription', typeOids, raw };
    },
  },
  s: { name: 'PortalSuspended', exactLength: 4, decode: (_r, raw) => ({ kind: 'PortalSuspended', raw }) },
  G: copyResponse('CopyInResponse'),
  H: copyResponse('CopyOutResponse'),
  W: copyResponse('CopyBothResponse'),
  d: { name: 'CopyData', copy: true, decode: (r, raw) => ({ kind: 'CopyData', data: r.rest(), raw }) },
  c: { name: 'CopyDone', exactLength: 4, decode: (_r, raw) => ({ kind: 'CopyDone', raw }) },
  A: {
    name: 'NotificationResponse',
    decode: (r, raw) => {
      const processId = r.i32('process id');
      const channel = r.cstring('channel');
      return { kind: 'NotificationResponse', processId, channel, payload: r.cstring('payload'), raw };
    },
  },
  V: { name: 'FunctionCallResponse', decode: (r, raw) => ({ kind: 'FunctionCallResponse', result: r.nullableBytes('result'), raw }) },
  v: {
    name: 'NegotiateProtocolVersion',
    decode: (r, raw, limits) => {
      const newestMinorVersion = r.i32('newest minor version');
      if (newestMinorVersion < 0 || newestMinorVersion > 0xffff) {
        throw new ProtocolError('invalid_value', `NegotiateProtocolVersion: minor version ${newestMinorVersion}`);
      }
      const n = r.count(limits.maxParams, 1, 'unrecognized options', 'i32');
      const unrecognizedOptions = new Array<string>(n);
      for (let i = 0; i < n; i++) unrecognizedOptions[i] = r.cstring('option name');
      return { kind: 'NegotiateProtocolVersion', newestMinorVersion, unrecognizedOptions, raw };
    },
  },
});
