import { SpdyProtocolError } from './errors.js';
import { FRAME_HEADER_BYTES, FrameType, GoAwayStatus, RstStatus, SPDY_VERSION, type SettingsEntry } from './frames.js';
import type { SpdyLimits } from './limits.js';

/** A decoded frame. Header blocks stay compressed: only the session's one decompressor may read them, in order. */
export type SpdyFrame =
  | { type: 'data'; streamId: number; flags: number; data: Buffer }
  | { type: 'syn_stream'; streamId: number; associatedId: number; priority: number; flags: number; headerBlock: Buffer }
  | { type: 'syn_reply'; streamId: number; flags: number; headerBlock: Buffer }
  | { type: 'headers'; streamId: number; flags: number; headerBlock: Buffer }
  | { type: 'rst_stream'; streamId: number; status: number }
  | { type: 'settings'; flags: number; entries: SettingsEntry[] }
  | { type: 'ping'; id: number }
  | { type: 'goaway'; lastGoodStreamId: number; status: number }
  | { type: 'window_update'; streamId: number; delta: number }
  | { type: 'unknown'; frameType: number };

const ID_MASK = 0x7fffffff;

function fail(message: string): never {
  throw new SpdyProtocolError(message, GoAwayStatus.PROTOCOL_ERROR);
}

function exactLength(name: string, payload: Buffer, length: number): void {
  if (payload.length !== length) fail(`${name} frame of ${payload.length} bytes (it has ${length})`);
}

function minLength(name: string, payload: Buffer, length: number): void {
  if (payload.length < length) fail(`${name} frame of ${payload.length} bytes (it has at least ${length})`);
}

function decodeControl(type: number, flags: number, payload: Buffer): SpdyFrame {
  switch (type) {
    case FrameType.SYN_STREAM:
      minLength('SYN_STREAM', payload, 10);
      return {
        type: 'syn_stream', streamId: payload.readUInt32BE(0) & ID_MASK, associatedId: payload.readUInt32BE(4) & ID_MASK,
        priority: payload[8]! >> 5, flags, headerBlock: payload.subarray(10),
      };
    case FrameType.SYN_REPLY:
      minLength('SYN_REPLY', payload, 4);
      return { type: 'syn_reply', streamId: payload.readUInt32BE(0) & ID_MASK, flags, headerBlock: payload.subarray(4) };
    case FrameType.HEADERS:
      minLength('HEADERS', payload, 4);
      return { type: 'headers', streamId: payload.readUInt32BE(0) & ID_MASK, flags, headerBlock: payload.subarray(4) };
    case FrameType.RST_STREAM:
      exactLength('RST_STREAM', payload, 8);
      return { type: 'rst_stream', streamId: payload.readUInt32BE(0) & ID_MASK, status: payload.readUInt32BE(4) };
    case FrameType.SETTINGS: {
      minLength('SETTINGS', payload, 4);
      const count = payload.readUInt32BE(0);
      if (payload.length !== 4 + 8 * count) fail(`SETTINGS frame of ${payload.length} bytes announces ${count} entries`);
      const entries: SettingsEntry[] = [];
      for (let i = 0; i < count; i++) {
        const head = payload.readUInt32BE(4 + 8 * i);
        entries.push({ flags: head >>> 24, id: head & 0xffffff, value: payload.readUInt32BE(8 + 8 * i) });
      }
      return { type: 'settings', flags, entries };
    }
    case FrameType.PING:
      exactLength('PING', payload, 4);
      return { type: 'ping', id: payload.readUInt32BE(0) };
    case FrameType.GOAWAY:
      exactLength('GOAWAY', payload, 8);
      return { type: 'goaway', lastGoodStreamId: payload.readUInt32BE(0) & ID_MASK, status: payload.readUInt32BE(4) };
    case FrameType.WINDOW_UPDATE: {
      exactLength('WINDOW_UPDATE', payload, 8);
      const streamId = payload.readUInt32BE(0) & ID_MASK;
      const delta = payload.readUInt32BE(4) & ID_MASK;
      if (delta === 0) {
        if (streamId === 0) fail('WINDOW_UPDATE of the session by 0 bytes');
        throw new SpdyProtocolError(`WINDOW_UPDATE of stream ${streamId} by 0 bytes`, RstStatus.PROTOCOL_ERROR, streamId);
      }
      return { type: 'window_update', streamId, delta };
    }
    default:
      // SPDY/3: a control frame of a type the endpoint does not know is ignored.
      return { type: 'unknown', frameType: type };
  }
}

