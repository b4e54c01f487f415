import { NOTICE_FIELD_CODES, type BackendMessage, type NoticeFields, type TransactionStatus } from './backend-messages.js';
import { ProtocolError } from './errors.js';
import { writeFormats } from './frontend-serialize.js';
import { MAX_SECRET_KEY_LENGTH } from './startup.js';
import { Writer } from './writer.js';

/**
 * Encodes any backend message. `raw` on a parsed message is ignored on purpose: a masked DataRow must
 * never go out with its original bytes. Forward `raw` yourself when the message is unchanged.
 */
export function serializeBackend(message: BackendMessage): Buffer {
  if (message.kind === 'DataRow') return dataRow(message.values);
  const w = new Writer(message.kind === 'CopyData' ? message.data.length + 5 : 256);
  writeBackend(w, message);
  return w.finish();
}

/** Appends one backend message to a Writer, so several can be batched into one buffer. */
export function writeBackend(w: Writer, m: BackendMessage): void {
  switch (m.kind) {
    case 'AuthenticationOk':
      w.begin('R').i32(0).end();
      return;
    case 'AuthenticationKerberosV5':
      w.begin('R').i32(2).end();
      return;
    case 'AuthenticationCleartextPassword':
      w.begin('R').i32(3).end();
      return;
    case 'AuthenticationMD5Password':
      if (m.salt.length !== 4) throw new ProtocolError('invalid_value', 'AuthenticationMD5Password: salt must be 4 bytes');
      w.begin('R').i32(5).bytes(m.salt).end();
      return;
    case 'AuthenticationGSS':
      w.begin('R').i32(7).end();
      return;
    case 'AuthenticationGSSContinue':
      w.begin('R').i32(8).bytes(m.data).end();
      return;
    case 'AuthenticationSSPI':
      w.begin('R').i32(9).end();
      return;
    case 'AuthenticationSASL':
      w.begin('R').i32(10);
      for (const mech of m.mechanisms) {
        if (mech === '') throw new ProtocolError('invalid_value', 'AuthenticationSASL: empty mechanism name');
        w.cstring(mech, 'mechanism');
      }
      w.u8(0).end();
      return;
    case 'AuthenticationSASLContinue':
      w.begin('R').i32(11).bytes(m.data).end();
      return;
    case 'AuthenticationSASLFinal':
      w.begin('R').i32(12).bytes(m.data).end();
      return;
    case 'ParameterStatus':
      w.begin('S').cstring(m.name, 'name').cstring(m.value, 'value').end();
      return;
    case 'BackendKeyData':
      if (m.secretKey.length < 4 || m.secretKey.length > MAX_SECRET_KEY_LENGTH) {
        throw new ProtocolError('invalid_value', `BackendKeyData: secret key must be 4..${MAX_SECRET_KEY_LENGTH} bytes`);
      }
      w.begin('K').i32(m.processId).bytes(m.secretKey).end();
      return;
    case 'ReadyForQuery':
      w.begin('Z').u8(statusByte(m.status)).end();
      return;
    case 'RowDescription':
      w.begin('T').count(m.fields.length, 'fields');
      for (const f of m.fields) {
        w.cstring(f.name, 'field name').u32(f.tableOid).i16(f.columnAttr).u32(f.typeOid).i16(f.typeSize).i32(f.typeModifier);
        writeFormat(w, f.format);
      }
      w.end();
      return;
    case 'DataRow':
      w.bytes(dataRow(m.values));
      return;
    case 'CommandComplete':
      w.begin('C').cstring(m.tag, 'tag').end();
      return;
    case 'EmptyQueryResponse':
      w.begin('I').end();
      return;
    case 'ErrorResponse':
      w.begin('E');
      writeNoticeFields(w, m.fields);
      w.end();
      return;
    case 'NoticeResponse':
      w.begin('N');
      writeNoticeFields(w, m.fields);
      w.end();
      return;
    case 'ParseComplete':
      w.begin('1').end();
      return;
    case 'BindComplete':
      w.begin('2').end();
      return;
    case 'CloseComplete':
      w.begin('3').end();
      return;
    case 'NoData':
      w.begin('n').end();
      return;
    case 'ParameterDescription':
      w.begin('t').count(m.typeOids.length, 'parameter types');
      for (const oid of m.typeOids) w.u32(oid);
      w.end();
      return;
    case 'PortalSuspended':
      w.begin('s').end();
      return;
    case 'CopyInResponse':
    case 'CopyOutResponse':
    case 'CopyBothResponse':
      w.begin(m.kind === 'CopyInResponse' ? 'G' : m.kind === 'CopyOutResponse' ? 'H' : 'W');
      if (m.format !== 0 && m.format !== 1) throw new ProtocolError('invalid_value', `${m.kind}: format ${String(m.format)}`);
      w.u8(m.format);
      writeFormats(w, m.columnFormats, 'column formats');
      w.end();
      return;
    case 'CopyData':
      w.begin('d').bytes(m.data).end();
      return;
    case 'CopyDone':
      w.begin('c').end();
      return;
    case 'NotificationResponse':
      w.begin('A').i32(m.processId).cstring(m.channel, 'channel').cstring(m.payload, 'payload').end();
      return;
    case 'FunctionCallResponse':
      w.begin('V').nullableBytes(m.result).end();
      return;
    case 'NegotiateProtocolVersion':
      w.begin('v').i32(m.newestMinorVersion).i32(m.unrecognizedOptions.length);
      for (const o of m.unrecognizedOptions) w.cstring(o, 'option name');
      w.end();
      return;
    case 'EncryptionResponse':
      if (m.answer !== 'S' && m.answer !== 'G' && m.answer !== 'N') {
        throw new ProtocolError('invalid_value', 'EncryptionResponse: answer must be S, G or N');
      }
      w.u8(m.answer.charCodeAt(0));
      return;
  }
}

