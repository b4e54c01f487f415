import { MysqlProtocolError } from './errors.js';
import { MysqlReader } from './reader.js';
import { TYPE } from './result-set.js';
import { MysqlWriter } from './writer.js';

/** A binary-protocol value: its wire bytes (length prefix included), or null for SQL NULL. */
export type BinaryValue = Buffer | null;

const UNSIGNED_FLAG = 0x20;

/** Bytes a fixed-width binary value takes, or undefined for length-prefixed types. */
function fixedWidth(type: number): number | undefined {
  switch (type) {
    case TYPE.TINY:
      return 1;
    case TYPE.SHORT:
    case TYPE.YEAR:
      return 2;
    case TYPE.LONG:
    case TYPE.INT24:
    case TYPE.FLOAT:
      return 4;
    case TYPE.LONGLONG:
    case TYPE.DOUBLE:
      return 8;
    case TYPE.NULL:
      return 0;
    default:
      return undefined;
  }
}

/** Date and time values carry a one-byte length instead of a length-encoded one. */
const isTemporal = (type: number): boolean =>
  type === TYPE.DATE || type === TYPE.DATETIME || type === TYPE.TIMESTAMP || type === TYPE.TIME || type === TYPE.NEWDATE ||
  type === TYPE.DATETIME2 || type === TYPE.TIMESTAMP2 || type === TYPE.TIME2;

/**
 * Splits a binary-protocol row (0x00, NULL bitmap with offset 2, values) into its values, each the
 * exact bytes it took on the wire, so a row can be rebuilt with only some values replaced.
 */
export function parseBinaryRow(payload: Buffer, types: readonly number[]): BinaryValue[] {
  const r = new MysqlReader(payload, 0, payload.length, 'binary row');
  if (r.u8('header') !== 0x00) throw new MysqlProtocolError('invalid_value', 'binary row does not start with 0x00');
  const bitmap = r.bytes((types.length + 7 + 2) >> 3, 'NULL bitmap');
  const out = new Array<BinaryValue>(types.length);
  for (let i = 0; i < types.length; i++) {
    const bit = i + 2;
    if (bitmap[bit >> 3]! & (1 << (bit & 7))) {
      out[i] = null;
      continue;
    }
    const type = types[i]!;
    const start = r.pos;
    const width = fixedWidth(type);
    if (width !== undefined) r.skip(width, `column ${i + 1}`);
    else if (isTemporal(type)) r.skip(r.u8(`column ${i + 1} length`), `column ${i + 1}`);
    else r.lenencBytes(`column ${i + 1}`);
    out[i] = payload.subarray(start, r.pos);
  }
  r.done();
  return out;
}

/** Rebuilds a binary row from values as parseBinaryRow returns them. */
export function encodeBinaryRow(values: readonly BinaryValue[]): Buffer {
  const bitmap = Buffer.alloc((values.length + 7 + 2) >> 3);
  const w = new MysqlWriter(64).u8(0x00);
  values.forEach((v, i) => {
    if (v === null) bitmap[(i + 2) >> 3]! |= 1 << ((i + 2) & 7);
  });
  w.bytes(bitmap);
  for (const v of values) if (v !== null) w.bytes(v);
  return w.finish();
}

/** A string value in binary-row form (length-encoded), as a masked value is sent. */
export function binaryString(text: string): Buffer {
  return new MysqlWriter(text.length + 9).lenencString(text).finish();
}

const pad = (n: number, width = 2): string => String(n).padStart(width, '0');

/** The text a binary value reads as (what the text protocol would have sent), for masking and recording. */
export function binaryValueText(value: Buffer, type: number, flags: number): string {
  const unsigned = (flags & UNSIGNED_FLAG) !== 0;
  switch (type) {
    case TYPE.TINY:
      return String(unsigned ? value.readUInt8(0) : value.readInt8(0));
    case TYPE.SHORT:
    case TYPE.YEAR:
      return String(unsigned ? value.readUInt16LE(0) : value.readInt16LE(0));
    case TYPE.LONG:
    case TYPE.INT24:
      return String(unsigned ? value.readUInt32LE(0) : value.readInt32LE(0));
    case TYPE.LONGLONG:
      return String(unsigned ? value.readBigUInt64LE(0) : value.readBigInt64LE(0));
    case TYPE.FLOAT:
      return String(value.readFloatLE(0));
    case TYPE.DOUBLE:
      return String(value.readDoubleLE(0));
    case TYPE.NULL:
      return '';
    default:
      break;
  }
  if (isTemporal(type)) return temporalText(value, type);
  const r = new MysqlReader(value, 0, value.length, 'binary value');
  return (r.lenencBytes('value') as Buffer).toString('utf8');
}

