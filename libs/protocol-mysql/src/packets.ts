import { MysqlProtocolError } from './errors.js';
import { DEFAULT_MYSQL_LIMITS, MAX_PACKET_PAYLOAD, type MysqlLimits } from './limits.js';

/** One logical packet: the payload of a packet, or of a packet split in 16 MiB parts, joined. */
export interface MysqlPacket {
  /** Sequence id of the first physical packet. */
  readonly seq: number;
  /** Sequence id of the last physical packet (differs from `seq` only for a split packet). */
  readonly lastSeq: number;
  readonly payload: Buffer;
}

/**
 * Cuts a byte stream into logical packets. Feed chunks as they arrive; a packet split at any offset
 * (header included) comes out whole once its last byte is in. A packet of exactly 0xffffff bytes
 * continues in the next one (possibly empty), and the parts are joined; the logical length is bounded by
 * `maxLogicalPacket` and checked on every header before any body is buffered.
 */
export class PacketFramer {
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  /** Parts of a split packet seen so far. */
  private parts: Buffer[] = [];
  private partsBytes = 0;
  private firstSeq = -1;
  private failed = false;
  private readonly limits: MysqlLimits;

  constructor(limits: Partial<MysqlLimits> = {}) {
    this.limits = { ...DEFAULT_MYSQL_LIMITS, ...limits };
  }

  /** Bytes buffered that are not yet a whole packet. */
  get buffered(): number {
    return this.pendingBytes + this.partsBytes;
  }

  /** Feeds a chunk; returns the logical packets it completes. */
  push(chunk: Uint8Array): MysqlPacket[] {
    this.feed(chunk);
    const out: MysqlPacket[] = [];
    for (let p = this.next(); p; p = this.next()) out.push(p);
    return out;
  }

  /** Queues a chunk without reading it (read with `next()`, one packet at a time). */
  feed(chunk: Uint8Array): void {
    if (this.failed) throw new MysqlProtocolError('invalid_value', 'the packet stream already failed');
    if (chunk.length === 0) return;
    this.pending.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength));
    this.pendingBytes += chunk.length;
  }

  /**
   * The next complete logical packet, or undefined until more bytes come. A reader that must stop
   * after a packet (an SSLRequest is followed by TLS bytes, not packets) stops calling and takes the
   * rest with `takeRest()`.
   */
  next(): MysqlPacket | undefined {
    if (this.failed) throw new MysqlProtocolError('invalid_value', 'the packet stream already failed');
    try {
      for (;;) {
        if (this.pendingBytes < 4) return undefined;
        const head = this.peek(4);
        const length = head[0]! | (head[1]! << 8) | (head[2]! << 16);
        const seq = head[3]!;
        if (this.partsBytes + length > this.limits.maxLogicalPacket) {
          throw new MysqlProtocolError('limit_exceeded', `packet of ${this.partsBytes + length} bytes exceeds the limit of ${this.limits.maxLogicalPacket}`);
        }
        if (this.firstSeq >= 0 && seq !== ((this.firstSeq + this.parts.length) & 0xff)) {
          throw new MysqlProtocolError('bad_sequence', `continuation packet has sequence id ${seq}, expected ${(this.firstSeq + this.parts.length) & 0xff}`);
        }
        if (this.pendingBytes < 4 + length) return undefined;
        this.take(4);
        const body = this.take(length);
        if (this.firstSeq < 0) this.firstSeq = seq;
        if (length === MAX_PACKET_PAYLOAD) {
          this.parts.push(body);
          this.partsBytes += length;
          continue;
        }
        const payload = this.parts.length === 0 ? body : Buffer.concat([...this.parts, body]);
        const out = { seq: this.firstSeq, lastSeq: seq, payload };
        this.parts = [];
        this.partsBytes = 0;
        this.firstSeq = -1;
        return out;
      }
    } catch (error) {
      this.failed = true;
      throw error;
    }
  }

  /** The stream ended: anything buffered is a truncated packet. */
  end(): void {
    if (this.buffered > 0) throw new MysqlProtocolError('unexpected_eof', `stream ended inside a packet (${this.buffered} bytes buffered)`);
  }

  /** Whatever is buffered, unparsed, leaving the framer empty (handing the stream to another reader). */
  takeRest(): Buffer {
    const rest = Buffer.concat(this.pending);
    this.pending = [];
    this.pendingBytes = 0;
    return rest;
  }

  private peek(n: number): Buffer {
    const first = this.pending[0]!;
    if (first.length >= n) return first.subarray(0, n);
    const joined = Buffer.concat(this.pending);
    this.pending = [joined];
    return joined.subarray(0, n);
  }

  private take(n: number): Buffer {
    if (n === 0) return Buffer.alloc(0);
    const first = this.pending[0]!;
    if (first.length >= n) {
      const out = first.subarray(0, n);
      if (first.length === n) this.pending.shift();
      else this.pending[0] = first.subarray(n);
      this.pendingBytes -= n;
      return out;
    }
    const out = Buffer.allocUnsafe(n);
    let filled = 0;
    while (filled < n) {
      const head = this.pending[0]!;
      const part = Math.min(head.length, n - filled);
      head.copy(out, filled, 0, part);
      filled += part;
      if (part === head.length) this.pending.shift();
      else this.pending[0] = head.subarray(part);
    }
    this.pendingBytes -= n;
    return out;
  }
}

/**
 * The wire bytes of one logical packet starting at sequence id `seq`: split into 0xffffff-byte parts,
 * with an empty last part when the length is an exact multiple. `nextSeq` is the id after the last part.
 */
export function encodePacket(payload: Uint8Array, seq: number): { bytes: Buffer; nextSeq: number } {
  if (payload.length < MAX_PACKET_PAYLOAD) {
    const bytes = Buffer.allocUnsafe(4 + payload.length);
    bytes.writeUIntLE(payload.length, 0, 3);
    bytes[3] = seq & 0xff;
    bytes.set(payload, 4);
    return { bytes, nextSeq: (seq + 1) & 0xff };
  }
  const pieces: Buffer[] = [];
  let offset = 0;
  let s = seq;
  for (;;) {
    const size = Math.min(MAX_PACKET_PAYLOAD, payload.length - offset);
    const header = Buffer.allocUnsafe(4);
    header.writeUIntLE(size, 0, 3);
    header[3] = s & 0xff;
    pieces.push(header, Buffer.from(payload.buffer, payload.byteOffset + offset, size));
    offset += size;
    s = (s + 1) & 0xff;
    if (size < MAX_PACKET_PAYLOAD) break;
  }
  return { bytes: Buffer.concat(pieces), nextSeq: s };
}

/** Shorthand: the wire bytes of a payload known to be shorter than 16 MiB. */
export function packet(payload: Uint8Array, seq: number): Buffer {
  return encodePacket(payload, seq).bytes;
}