/**
 * DataRow is the hot path of a masking proxy: the exact size is known up front, so it is written
 * with one allocation and one copy per value.
 */
export function dataRow(values: readonly (Uint8Array | null)[]): Buffer {
  if (values.length > 0xffff) throw new ProtocolError('limit_exceeded', `${values.length} columns exceed 65535`);
  let size = 7;
  for (const v of values) size += 4 + (v === null ? 0 : v.length);
  if (size - 1 > 0x7fff_ffff) throw new ProtocolError('limit_exceeded', 'DataRow would exceed 2^31-1 bytes');
  const out = Buffer.allocUnsafe(size);
  out[0] = 0x44;
  out.writeInt32BE(size - 1, 1);
  out.writeUInt16BE(values.length, 5);
  let pos = 7;
  for (const v of values) {
    if (v === null) {
      pos = out.writeInt32BE(-1, pos);
    } else {
      pos = out.writeInt32BE(v.length, pos);
      out.set(v, pos);
      pos += v.length;
    }
  }
  return out;
}

const KNOWN_CODES: ReadonlySet<string> = new Set(Object.values(NOTICE_FIELD_CODES));

function writeNoticeFields(w: Writer, fields: NoticeFields): void {
  for (const [name, code] of Object.entries(NOTICE_FIELD_CODES)) {
    const value = fields[name as keyof typeof NOTICE_FIELD_CODES];
    if (value !== undefined) w.u8(code.charCodeAt(0)).cstring(value, name);
  }
  for (const { code, value } of fields.unknown ?? []) {
    // A known code here would be read back as the named field, so it is refused rather than reordered.
    if (code.length !== 1 || code.charCodeAt(0) === 0 || code.charCodeAt(0) > 0x7f || KNOWN_CODES.has(code)) {
      throw new ProtocolError('invalid_value', `notice field code ${JSON.stringify(code)}`);
    }
    w.u8(code.charCodeAt(0)).cstring(value, `field ${code}`);
  }
  w.u8(0);
}

function writeFormat(w: Writer, f: number): void {
  if (f !== 0 && f !== 1) throw new ProtocolError('invalid_value', `format code ${f}`);
  w.i16(f);
}

function statusByte(status: TransactionStatus): number {
  if (status !== 'I' && status !== 'T' && status !== 'E') {
    throw new ProtocolError('invalid_value', `ReadyForQuery: status ${String(status)}`);
  }
  return status.charCodeAt(0);
}
