import { DEFAULT_MYSQL_LIMITS } from './limits.js';
import { MysqlProtocolError } from './errors.js';
import { MysqlReader } from './reader.js';
import { MysqlWriter } from './writer.js';

/** Column types (enum_field_types). */
export const TYPE = {
  DECIMAL: 0x00,
  TINY: 0x01,
  SHORT: 0x02,
  LONG: 0x03,
  FLOAT: 0x04,
  DOUBLE: 0x05,
  NULL: 0x06,
  TIMESTAMP: 0x07,
  LONGLONG: 0x08,
  INT24: 0x09,
  DATE: 0x0a,
  TIME: 0x0b,
  DATETIME: 0x0c,
  YEAR: 0x0d,
  NEWDATE: 0x0e,
  VARCHAR: 0x0f,
  BIT: 0x10,
  TIMESTAMP2: 0x11,
  DATETIME2: 0x12,
  TIME2: 0x13,
  JSON: 0xf5,
  NEWDECIMAL: 0xf6,
  ENUM: 0xf7,
  SET: 0xf8,
  TINY_BLOB: 0xf9,
  MEDIUM_BLOB: 0xfa,
  LONG_BLOB: 0xfb,
  BLOB: 0xfc,
  VAR_STRING: 0xfd,
  STRING: 0xfe,
  GEOMETRY: 0xff,
} as const;

/** The binary charset number: a column of this charset holds bytes, not text. */
export const BINARY_CHARSET = 63;
/** utf8mb4_general_ci: what a masked value is declared as. */
export const UTF8MB4_CHARSET = 45;

/** Protocol::ColumnDefinition41. */
export interface ColumnDefinition {
  catalog: string;
  schema: string;
  table: string;
  orgTable: string;
  name: string;
  orgName: string;
  charset: number;
  length: number;
  type: number;
  flags: number;
  decimals: number;
  /** COM_FIELD_LIST only: the column's default value. */
  defaultValue?: Buffer | null;
}

export function parseColumnDefinition(payload: Buffer): ColumnDefinition {
  const r = new MysqlReader(payload, 0, payload.length, 'column definition');
  const catalog = r.lenencString('catalog');
  const schema = r.lenencString('schema');
  const table = r.lenencString('table');
  const orgTable = r.lenencString('org_table');
  const name = r.lenencString('name');
  const orgName = r.lenencString('org_name');
  const fixed = r.lenencInt('fixed fields length');
  if (fixed < 12) throw new MysqlProtocolError('invalid_value', `column definition: fixed fields length ${fixed} < 12`);
  const f = new MysqlReader(r.bytes(fixed, 'fixed fields'), 0, fixed, 'column definition');
  const def: ColumnDefinition = {
    catalog, schema, table, orgTable, name, orgName,
    charset: f.u16('character set'),
    length: f.u32('column length'),
    type: f.u8('type'),
    flags: f.u16('flags'),
    decimals: f.u8('decimals'),
  };
  if (r.remaining > 0) def.defaultValue = r.lenencBytes('default value', true);
  return def;
}

export function encodeColumnDefinition(c: ColumnDefinition): Buffer {
  const w = new MysqlWriter(96)
    .lenencString(c.catalog)
    .lenencString(c.schema)
    .lenencString(c.table)
    .lenencString(c.orgTable)
    .lenencString(c.name)
    .lenencString(c.orgName)
    .lenenc(12)
    .u16(c.charset)
    .u32(c.length)
    .u8(c.type)
    .u16(c.flags)
    .u8(c.decimals)
    .zeros(2);
  if (c.defaultValue !== undefined) w.lenencBytes(c.defaultValue);
  return w.finish();
}

/** The column count that opens a result set. */
export function parseColumnCount(payload: Buffer, maxColumns = DEFAULT_MYSQL_LIMITS.maxColumns): number {
  const r = new MysqlReader(payload, 0, payload.length, 'column count');
  const n = r.lenencInt('column count');
  if (n === 0 || n > maxColumns) throw new MysqlProtocolError('limit_exceeded', `result set with ${n} columns (limit ${maxColumns})`);
  return n;
}

/** A text-protocol row: one length-encoded string or NULL (0xfb) per column. Values are views of `payload`. */
export function parseTextRow(payload: Buffer, columns: number): (Buffer | null)[] {
  const r = new MysqlReader(payload, 0, payload.length, 'text row');
  const out = new Array<Buffer | null>(columns);
  for (let i = 0; i < columns; i++) out[i] = r.lenencBytes(`column ${i + 1}`, true);
  r.done();
  return out;
}

export function encodeTextRow(values: readonly (Uint8Array | null)[]): Buffer {
  const w = new MysqlWriter(64);
  for (const v of values) w.lenencBytes(v);
  return w.finish();
}
