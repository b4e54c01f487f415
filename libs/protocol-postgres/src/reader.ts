import { ProtocolError } from './errors.js';

/**
 * Bounds-checked cursor over one message body. Every read fails with a ProtocolError instead of
 * returning garbage or throwing a RangeError; byte fields are zero-copy views of the frame.
 */
export class Reader {
  private pos: number;
  private readonly end: number;

  constructor(
    private readonly buf: Buffer,
    start = 0,
    end = buf.length,
    private readonly what = 'message',
  ) {
    this.pos = start;
    this.end = end;
  }

  get remaining(): number {
    return this.end - this.pos;
  }

  private need(n: number, field: string): void {
    if (this.end - this.pos < n) {
      throw new ProtocolError('truncated', `${this.what}: ${field} needs ${n} bytes, ${this.end - this.pos} left`);
    }
  }

  u8(field = 'byte'): number {
    this.need(1, field);
    return this.buf[this.pos++]!;
  }

  i16(field = 'int16'): number {
    this.need(2, field);
    const v = this.buf.readInt16BE(this.pos);
    this.pos += 2;
    return v;
  }

  u16(field = 'uint16'): number {
    this.need(2, field);
    const v = this.buf.readUInt16BE(this.pos);
    this.pos += 2;
    return v;
  }

  i32(field = 'int32'): number {
    this.need(4, field);
    const v = this.buf.readInt32BE(this.pos);
    this.pos += 4;
    return v;
  }

  u32(field = 'uint32'): number {
    this.need(4, field);
    const v = this.buf.readUInt32BE(this.pos);
    this.pos += 4;
    return v;
  }

  /** NUL-terminated string, decoded as UTF-8. The terminator must lie inside this message. */
  cstring(field = 'string'): string {
    const nul = this.buf.indexOf(0, this.pos);
    if (nul === -1 || nul >= this.end) {
      throw new ProtocolError('missing_nul', `${this.what}: ${field} has no NUL terminator`);
    }
    const s = this.buf.toString('utf8', this.pos, nul);
    this.pos = nul + 1;
    return s;
  }

  /** Zero-copy view of the next n bytes. */
  bytes(n: number, field = 'bytes'): Buffer {
    if (n < 0) throw new ProtocolError('bad_length', `${this.what}: ${field} has negative length ${n}`);
    this.need(n, field);
    const b = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return b;
  }

  /** Int32 length followed by that many bytes; length -1 means NULL. Other negatives are refused. */
  nullableBytes(field = 'value'): Buffer | null {
    const len = this.i32(`${field} length`);
    if (len === -1) return null;
    if (len < -1) throw new ProtocolError('bad_length', `${this.what}: ${field} length ${len}`);
    return this.bytes(len, field);
  }

  /** Zero-copy view of everything left. */
  rest(): Buffer {
    return this.bytes(this.remaining);
  }

  /**
   * Reads a count and checks it against the hard limit and against the bytes left, so that a forged
   * count can never make the caller allocate an array larger than the message could describe.
   */
  count(limit: number, minBytesPerItem: number, field: string, read: 'u16' | 'i32' = 'u16'): number {
    const n = read === 'u16' ? this.u16(`${field} count`) : this.i32(`${field} count`);
    if (n < 0) throw new ProtocolError('bad_count', `${this.what}: negative ${field} count ${n}`);
    if (n > limit) throw new ProtocolError('limit_exceeded', `${this.what}: ${n} ${field} exceed the limit of ${limit}`);
    if (n * minBytesPerItem > this.remaining) {
      throw new ProtocolError('bad_count', `${this.what}: ${n} ${field} cannot fit in ${this.remaining} bytes`);
    }
    return n;
  }

  /** Every message must be consumed exactly: leftovers mean the two sides disagree on the format. */
  done(): void {
    if (this.pos !== this.end) {
      throw new ProtocolError('trailing_bytes', `${this.what}: ${this.end - this.pos} unexpected trailing bytes`);
    }
  }
}