/**
 * Cuts a byte stream into SPDY/3 frames. Fed chunks of any size (a frame may arrive one byte at a
 * time); a length over the limits is refused as soon as the 8-byte header is in, before its
 * payload is kept. Any error leaves the decoder failed: the framing of what follows is lost.
 */
export class FrameDecoder {
  private chunks: Buffer[] = [];
  private buffered = 0;
  private failed: SpdyProtocolError | undefined;

  constructor(private readonly limits: Pick<SpdyLimits, 'maxControlPayload' | 'maxDataPayload'>) {}

  /** Bytes received but not yet part of a whole frame. */
  get pendingBytes(): number {
    return this.buffered;
  }

  /** Decodes every whole frame the bytes complete. */
  push(chunk: Buffer): SpdyFrame[] {
    if (this.failed) throw this.failed;
    if (chunk.length > 0) {
      this.chunks.push(chunk);
      this.buffered += chunk.length;
    }
    const frames: SpdyFrame[] = [];
    try {
      for (;;) {
        const frame = this.next();
        if (!frame) break;
        frames.push(frame);
      }
    } catch (error) {
      this.failed = error instanceof SpdyProtocolError ? error : new SpdyProtocolError(String(error), GoAwayStatus.PROTOCOL_ERROR);
      this.chunks = [];
      this.buffered = 0;
      throw this.failed;
    }
    return frames;
  }

  private take(n: number): Buffer {
    const first = this.chunks[0]!;
    if (first.length >= n) {
      const out = first.subarray(0, n);
      if (first.length === n) this.chunks.shift();
      else this.chunks[0] = first.subarray(n);
      this.buffered -= n;
      return out;
    }
    const joined = Buffer.concat(this.chunks, this.buffered);
    this.chunks = joined.length > n ? [joined.subarray(n)] : [];
    this.buffered -= n;
    return joined.subarray(0, n);
  }

  private peekHeader(): Buffer {
    const first = this.chunks[0]!;
    if (first.length >= FRAME_HEADER_BYTES) return first.subarray(0, FRAME_HEADER_BYTES);
    const joined = Buffer.concat(this.chunks, this.buffered);
    this.chunks = [joined];
    return joined.subarray(0, FRAME_HEADER_BYTES);
  }

  private next(): SpdyFrame | undefined {
    if (this.buffered < FRAME_HEADER_BYTES) return undefined;
    const header = this.peekHeader();
    const control = (header[0]! & 0x80) !== 0;
    const word = header.readUInt32BE(4);
    const flags = word >>> 24;
    const length = word & 0xffffff;
    if (control) {
      const version = header.readUInt16BE(0) & 0x7fff;
      if (version !== SPDY_VERSION) throw new SpdyProtocolError(`SPDY version ${version} frame (only ${SPDY_VERSION} is spoken)`, GoAwayStatus.PROTOCOL_ERROR);
      if (length > this.limits.maxControlPayload) fail(`control frame of ${length} bytes (limit ${this.limits.maxControlPayload})`);
    } else if (length > this.limits.maxDataPayload) {
      fail(`DATA frame of ${length} bytes (limit ${this.limits.maxDataPayload})`);
    }
    if (this.buffered < FRAME_HEADER_BYTES + length) return undefined;
    const frame = this.take(FRAME_HEADER_BYTES + length);
    const payload = frame.subarray(FRAME_HEADER_BYTES);
    if (!control) {
      const streamId = frame.readUInt32BE(0) & 0x7fffffff;
      if (streamId === 0) fail('DATA frame on stream 0');
      return { type: 'data', streamId, flags, data: payload };
    }
    return decodeControl(frame.readUInt16BE(2), flags, payload);
  }
}
