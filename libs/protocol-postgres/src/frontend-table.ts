import type { FrontendMessage } from './frontend-messages.js';
import { readFormats, readValues, toFormat, toTarget } from './formats.js';
import { table, type MessageTable } from './message-table.js';

/** Typed frontend messages (everything after the startup phase), keyed by type byte. */
export const FRONTEND_MESSAGES: MessageTable<FrontendMessage> = table<FrontendMessage>({
  Q: { name: 'Query', decode: (r, raw) => ({ kind: 'Query', sql: r.cstring('query'), raw }) },
  P: {
    name: 'Parse',
    decode: (r, raw, limits) => {
      const statement = r.cstring('statement name');
      const sql = r.cstring('query');
      const n = r.count(limits.maxParams, 4, 'parameter types');
      const paramTypes = new Array<number>(n);
      for (let i = 0; i < n; i++) paramTypes[i] = r.u32('parameter type');
      return { kind: 'Parse', statement, sql, paramTypes, raw };
    },
  },
  B: {
    name: 'Bind',
    decode: (r, raw, limits) => {
      const portal = r.cstring('portal name');
      const statement = r.cstring('statement name');
      const paramFormats = readFormats(r, limits.maxParams, 'parameter formats');
      const params = readValues(r, limits.maxParams, 'parameters');
      const resultFormats = readFormats(r, limits.maxFields, 'result formats');
      return { kind: 'Bind', portal, statement, paramFormats, params, resultFormats, raw };
    },
  },
  D: {
    name: 'Describe',
    decode: (r, raw) => ({ kind: 'Describe', target: toTarget(r.u8(), 'Describe'), name: r.cstring('name'), raw }),
  },
  E: {
    name: 'Execute',
    decode: (r, raw) => {
      const portal = r.cstring('portal name');
      const maxRows = r.i32('max rows');
      return { kind: 'Execute', portal, maxRows, raw };
    },
  },
  C: {
    name: 'Close',
    decode: (r, raw) => ({ kind: 'Close', target: toTarget(r.u8(), 'Close'), name: r.cstring('name'), raw }),
  },
  S: { name: 'Sync', exactLength: 4, decode: (_r, raw) => ({ kind: 'Sync', raw }) },
  H: { name: 'Flush', exactLength: 4, decode: (_r, raw) => ({ kind: 'Flush', raw }) },
  X: { name: 'Terminate', exactLength: 4, decode: (_r, raw) => ({ kind: 'Terminate', raw }) },
  d: { name: 'CopyData', copy: true, decode: (r, raw) => ({ kind: 'CopyData', data: r.rest(), raw }) },
  c: { name: 'CopyDone', exactLength: 4, decode: (_r, raw) => ({ kind: 'CopyDone', raw }) },
  f: { name: 'CopyFail', decode: (r, raw) => ({ kind: 'CopyFail', message: r.cstring('message'), raw }) },
  F: {
    name: 'FunctionCall',
    decode: (r, raw, limits) => {
      const functionOid = r.u32('function oid');
      const argFormats = readFormats(r, limits.maxParams, 'argument formats');
      const args = readValues(r, limits.maxParams, 'arguments');
      const resultFormat = toFormat(r.i16('result format'), 'result format');
      return { kind: 'FunctionCall', functionOid, argFormats, args, resultFormat, raw };
    },
  },
  // Sent before the client is authenticated: bounded like PostgreSQL's PG_MAX_AUTH_TOKEN_LENGTH (65535).
  p: { name: 'AuthenticationResponse', maxLength: 65_535 + 4, decode: (r, raw) => ({ kind: 'AuthenticationResponse', data: r.rest(), raw }) },
});
