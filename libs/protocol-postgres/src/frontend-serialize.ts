import { ProtocolError } from './errors.js';
import {
  CANCEL_REQUEST_CODE,
  GSSENC_REQUEST_CODE,
  SSL_REQUEST_CODE,
  type FormatCode,
  type FrontendMessage,
} from './frontend-messages.js';
import { MAX_SECRET_KEY_LENGTH } from './startup.js';
import { Writer } from './writer.js';

/**
 * Encodes any frontend message. `raw` on a parsed message is ignored on purpose: a message that was
 * changed (masked, rewritten) must never go out with its original bytes.
 */
export function serializeFrontend(message: FrontendMessage): Buffer {
  const w = new Writer(sizeHint(message));
  writeFrontend(w, message);
  return w.finish();
}

/** Appends one frontend message to a Writer, so several can be batched into one buffer. */
export function writeFrontend(w: Writer, m: FrontendMessage): void {
  switch (m.kind) {
    case 'SSLRequest':
      w.begin(null).i32(SSL_REQUEST_CODE).end();
      return;
    case 'GSSENCRequest':
      w.begin(null).i32(GSSENC_REQUEST_CODE).end();
      return;
    case 'CancelRequest':
      if (m.secretKey.length < 4 || m.secretKey.length > MAX_SECRET_KEY_LENGTH) {
        throw new ProtocolError('invalid_value', `CancelRequest: secret key must be 4..${MAX_SECRET_KEY_LENGTH} bytes`);
      }
      w.begin(null).i32(CANCEL_REQUEST_CODE).i32(m.processId).bytes(m.secretKey).end();
      return;
    case 'StartupMessage':
      w.begin(null).i32((m.majorVersion << 16) | checkMinor(m.minorVersion));
      for (const [name, value] of m.parameters) {
        if (name === '') throw new ProtocolError('invalid_value', 'StartupMessage: empty parameter name');
        w.cstring(name, 'parameter name').cstring(value, `value of ${name}`);
      }
      w.u8(0).end();
      return;
    case 'Query':
      w.begin('Q').cstring(m.sql, 'query').end();
      return;
    case 'Parse':
      w.begin('P').cstring(m.statement, 'statement name').cstring(m.sql, 'query').count(m.paramTypes.length, 'parameter types');
      for (const oid of m.paramTypes) w.u32(oid);
      w.end();
      return;
    case 'Bind':
      w.begin('B').cstring(m.portal, 'portal name').cstring(m.statement, 'statement name');
      writeFormats(w, m.paramFormats, 'parameter formats');
      w.count(m.params.length, 'parameters');
      for (const p of m.params) w.nullableBytes(p);
      writeFormats(w, m.resultFormats, 'result formats');
      w.end();
      return;
    case 'Describe':
      w.begin('D').u8(targetByte(m.target)).cstring(m.name, 'name').end();
      return;
    case 'Execute':
      w.begin('E').cstring(m.portal, 'portal name').i32(m.maxRows).end();
      return;
    case 'Close':
      w.begin('C').u8(targetByte(m.target)).cstring(m.name, 'name').end();
      return;
    case 'Sync':
      w.begin('S').end();
      return;
    case 'Flush':
      w.begin('H').end();
      return;
    case 'Terminate':
      w.begin('X').end();
      return;
    case 'CopyData':
      w.begin('d').bytes(m.data).end();
      return;
    case 'CopyDone':
      w.begin('c').end();
      return;
    case 'CopyFail':
      w.begin('f').cstring(m.message, 'message').end();
      return;
    case 'FunctionCall':
      w.begin('F').u32(m.functionOid);
      writeFormats(w, m.argFormats, 'argument formats');
      w.count(m.args.length, 'arguments');
      for (const a of m.args) w.nullableBytes(a);
      w.i16(m.resultFormat).end();
      return;
    case 'AuthenticationResponse':
      w.begin('p').bytes(m.data).end();
      return;
  }
}

export function writeFormats(w: Writer, formats: readonly FormatCode[], field: string): void {
  w.count(formats.length, field);
  for (const f of formats) {
    if (f !== 0 && f !== 1) throw new ProtocolError('invalid_value', `${field}: format code ${String(f)}`);
    w.i16(f);
  }
}

function targetByte(target: 'S' | 'P'): number {
  if (target !== 'S' && target !== 'P') throw new ProtocolError('invalid_value', `target must be 'S' or 'P'`);
  return target.charCodeAt(0);
}

function checkMinor(minor: number): number {
  if (!Number.isInteger(minor) || minor < 0 || minor > 0xffff) {
    throw new ProtocolError('invalid_value', `StartupMessage: minor version ${minor}`);
  }
  return minor;
}

/** A close guess of the encoded size, so large messages are not grown by repeated doubling. */
function sizeHint(m: FrontendMessage): number {
  if (m.kind === 'Query') return m.sql.length * 3 + 6;
  if (m.kind === 'CopyData' || m.kind === 'AuthenticationResponse') return m.data.length + 5;
  if (m.kind === 'Bind') {
    let n = 64 + m.portal.length * 3 + m.statement.length * 3;
    for (const p of m.params) n += 4 + (p?.length ?? 0);
    return n;
  }
  return 256;
}

// Convenience builders for the messages a client-side connection (the agent) sends most.

export function startupMessage(parameters: Readonly<Record<string, string>> | ReadonlyMap<string, string>): Buffer {
  const map = parameters instanceof Map ? parameters : new Map(Object.entries(parameters));
  return serializeFrontend({ kind: 'StartupMessage', majorVersion: 3, minorVersion: 0, parameters: map });
}

export function sslRequest(): Buffer {
  return serializeFrontend({ kind: 'SSLRequest' });
}

export function query(sql: string): Buffer {
  return serializeFrontend({ kind: 'Query', sql });
}

export function passwordMessage(password: string): Buffer {
  const w = new Writer(password.length * 3 + 6);
  w.begin('p').cstring(password, 'password').end();
  return w.finish();
}

/** SASLInitialResponse: mechanism name, then the client-first message (null: none, length -1). */
export function saslInitialResponse(mechanism: string, initialResponse: Buffer | null): Buffer {
  const w = new Writer(64 + (initialResponse?.length ?? 0));
  w.begin('p').cstring(mechanism, 'mechanism').nullableBytes(initialResponse).end();
  return w.finish();
}

export function saslResponse(data: Buffer): Buffer {
  return serializeFrontend({ kind: 'AuthenticationResponse', data });
}
