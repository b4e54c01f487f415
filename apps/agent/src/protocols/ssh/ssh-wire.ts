/**
 * SSH wire encoding (RFC 4251 §5): uint32, uint64 and length-prefixed strings. Used for OpenSSH
 * certificates and for reading SFTP packets; the reader is bounds-checked and fails on short input.
 */
export class SshWriter {
  private readonly parts: Buffer[] = [];

  uint32(value: number): this {
    const b = Buffer.alloc(4);
    b.writeUInt32BE(value >>> 0);
    this.parts.push(b);
    return this;
  }

  uint64(value: bigint): this {
    const b = Buffer.alloc(8);
    b.writeBigUInt64BE(BigInt.asUintN(64, value));
    this.parts.push(b);
    return this;
  }

  string(value: Buffer | string): this {
    const bytes = typeof value === 'string' ? Buffer.from(value, 'utf8') : value;
    this.uint32(bytes.length);
    this.parts.push(bytes);
    return this;
  }

  toBuffer(): Buffer {
    return Buffer.concat(this.parts);
  }
}

export class SshWireError extends Error {}

export class SshReader {
  private offset = 0;

  constructor(private readonly buf: Buffer) {}

  get remaining(): number {
    return this.buf.length - this.offset;
  }

  uint8(): number {
    this.need(1);
    return this.buf[this.offset++]!;
  }

  uint32(): number {
    this.need(4);
    const v = this.buf.readUInt32BE(this.offset);
    this.offset += 4;
    return v;
  }

  uint64(): bigint {
    this.need(8);
    const v = this.buf.readBigUInt64BE(this.offset);
    this.offset += 8;
    return v;
  }

  bytes(maxLength = this.buf.length): Buffer {
    const length = this.uint32();
    if (length > maxLength) throw new SshWireError(`string of ${length} bytes exceeds the limit of ${maxLength}`);
    this.need(length);
    const out = this.buf.subarray(this.offset, this.offset + length);
    this.offset += length;
    return out;
  }

  text(maxLength?: number): string {
    return this.bytes(maxLength).toString('utf8');
  }

  private need(n: number): void {
    if (this.offset + n > this.buf.length) throw new SshWireError('truncated SSH data');
  }
}
