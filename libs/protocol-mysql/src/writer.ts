import { MysqlProtocolError } from './errors.js';

/** Little-endian payload builder that grows as needed. */
export class MysqlWriter {
  private buf: Buffer;
  private len = 0;

  constructor(initial = 128) {
    this.buf = Buffer.allocUnsafe(initial);
  }

  private ensure(n: number): void {
    if (this.len + n <= this.buf.length) return;
    const next = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.len + n));
    this.buf.copy(next, 0, 0, this.len);
    this.buf = next;
  }

  u8(v: number): this {
    this.ensure(1);
    this.buf[this.len++] = v & 0xff;
    return this;
  }

  u16(v: number): this {
    this.ensure(2);
    this.buf.writeUInt16LE(v & 0xffff, this.len);
    this.len += 2;
    return this;
  }

  u24(v: number): this {
    this.ensure(3);
    this.buf.writeUIntLE(v & 0xffffff, this.len, 3);
    this.len += 3;
    return this;
  }

  u32(v: number): this {
    this.ensure(4);
    this.buf.writeUInt32LE(v >>> 0, this.len);
    this.len += 4;
    return this;
  }

  u64(v: bigint | number): this {
    this.ensure(8);
    this.buf.writeBigUInt64LE(BigInt(v), this.len);
    this.len += 8;
    return this;
  }

  lenenc(v: number): this {
    if (!Number.isSafeInteger(v) || v < 0) throw new MysqlProtocolError('invalid_value', `length-encoded integer ${v} out of range`);
    if (v < 0xfb) return this.u8(v);
    if (v <= 0xffff) return this.u8(0xfc).u16(v);
    if (v <= 0xffffff) return this.u8(0xfd).u24(v);
    return this.u8(0xfe).u64(v);
  }

  bytes(b: Uint8Array): this {
    this.ensure(b.length);
    this.buf.set(b, this.len);
    this.len += b.length;
    return this;
  }

  lenencBytes(b: Uint8Array | null): this {
    if (b === null) return this.u8(0xfb);
    return this.lenenc(b.length).bytes(b);
  }

  lenencString(s: string): this {
    return this.lenencBytes(Buffer.from(s, 'utf8'));
  }

  nulString(s: string | Uint8Array): this {
    const b = typeof s === 'string' ? Buffer.from(s, 'utf8') : s;
    if (b.includes(0)) throw new MysqlProtocolError('invalid_value', 'a NUL-terminated string holds a NUL');
    return this.bytes(b).u8(0);
  }

  zeros(n: number): this {
    this.ensure(n);
    this.buf.fill(0, this.len, this.len + n);
    this.len += n;
    return this;
  }

  get length(): number {
    return this.len;
  }

  /** The payload written so far (a copy-free view; do not write after taking it). */
  finish(): Buffer {
    return this.buf.subarray(0, this.len);
  }
}
