import { MysqlProtocolError } from './errors.js';

/** Largest length-encoded integer accepted as a length (a string cannot be longer than a logical packet). */
const MAX_SAFE = Number.MAX_SAFE_INTEGER;

/**
 * Bounds-checked little-endian cursor over one packet payload. Every read fails with a
 * MysqlProtocolError instead of returning garbage; byte fields are zero-copy views.
 */
export class MysqlReader {
  pos: number;

  constructor(
    readonly buf: Buffer,
    start = 0,
    readonly end = buf.length,
    private readonly what = 'packet',
  ) {
    this.pos = start;
  }

  get remaining(): number {
    return this.end - this.pos;
  }

  private need(n: number, field: string): void {
    if (this.end - this.pos < n) throw new MysqlProtocolError('truncated', `${this.what}: ${field} needs ${n} bytes, ${this.end - this.pos} left`);
  }

  u8(field = 'int<1>'): number {
    this.need(1, field);
    return this.buf[this.pos++]!;
  }

  u16(field = 'int<2>'): number {
    this.need(2, field);
    const v = this.buf.readUInt16LE(this.pos);
    this.pos += 2;
    return v;
  }

  u24(field = 'int<3>'): number {
    this.need(3, field);
    const v = this.buf.readUIntLE(this.pos, 3);
    this.pos += 3;
    return v;
  }

  u32(field = 'int<4>'): number {
    this.need(4, field);
    const v = this.buf.readUInt32LE(this.pos);
    this.pos += 4;
    return v;
  }

  u64(field = 'int<8>'): bigint {
    this.need(8, field);
    const v = this.buf.readBigUInt64LE(this.pos);
    this.pos += 8;
    return v;
  }

  /** A length-encoded integer; null for the 0xfb NULL marker when `allowNull`. */
  lenenc(field = 'int<lenenc>', allowNull = false): number | null {
    const first = this.u8(field);
    if (first < 0xfb) return first;
    switch (first) {
      case 0xfb:
        if (allowNull) return null;
        throw new MysqlProtocolError('invalid_value', `${this.what}: ${field} is the NULL marker where a number belongs`);
      case 0xfc:
        return this.u16(field);
      case 0xfd:
        return this.u24(field);
      case 0xfe: {
        const v = this.u64(field);
        if (v > BigInt(MAX_SAFE)) throw new MysqlProtocolError('limit_exceeded', `${this.what}: ${field} ${v} is too large`);
        return Number(v);
      }
      default:
        throw new MysqlProtocolError('invalid_value', `${this.what}: ${field} starts with 0xff`);
    }
  }

  /** A length-encoded integer that must be present (not NULL). */
  lenencInt(field?: string): number {
    return this.lenenc(field) as number;
  }

  bytes(n: number, field = 'bytes'): Buffer {
    if (n < 0) throw new MysqlProtocolError('invalid_value', `${this.what}: ${field} has a negative length`);
    this.need(n, field);
    const v = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return v;
  }

  /** A length-encoded string; null for SQL NULL when `allowNull`. */
  lenencBytes(field = 'string<lenenc>', allowNull = false): Buffer | null {
    const n = this.lenenc(field, allowNull);
    return n === null ? null : this.bytes(n, field);
  }

  lenencString(field?: string): string {
    return (this.lenencBytes(field) as Buffer).toString('utf8');
  }

  /** A NUL-terminated string. */
  nulBytes(field = 'string<NUL>'): Buffer {
    const nul = this.buf.indexOf(0, this.pos);
    if (nul < 0 || nul >= this.end) throw new MysqlProtocolError('missing_nul', `${this.what}: ${field} has no NUL terminator`);
    const v = this.buf.subarray(this.pos, nul);
    this.pos = nul + 1;
    return v;
  }

  nulString(field?: string): string {
    return this.nulBytes(field).toString('utf8');
  }

  /** The rest of the packet. */
  rest(): Buffer {
    const v = this.buf.subarray(this.pos, this.end);
    this.pos = this.end;
    return v;
  }

  /** The rest of the packet without a trailing NUL, if there is one (string<EOF> fields some clients terminate). */
  restString(): string {
    let v = this.rest();
    if (v.length > 0 && v[v.length - 1] === 0) v = v.subarray(0, v.length - 1);
    return v.toString('utf8');
  }

  skip(n: number, field = 'filler'): void {
    this.need(n, field);
    this.pos += n;
  }

  done(): void {
    if (this.pos !== this.end) throw new MysqlProtocolError('trailing_bytes', `${this.what}: ${this.end - this.pos} bytes after the last field`);
  }
}
