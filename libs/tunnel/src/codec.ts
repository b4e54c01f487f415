import { FrameError } from './errors.js';
import { FRAME_TYPE_BYTE, type Frame, type FrameType } from './frame.js';
import {
  FRAME_HEADER_SIZE,
  FRAME_VERSION,
  MAX_FRAME_PAYLOAD,
  MAX_FRAME_SIZE,
  MAX_OPEN_HEADER_BYTES,
  MAX_REASON_BYTES,
  MAX_STREAM_ID,
  MAX_WINDOW,
  MIN_WINDOW,
  PING_NONCE_BYTES,
} from './limits.js';
import { StreamOpenHeaderSchema } from './open-header.js';

/*
 * Frame layout (big endian):
 *   0  u8   version (1)
 *   1  u8   type
 *   2  u32  stream id (0 only for PING/PONG)
 *   6  u32  payload length (<= 64 KiB, must equal the bytes that follow)
 *  10  ...  payload (per type, see README)
 */

const TYPE_BY_BYTE = new Map<number, FrameType>(
  Object.entries(FRAME_TYPE_BYTE).map(([name, byte]) => [byte, name as FrameType]),
);

const utf8 = new TextEncoder();
const strictUtf8 = new TextDecoder('utf-8', { fatal: true });

/** Cut a reason to MAX_REASON_BYTES without splitting a UTF-8 sequence. */
export function truncateReason(reason: string): string {
  const bytes = utf8.encode(reason);
  if (bytes.length <= MAX_REASON_BYTES) return reason;
  let end = MAX_REASON_BYTES;
  // Back off over continuation bytes (10xxxxxx) so the cut lands on a character boundary.
  while (end > 0 && ((bytes[end] ?? 0) & 0xc0) === 0x80) end--;
  return new TextDecoder().decode(bytes.subarray(0, end));
}

function frameBuffer(type: FrameType, streamId: number, payloadLength: number): Buffer {
  if (payloadLength > MAX_FRAME_PAYLOAD) {
    throw new FrameError('TOO_LARGE', `${type} payload of ${payloadLength} bytes exceeds ${MAX_FRAME_PAYLOAD}`);
  }
  const buf = Buffer.allocUnsafe(FRAME_HEADER_SIZE + payloadLength);
  buf.writeUInt8(FRAME_VERSION, 0);
  buf.writeUInt8(FRAME_TYPE_BYTE[type], 1);
  buf.writeUInt32BE(streamId, 2);
  buf.writeUInt32BE(payloadLength, 6);
  return buf;
}

function checkStreamId(frame: Frame): void {
  const connectionLevel = frame.type === 'PING' || frame.type === 'PONG';
  const id = frame.streamId;
  const ok = connectionLevel ? id === 0 : Number.isInteger(id) && id >= 1 && id <= MAX_STREAM_ID;
  if (!ok) throw new FrameError('BAD_STREAM_ID', `${frame.type} cannot carry stream id ${id}`);
}

function checkWindow(window: number): void {
  if (!Number.isInteger(window) || window < MIN_WINDOW || window > MAX_WINDOW) {
    throw new FrameError('BAD_PAYLOAD', `window ${window} outside [${MIN_WINDOW}, ${MAX_WINDOW}]`);
  }
}

function encodeCodeAndReason(frame: { type: FrameType; streamId: number; code: number; message: string }): Buffer {
  if (!Number.isInteger(frame.code) || frame.code < 0 || frame.code > 0xffff) {
    throw new FrameError('BAD_PAYLOAD', `${frame.type} code ${frame.code} is not a u16`);
  }
  const text = utf8.encode(frame.message);
  if (text.length > MAX_REASON_BYTES) {
    throw new FrameError('TOO_LARGE', `${frame.type} reason longer than ${MAX_REASON_BYTES} bytes`);
  }
  const buf = frameBuffer(frame.type, frame.streamId, 2 + text.length);
  buf.writeUInt16BE(frame.code, FRAME_HEADER_SIZE);
  buf.set(text, FRAME_HEADER_SIZE + 2);
  return buf;
}

