import { ProtocolError } from './errors.js';
import type { FormatCode } from './frontend-messages.js';
import type { Reader } from './reader.js';

export function toFormat(v: number, field: string): FormatCode {
  if (v === 0 || v === 1) return v;
  throw new ProtocolError('invalid_value', `${field}: format code ${v} is neither 0 (text) nor 1 (binary)`);
}

/** Int16 count followed by that many Int16 format codes. */
export function readFormats(r: Reader, limit: number, field: string): FormatCode[] {
  const n = r.count(limit, 2, field);
  const out = new Array<FormatCode>(n);
  for (let i = 0; i < n; i++) out[i] = toFormat(r.i16(field), field);
  return out;
}

/** Int16 count followed by that many nullable Int32-length values. */
export function readValues(r: Reader, limit: number, field: string): (Buffer | null)[] {
  const n = r.count(limit, 4, field);
  const out = new Array<Buffer | null>(n);
  for (let i = 0; i < n; i++) out[i] = r.nullableBytes(field);
  return out;
}

export function toTarget(v: number, field: string): 'S' | 'P' {
  if (v === 0x53) return 'S';
  if (v === 0x50) return 'P';
  throw new ProtocolError('invalid_value', `${field}: target must be 'S' or 'P', got byte ${v}`);
}