function temporalText(value: Buffer, type: number): string {
  const n = value[0]!;
  const d = value.subarray(1, 1 + n);
  if (type === TYPE.TIME || type === TYPE.TIME2) {
    if (n === 0) return '00:00:00';
    const sign = d[0] ? '-' : '';
    const hours = d.readUInt32LE(1) * 24 + d[5]!;
    const frac = n >= 12 ? `.${pad(d.readUInt32LE(8), 6)}` : '';
    return `${sign}${pad(hours)}:${pad(d[6]!)}:${pad(d[7]!)}${frac}`;
  }
  if (n === 0) return '0000-00-00';
  const date = `${pad(d.readUInt16LE(0), 4)}-${pad(d[2]!)}-${pad(d[3]!)}`;
  if (type === TYPE.DATE || type === TYPE.NEWDATE || n < 7) return n < 7 ? date : date;
  const time = `${pad(d[4]!)}:${pad(d[5]!)}:${pad(d[6]!)}`;
  return n >= 11 ? `${date} ${time}.${pad(d.readUInt32LE(7), 6)}` : `${date} ${time}`;
}

/** The parameters of a COM_STMT_EXECUTE as an approver reads them, and the types they were bound with. */
export interface ExecuteParams {
  texts: string[];
  /** Type and flags byte pairs (`type | flags << 8`), to read the next execution that does not send them again. */
  types: number[];
}

/**
 * Reads the parameter values of a COM_STMT_EXECUTE payload (command byte, statement id, flags,
 * iteration count, NULL bitmap at offset 0, new-params-bound flag, types, values) for `count`
 * parameters. Types not sent come from the previous execution (`previousTypes`). Parameters whose
 * value came in COM_STMT_SEND_LONG_DATA (`longData`, indexes) have no value in the packet. Throws
 * MysqlProtocolError when the packet cannot be read (the caller refuses it: nothing it cannot show runs).
 */
export function parseExecuteParams(payload: Buffer, count: number, previousTypes: readonly number[] | undefined, longData: ReadonlySet<number>): ExecuteParams {
  const r = new MysqlReader(payload, 0, payload.length, 'COM_STMT_EXECUTE');
  r.skip(10, 'header');
  if (count === 0) return { texts: [], types: [] };
  const bitmap = r.bytes((count + 7) >> 3, 'NULL bitmap');
  let types: number[];
  if (r.u8('new params bound flag') === 1) {
    types = [];
    for (let i = 0; i < count; i++) types.push(r.u16(`parameter ${i + 1} type`));
  } else if (previousTypes && previousTypes.length === count) {
    types = [...previousTypes];
  } else {
    throw new MysqlProtocolError('invalid_value', 'COM_STMT_EXECUTE without parameter types');
  }
  const texts = types.map((typeAndFlags, i) => {
    if (bitmap[i >> 3]! & (1 << (i & 7))) return 'NULL';
    if (longData.has(i)) return '<sent as long data (COM_STMT_SEND_LONG_DATA)>';
    const type = typeAndFlags & 0xff;
    const start = r.pos;
    const width = fixedWidth(type);
    if (width !== undefined) r.skip(width, `parameter ${i + 1}`);
    else if (isTemporal(type)) r.skip(r.u8(`parameter ${i + 1} length`), `parameter ${i + 1}`);
    else r.lenencBytes(`parameter ${i + 1}`);
    // The execute packet's flags byte has the unsigned bit at 0x80; binaryValueText expects 0x20.
    return binaryValueText(payload.subarray(start, r.pos), type, typeAndFlags & 0x8000 ? UNSIGNED_FLAG : 0);
  });
  return { texts, types };
}
