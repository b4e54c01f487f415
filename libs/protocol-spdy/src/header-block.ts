import { Deflate, Inflate, Z_SYNC_FLUSH } from 'pako';
import { SPDY3_HEADER_DICTIONARY } from './dictionary.js';
import { SpdyProtocolError } from './errors.js';
import { GoAwayStatus, RstStatus } from './frames.js';
import type { SpdyLimits } from './limits.js';

/** Header names (lowercase, as SPDY requires) to their values; several values travel NUL-separated. */
export type SpdyHeaders = Record<string, string[]>;

/** The uncompressed name/value block: a 32-bit pair count, then each name and value after its 32-bit length. */
export function encodeNameValueBlock(headers: Record<string, string | string[]>): Buffer {
  const entries = Object.entries(headers);
  const parts: Buffer[] = [Buffer.alloc(4)];
  parts[0]!.writeUInt32BE(entries.length);
  for (const [name, value] of entries) {
    const lower = name.toLowerCase();
    const values = Array.isArray(value) ? value : [value];
    if (lower === '' || values.length === 0) throw new RangeError(`a SPDY header needs a name and a value (${name})`);
    if (values.some((v) => v === '' || v.includes('\0'))) throw new RangeError(`a SPDY header value is not empty and has no NUL (${name})`);
    const nameBytes = Buffer.from(lower, 'utf8');
    const valueBytes = Buffer.from(values.join('\0'), 'utf8');
    const lengths = Buffer.alloc(4);
    lengths.writeUInt32BE(nameBytes.length);
    const valueLength = Buffer.alloc(4);
    valueLength.writeUInt32BE(valueBytes.length);
    parts.push(lengths, nameBytes, valueLength, valueBytes);
  }
  return Buffer.concat(parts);
}

/** Reads a decompressed block. Errors are the stream's alone: the compression state is intact. */
export function decodeNameValueBlock(block: Buffer, streamId: number, maxPairs: number): SpdyHeaders {
  const bad = (why: string): never => {
    throw new SpdyProtocolError(`header block of stream ${streamId}: ${why}`, RstStatus.PROTOCOL_ERROR, streamId);
  };
  if (block.length < 4) bad('shorter than its pair count');
  const count = block.readUInt32BE(0);
  if (count > maxPairs) bad(`${count} pairs (limit ${maxPairs})`);
  const headers: SpdyHeaders = {};
  let offset = 4;
  const field = (what: string): Buffer => {
    if (offset + 4 > block.length) bad(`truncated before the length of a ${what}`);
    const length = block.readUInt32BE(offset);
    offset += 4;
    if (length > block.length - offset) bad(`a ${what} of ${length} bytes runs past the block`);
    const bytes = block.subarray(offset, offset + length);
    offset += length;
    return bytes;
  };
  for (let i = 0; i < count; i++) {
    const name = field('name').toString('utf8');
    const value = field('value').toString('utf8');
    if (name === '') bad('an empty header name');
    if (name !== name.toLowerCase()) bad(`header name "${name}" is not lowercase`);
    if (Object.hasOwn(headers, name)) bad(`header "${name}" appears twice`);
    headers[name] = value.split('\0');
  }
  if (offset !== block.length) bad(`${block.length - offset} bytes after the last pair`);
  return headers;
}

/** One direction's compressor: every header block a session sends shares its zlib state. */
export class HeaderCompressor {
  private readonly deflate = new Deflate({ dictionary: SPDY3_HEADER_DICTIONARY, level: 6 });
  private out: Buffer[] = [];

  constructor() {
    this.deflate.onData = (chunk) => this.out.push(Buffer.from(chunk));
  }

  compress(headers: Record<string, string | string[]>): Buffer {
    return this.compressBlock(encodeNameValueBlock(headers));
  }

  /** Compresses an already encoded name/value block (as it is, right or wrong). */
  compressBlock(block: Buffer): Buffer {
    this.out = [];
    if (!this.deflate.push(block, Z_SYNC_FLUSH)) throw new Error(`header compression failed (zlib ${this.deflate.err})`);
    return Buffer.concat(this.out);
  }
}

/**
 * One direction's decompressor. A block that does not inflate breaks the shared zlib state for
 * every later block, so that is a session error; so is a block that inflates past the limit.
 */
export class HeaderDecompressor {
  private readonly inflate = new Inflate({ dictionary: SPDY3_HEADER_DICTIONARY });
  private out: Buffer[] = [];
  private size = 0;
  private broken = false;

  constructor(private readonly limits: Pick<SpdyLimits, 'maxDecompressedHeaders' | 'maxHeaderPairs'>) {
    this.inflate.onData = (chunk) => {
      this.size += chunk.length;
      if (this.size > this.limits.maxDecompressedHeaders) {
        this.broken = true;
        throw new SpdyProtocolError(`a header block inflates past ${this.limits.maxDecompressedHeaders} bytes`, GoAwayStatus.PROTOCOL_ERROR);
      }
      this.out.push(Buffer.from(chunk));
    };
  }

  decompress(compressed: Buffer, streamId: number): SpdyHeaders {
    if (this.broken) throw new SpdyProtocolError('header decompression failed earlier', GoAwayStatus.PROTOCOL_ERROR);
    this.out = [];
    this.size = 0;
    if (compressed.length === 0) {
      this.broken = true;
      throw new SpdyProtocolError(`empty header block on stream ${streamId}`, GoAwayStatus.PROTOCOL_ERROR);
    }
    let ok: boolean;
    try {
      ok = this.inflate.push(compressed, Z_SYNC_FLUSH);
    } catch (error) {
      this.broken = true;
      if (error instanceof SpdyProtocolError) throw error;
      throw new SpdyProtocolError(`header block of stream ${streamId} does not inflate: ${String(error)}`, GoAwayStatus.PROTOCOL_ERROR);
    }
    if (!ok || this.inflate.ended) {
      this.broken = true;
      throw new SpdyProtocolError(`header block of stream ${streamId} does not inflate (zlib ${this.inflate.err}${this.inflate.msg ? `: ${this.inflate.msg}` : ''})`, GoAwayStatus.PROTOCOL_ERROR);
    }
    return decodeNameValueBlock(Buffer.concat(this.out), streamId, this.limits.maxHeaderPairs);
  }
}