/**
 * Encode one frame. Refuses (FrameError) anything the decoder on the other side would refuse,
 * so a bug here shows up locally rather than as a peer violation.
 */
export function encodeFrame(frame: Frame): Buffer {
  checkStreamId(frame);
  switch (frame.type) {
    case 'OPEN': {
      checkWindow(frame.window);
      const parsed = StreamOpenHeaderSchema.safeParse(frame.header);
      if (!parsed.success) throw new FrameError('BAD_OPEN_HEADER', `invalid open header: ${parsed.error.message}`);
      const json = utf8.encode(JSON.stringify(parsed.data));
      if (json.length > MAX_OPEN_HEADER_BYTES) {
        throw new FrameError('TOO_LARGE', `open header of ${json.length} bytes exceeds ${MAX_OPEN_HEADER_BYTES}`);
      }
      const buf = frameBuffer('OPEN', frame.streamId, 4 + json.length);
      buf.writeUInt32BE(frame.window, FRAME_HEADER_SIZE);
      buf.set(json, FRAME_HEADER_SIZE + 4);
      return buf;
    }
    case 'OPEN_OK': {
      checkWindow(frame.window);
      const buf = frameBuffer('OPEN_OK', frame.streamId, 4);
      buf.writeUInt32BE(frame.window, FRAME_HEADER_SIZE);
      return buf;
    }
    case 'OPEN_ERROR':
    case 'RESET':
      return encodeCodeAndReason(frame);
    case 'DATA': {
      if (frame.data.length === 0) throw new FrameError('BAD_LENGTH', 'DATA frame must carry at least one byte');
      const buf = frameBuffer('DATA', frame.streamId, frame.data.length);
      buf.set(frame.data, FRAME_HEADER_SIZE);
      return buf;
    }
    case 'CREDIT': {
      if (!Number.isInteger(frame.increment) || frame.increment < 1 || frame.increment > MAX_WINDOW) {
        throw new FrameError('BAD_PAYLOAD', `credit increment ${frame.increment} outside [1, ${MAX_WINDOW}]`);
      }
      const buf = frameBuffer('CREDIT', frame.streamId, 4);
      buf.writeUInt32BE(frame.increment, FRAME_HEADER_SIZE);
      return buf;
    }
    case 'END':
      return frameBuffer('END', frame.streamId, 0);
    case 'PING':
    case 'PONG': {
      if (frame.nonce.length !== PING_NONCE_BYTES) {
        throw new FrameError('BAD_PAYLOAD', `${frame.type} nonce must be ${PING_NONCE_BYTES} bytes`);
      }
      const buf = frameBuffer(frame.type, 0, PING_NONCE_BYTES);
      buf.set(frame.nonce, FRAME_HEADER_SIZE);
      return buf;
    }
  }
}

function expectLength(type: FrameType, payload: Uint8Array, length: number): void {
  if (payload.length !== length) {
    throw new FrameError('BAD_LENGTH', `${type} payload must be ${length} bytes, got ${payload.length}`);
  }
}

function decodeWindow(type: FrameType, view: DataView): number {
  const window = view.getUint32(FRAME_HEADER_SIZE);
  if (window < MIN_WINDOW || window > MAX_WINDOW) {
    throw new FrameError('BAD_PAYLOAD', `${type} window ${window} outside [${MIN_WINDOW}, ${MAX_WINDOW}]`);
  }
  return window;
}

function decodeReason(type: FrameType, bytes: Uint8Array): string {
  if (bytes.length > MAX_REASON_BYTES) {
    throw new FrameError('BAD_LENGTH', `${type} reason longer than ${MAX_REASON_BYTES} bytes`);
  }
  try {
    return strictUtf8.decode(bytes);
  } catch {
    throw new FrameError('BAD_PAYLOAD', `${type} reason is not valid UTF-8`);
  }
}

/**
 * Decode exactly one frame (one transport message). Never throws anything but FrameError and
 * never allocates more than the input size: DATA payloads are views into `bytes`.
 */
