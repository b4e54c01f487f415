import { ProtocolError } from './errors.js';
import { MAX_WIRE_LENGTH } from './limits.js';

/**
 * Growable output buffer for one or more frames. `begin()` reserves the header, `end()` fills the
 * length in once the body is known, so callers never compute lengths by hand. Values outside what
 * the wire can carry are refused with a ProtocolError rather than silently truncated.
 */
export class Writer {
  private buf: Buffer;
  private pos = 0;
  private lengthAt = -1;

  constructor(sizeHint = 256) {
    this.buf = Buffer.allocUnsafe(Math.max(16, sizeHint));
  }

  private ensure(n: number): void {
    const needed = this.pos + n;
    if (needed <= this.buf.length) return;
    if (needed > MAX_WIRE_LENGTH + 1) throw new ProtocolError('limit_exceeded', 'message would exceed 2^31-1 bytes');
    let size = this.buf.length * 2;
    while (size < needed) size *= 2;
    const next = Buffer.allocUnsafe(size);
    this.buf.copy(next, 0, 0, this.pos);
    this.buf = next;
  }

  /** Starts a frame; `type` null starts an untyped startup-phase packet (length word only). */
  begin(type: string | null): this {
    if (this.lengthAt !== -1) throw new Error('Writer.begin: previous frame not ended');
    if (type !== null) {
      if (type.length !== 1 || type.charCodeAt(0) > 0x7f) throw new Error(`Writer.begin: bad type byte ${JSON.stringify(type)}`);
      this.u8(type.charCodeAt(0));
    }
    this.lengthAt = this.pos;
    this.ensure(4);
    this.pos += 4;
    return this;
  }

  end(): this {
    if (this.lengthAt === -1) throw new Error('Writer.end: no frame started');
    this.buf.writeInt32BE(this.pos - this.lengthAt, this.lengthAt);
    this.lengthAt = -1;
    return this;
  }

  u8(v: number): this {
    checkInt(v, 0, 0xff, 'byte');
    this.ensure(1);
    this.buf[this.pos++] = v;
    return this;
  }

  i16(v: number): this {
    checkInt(v, -0x8000, 0x7fff, 'int16');
    this.ensure(2);
    this.pos = this.buf.writeInt16BE(v, this.pos);
    return this;
  }

  u16(v: number): this {
    checkInt(v, 0, 0xffff, 'uint16');
    this.ensure(2);
    this.pos = this.buf.writeUInt16BE(v, this.pos);
    return this;
  }

  i32(v: number): this {
    checkInt(v, -0x8000_0000, 0x7fff_ffff, 'int32');
    this.ensure(4);
    this.pos = this.buf.writeInt32BE(v, this.pos);
    return this;
  }

  u32(v: number): this {
    checkInt(v, 0, 0xffff_ffff, 'uint32');
    this.ensure(4);
    this.pos = this.buf.writeUInt32BE(v, this.pos);
    return this;
  }

  /**
   * NUL-terminated UTF-8 string. An embedded NUL is refused: it would end the string early on the
   * other side and let a value smuggle extra fields (or a second statement name) into the frame.
   */
  cstring(s: string, field = 'string'): this {
    if (s.includes('\0')) throw new ProtocolError('invalid_value', `${field} contains a NUL character`);
    const n = Buffer.byteLength(s, 'utf8');
    this.ensure(n + 1);
    this.pos += this.buf.write(s, this.pos, 'utf8');
    this.buf[this.pos++] = 0;
    return this;
  }

  bytes(b: Uint8Array): this {
    this.ensure(b.length);
    this.buf.set(b, this.pos);
    this.pos += b.length;
    return this;
  }

  /** Int32 length + bytes, or length -1 for NULL. */
  nullableBytes(b: Uint8Array | null): this {
    if (b === null) return this.i32(-1);
    return this.i32(b.length).bytes(b);
  }

  /** 16-bit count prefix, refusing what the wire cannot express. */
  count(n: number, field: string): this {
    if (n > 0xffff) throw new ProtocolError('limit_exceeded', `${n} ${field} exceed the wire maximum of 65535`);
    return this.u16(n);
  }

  /** The bytes written so far (a view; the Writer must not be reused after this). */
  finish(): Buffer {
    if (this.lengthAt !== -1) throw new Error('Writer.finish: frame not ended');
    return this.buf.subarray(0, this.pos);
  }
}

function checkInt(v: number, min: number, max: number, what: string): void {
  if (!Number.isInteger(v) || v < min || v > max) {
    throw new ProtocolError('invalid_value', `${String(v)} is not a valid ${what}`);
  }
}
