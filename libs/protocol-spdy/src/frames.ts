/** SPDY/3.1 framing (SPDY Protocol Draft 3.1): frame types, flags, status codes and encoders. */

export const SPDY_VERSION = 3;

export const FrameType = {
  SYN_STREAM: 1,
  SYN_REPLY: 2,
  RST_STREAM: 3,
  SETTINGS: 4,
  PING: 6,
  GOAWAY: 7,
  HEADERS: 8,
  WINDOW_UPDATE: 9,
} as const;
export type FrameType = (typeof FrameType)[keyof typeof FrameType];

export const FLAG_FIN = 0x01;
export const FLAG_UNIDIRECTIONAL = 0x02;
export const FLAG_SETTINGS_CLEAR_SETTINGS = 0x01;

/** RST_STREAM status codes. */
export const RstStatus = {
  PROTOCOL_ERROR: 1,
  INVALID_STREAM: 2,
  REFUSED_STREAM: 3,
  UNSUPPORTED_VERSION: 4,
  CANCEL: 5,
  INTERNAL_ERROR: 6,
  FLOW_CONTROL_ERROR: 7,
  STREAM_IN_USE: 8,
  STREAM_ALREADY_CLOSED: 9,
  FRAME_TOO_LARGE: 11,
} as const;
export type RstStatus = (typeof RstStatus)[keyof typeof RstStatus];

/** GOAWAY status codes. */
export const GoAwayStatus = { OK: 0, PROTOCOL_ERROR: 1, INTERNAL_ERROR: 2 } as const;
export type GoAwayStatus = (typeof GoAwayStatus)[keyof typeof GoAwayStatus];

/** SETTINGS ids this implementation reads; the others are accepted and ignored. */
export const SETTINGS_INITIAL_WINDOW_SIZE = 7;

/** Initial stream and session flow-control windows of SPDY/3.1 (64 KiB). */
export const DEFAULT_WINDOW = 64 * 1024;
/** Largest window (2^31 - 1): WINDOW_UPDATE past it is a flow-control error. */
export const MAX_WINDOW = 0x7fffffff;
export const MAX_STREAM_ID = 0x7fffffff;

export const FRAME_HEADER_BYTES = 8;

/** A settings entry: flags, 24-bit id, 32-bit value. */
export interface SettingsEntry {
  flags: number;
  id: number;
  value: number;
}

function controlFrame(type: FrameType, flags: number, payload: Buffer): Buffer {
  if (payload.length > 0xffffff) throw new RangeError(`a SPDY frame carries at most 16 MiB - 1, not ${payload.length} bytes`);
  const frame = Buffer.allocUnsafe(FRAME_HEADER_BYTES + payload.length);
  frame.writeUInt16BE(0x8000 | SPDY_VERSION, 0);
  frame.writeUInt16BE(type, 2);
  frame.writeUInt32BE(((flags & 0xff) << 24 | payload.length) >>> 0, 4);
  payload.copy(frame, FRAME_HEADER_BYTES);
  return frame;
}

function streamId(id: number): number {
  if (!Number.isInteger(id) || id < 0 || id > MAX_STREAM_ID) throw new RangeError(`invalid SPDY stream id ${id}`);
  return id;
}

export function encodeData(id: number, data: Uint8Array, flags = 0): Buffer {
  if (data.length > 0xffffff) throw new RangeError(`a SPDY frame carries at most 16 MiB - 1, not ${data.length} bytes`);
  const frame = Buffer.allocUnsafe(FRAME_HEADER_BYTES + data.length);
  frame.writeUInt32BE(streamId(id), 0);
  frame.writeUInt32BE(((flags & 0xff) << 24 | data.length) >>> 0, 4);
  frame.set(data, FRAME_HEADER_BYTES);
  return frame;
}

/** SYN_STREAM with an already compressed header block. */
export function encodeSynStream(id: number, associatedId: number, priority: number, headerBlock: Buffer, flags = 0): Buffer {
  const head = Buffer.alloc(10);
  head.writeUInt32BE(streamId(id), 0);
  head.writeUInt32BE(streamId(associatedId), 4);
  head.writeUInt8((priority & 0x7) << 5, 8);
  return controlFrame(FrameType.SYN_STREAM, flags, Buffer.concat([head, headerBlock]));
}

export function encodeSynReply(id: number, headerBlock: Buffer, flags = 0): Buffer {
  const head = Buffer.alloc(4);
  head.writeUInt32BE(streamId(id), 0);
  return controlFrame(FrameType.SYN_REPLY, flags, Buffer.concat([head, headerBlock]));
}

export function encodeHeaders(id: number, headerBlock: Buffer, flags = 0): Buffer {
  const head = Buffer.alloc(4);
  head.writeUInt32BE(streamId(id), 0);
  return controlFrame(FrameType.HEADERS, flags, Buffer.concat([head, headerBlock]));
}

export function encodeRstStream(id: number, status: number): Buffer {
  const payload = Buffer.alloc(8);
  payload.writeUInt32BE(streamId(id), 0);
  payload.writeUInt32BE(status >>> 0, 4);
  return controlFrame(FrameType.RST_STREAM, 0, payload);
}

export function encodeSettings(entries: SettingsEntry[], flags = 0): Buffer {
  const payload = Buffer.alloc(4 + 8 * entries.length);
  payload.writeUInt32BE(entries.length, 0);
  entries.forEach((e, i) => {
    payload.writeUInt32BE(((e.flags & 0xff) << 24 | (e.id & 0xffffff)) >>> 0, 4 + 8 * i);
    payload.writeUInt32BE(e.value >>> 0, 8 + 8 * i);
  });
  return controlFrame(FrameType.SETTINGS, flags, payload);
}

export function encodePing(id: number): Buffer {
  const payload = Buffer.alloc(4);
  payload.writeUInt32BE(id >>> 0, 0);
  return controlFrame(FrameType.PING, 0, payload);
}

export function encodeGoAway(lastGoodStreamId: number, status: number): Buffer {
  const payload = Buffer.alloc(8);
  payload.writeUInt32BE(streamId(lastGoodStreamId), 0);
  payload.writeUInt32BE(status >>> 0, 4);
  return controlFrame(FrameType.GOAWAY, 0, payload);
}

export function encodeWindowUpdate(id: number, delta: number): Buffer {
  if (!Number.isInteger(delta) || delta < 1 || delta > MAX_WINDOW) throw new RangeError(`invalid SPDY window delta ${delta}`);
  const payload = Buffer.alloc(8);
  payload.writeUInt32BE(streamId(id), 0);
  payload.writeUInt32BE(delta, 4);
  return controlFrame(FrameType.WINDOW_UPDATE, 0, payload);
}