export function decodeFrame(bytes: Uint8Array): Frame {
  if (bytes.length > MAX_FRAME_SIZE) {
    throw new FrameError('TOO_LARGE', `frame of ${bytes.length} bytes exceeds ${MAX_FRAME_SIZE}`);
  }
  if (bytes.length < FRAME_HEADER_SIZE) {
    throw new FrameError('TOO_SHORT', `frame of ${bytes.length} bytes is shorter than the ${FRAME_HEADER_SIZE}-byte header`);
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const version = view.getUint8(0);
  if (version !== FRAME_VERSION) throw new FrameError('BAD_VERSION', `unsupported frame version ${version}`);
  const typeByte = view.getUint8(1);
  const type = TYPE_BY_BYTE.get(typeByte);
  if (type === undefined) throw new FrameError('UNKNOWN_TYPE', `unknown frame type 0x${typeByte.toString(16)}`);
  const streamId = view.getUint32(2);
  const declared = view.getUint32(6);
  if (declared > MAX_FRAME_PAYLOAD) {
    throw new FrameError('TOO_LARGE', `declared payload of ${declared} bytes exceeds ${MAX_FRAME_PAYLOAD}`);
  }
  if (declared !== bytes.length - FRAME_HEADER_SIZE) {
    throw new FrameError(
      declared > bytes.length - FRAME_HEADER_SIZE ? 'TOO_SHORT' : 'BAD_LENGTH',
      `declared payload of ${declared} bytes but ${bytes.length - FRAME_HEADER_SIZE} present`,
    );
  }
  const connectionLevel = type === 'PING' || type === 'PONG';
  if (connectionLevel ? streamId !== 0 : streamId === 0) {
    throw new FrameError('BAD_STREAM_ID', `${type} cannot carry stream id ${streamId}`);
  }
  const payload = bytes.subarray(FRAME_HEADER_SIZE);

  switch (type) {
    case 'OPEN': {
      if (payload.length < 4 + 2) throw new FrameError('TOO_SHORT', 'OPEN payload too short');
      const window = decodeWindow(type, view);
      const json = payload.subarray(4);
      if (json.length > MAX_OPEN_HEADER_BYTES) {
        throw new FrameError('TOO_LARGE', `open header of ${json.length} bytes exceeds ${MAX_OPEN_HEADER_BYTES}`);
      }
      let raw: unknown;
      try {
        raw = JSON.parse(strictUtf8.decode(json));
      } catch {
        throw new FrameError('BAD_OPEN_HEADER', 'open header is not valid UTF-8 JSON');
      }
      const parsed = StreamOpenHeaderSchema.safeParse(raw);
      if (!parsed.success) {
        const where = parsed.error.issues.map((i) => i.path.join('.') || '(root)').join(', ');
        throw new FrameError('BAD_OPEN_HEADER', `open header fails validation at ${where}`);
      }
      return { type, streamId, window, header: parsed.data };
    }
    case 'OPEN_OK':
      expectLength(type, payload, 4);
      return { type, streamId, window: decodeWindow(type, view) };
    case 'OPEN_ERROR':
    case 'RESET': {
      if (payload.length < 2) throw new FrameError('TOO_SHORT', `${type} payload too short`);
      const code = view.getUint16(FRAME_HEADER_SIZE);
      return { type, streamId, code, message: decodeReason(type, payload.subarray(2)) };
    }
    case 'DATA':
      if (payload.length === 0) throw new FrameError('BAD_LENGTH', 'empty DATA frame');
      return { type, streamId, data: payload };
    case 'CREDIT': {
      expectLength(type, payload, 4);
      const increment = view.getUint32(FRAME_HEADER_SIZE);
      if (increment < 1 || increment > MAX_WINDOW) {
        throw new FrameError('BAD_PAYLOAD', `credit increment ${increment} outside [1, ${MAX_WINDOW}]`);
      }
      return { type, streamId, increment };
    }
    case 'END':
      expectLength(type, payload, 0);
      return { type, streamId };
    case 'PING':
    case 'PONG':
      expectLength(type, payload, PING_NONCE_BYTES);
      return { type, streamId: 0, nonce: payload };
  }
}
