import { describe, expect, it } from 'vitest';
import { prng, randomBytesSeeded } from '../test/support/bytes.js';
import { decodeFrame, encodeFrame, truncateReason } from './codec.js';
import { FrameError, type FrameErrorCode } from './errors.js';
import type { Frame } from './frame.js';
import { FRAME_HEADER_SIZE, MAX_FRAME_PAYLOAD, MAX_REASON_BYTES } from './limits.js';

const header = {
  grant: 'eyJhbGciOiJFUzI1NiJ9.e30.sig',
  resource: 'orders-db',
  protocol: 'postgres' as const,
  client: { address: '10.0.0.7', port: 51234, applicationName: 'psql' },
};

const samples: Frame[] = [
  { type: 'OPEN', streamId: 1, window: 256 * 1024, header },
  { type: 'OPEN_OK', streamId: 1, window: 128 * 1024 },
  { type: 'OPEN_ERROR', streamId: 2, code: 2, message: 'grant expired — try again' },
  { type: 'DATA', streamId: 3, data: Uint8Array.from([0, 1, 2, 255]) },
  { type: 'DATA', streamId: 0xffff_ffff, data: new Uint8Array(MAX_FRAME_PAYLOAD).fill(7) },
  { type: 'CREDIT', streamId: 3, increment: 65_536 },
  { type: 'END', streamId: 3 },
  { type: 'RESET', streamId: 3, code: 1, message: '' },
  { type: 'PING', streamId: 0, nonce: Uint8Array.from([1, 2, 3, 4, 5, 6, 7, 8]) },
  { type: 'PONG', streamId: 0, nonce: Uint8Array.from([8, 7, 6, 5, 4, 3, 2, 1]) },
];

/** Compare byte fields by content, whatever their class (Buffer views or Uint8Array). */
function plain(frame: Frame): unknown {
  if (frame.type === 'DATA') return { ...frame, data: Array.from(frame.data) };
  if (frame.type === 'PING' || frame.type === 'PONG') return { ...frame, nonce: Array.from(frame.nonce) };
  return frame;
}

function raw(version: number, type: number, streamId: number, declared: number, payload: Uint8Array = new Uint8Array()): Buffer {
  const buf = Buffer.alloc(FRAME_HEADER_SIZE + payload.length);
  buf.writeUInt8(version, 0);
  buf.writeUInt8(type, 1);
  buf.writeUInt32BE(streamId, 2);
  buf.writeUInt32BE(declared, 6);
  buf.set(payload, FRAME_HEADER_SIZE);
  return buf;
}

function rawWithPayload(type: number, streamId: number, payload: Uint8Array): Buffer {
  return raw(1, type, streamId, payload.length, payload);
}

function refusedWith(bytes: Uint8Array): FrameErrorCode {
  try {
    decodeFrame(bytes);
  } catch (error) {
    expect(error).toBeInstanceOf(FrameError);
    return (error as FrameError).code;
  }
  throw new Error('frame was accepted');
}

describe('frame codec', () => {
  it.each(samples.map((f) => [f.type, f] as const))('round-trips %s', (_type, frame) => {
    const bytes = encodeFrame(frame);
    expect(bytes[0]).toBe(1);
    expect(plain(decodeFrame(bytes))).toEqual(plain(frame));
  });

  it('fills in the default client info of an OPEN header', () => {
    const { client: _client, ...withoutClient } = header;
    const decoded = decodeFrame(encodeFrame({ type: 'OPEN', streamId: 9, window: 65_536, header: { ...withoutClient, client: {} } }));
    expect(decoded).toMatchObject({ header: { client: {} } });
  });

  it('refuses to encode what a peer would refuse', () => {
    const encodeCode = (frame: Frame): FrameErrorCode => {
      try {
        encodeFrame(frame);
      } catch (error) {
        return (error as FrameError).code;
      }
      throw new Error(`${frame.type} frame was encoded`);
    };
    expect(encodeCode({ type: 'DATA', streamId: 1, data: new Uint8Array(MAX_FRAME_PAYLOAD + 1) })).toBe('TOO_LARGE');
    expect(encodeCode({ type: 'DATA', streamId: 1, data: new Uint8Array() })).toBe('BAD_LENGTH');
    expect(encodeCode({ type: 'DATA', streamId: 0, data: new Uint8Array(1) })).toBe('BAD_STREAM_ID');
    expect(encodeCode({ type: 'CREDIT', streamId: 1, increment: 0 })).toBe('BAD_PAYLOAD');
    expect(encodeCode({ type: 'OPEN_OK', streamId: 1, window: 10 })).toBe('BAD_PAYLOAD');
    expect(encodeCode({ type: 'RESET', streamId: 1, code: 70_000, message: 'x' })).toBe('BAD_PAYLOAD');
    expect(encodeCode({ type: 'RESET', streamId: 1, code: 1, message: 'x'.repeat(MAX_REASON_BYTES + 1) })).toBe('TOO_LARGE');
    expect(encodeCode({ type: 'OPEN', streamId: 1, window: 65_536, header: { ...header, resource: '' } })).toBe('BAD_OPEN_HEADER');
  });

  describe('refuses every malformed frame class with a typed error', () => {
    const cases: [string, Uint8Array, FrameErrorCode][] = [
      ['empty message', new Uint8Array(), 'TOO_SHORT'],
      ['shorter than the header', Uint8Array.from([1, 4, 0, 0, 0]), 'TOO_SHORT'],
      ['truncated payload', encodeFrame(samples[3]!).subarray(0, FRAME_HEADER_SIZE + 2), 'TOO_SHORT'],
      ['trailing bytes', Buffer.concat([encodeFrame(samples[6]!), Buffer.from([0])]), 'BAD_LENGTH'],
      ['unknown version', raw(2, 0x06, 1, 0), 'BAD_VERSION'],
      ['version zero', raw(0, 0x06, 1, 0), 'BAD_VERSION'],
      ['unknown type 0x00', raw(1, 0x00, 1, 0), 'UNKNOWN_TYPE'],
      ['unknown type 0xff', raw(1, 0xff, 1, 0), 'UNKNOWN_TYPE'],
      ['declared length 4 GiB', raw(1, 0x04, 1, 0xffff_ffff, Uint8Array.from([1])), 'TOO_LARGE'],
      ['frame over 64 KiB', rawWithPayload(0x04, 1, new Uint8Array(MAX_FRAME_PAYLOAD + 1)), 'TOO_LARGE'],
      ['DATA on stream 0', rawWithPayload(0x04, 0, Uint8Array.from([1])), 'BAD_STREAM_ID'],
      ['PING on a stream', rawWithPayload(0x08, 5, new Uint8Array(8)), 'BAD_STREAM_ID'],
      ['empty DATA', raw(1, 0x04, 1, 0), 'BAD_LENGTH'],
      ['END with a payload', rawWithPayload(0x06, 1, Uint8Array.from([0])), 'BAD_LENGTH'],
      ['CREDIT of 3 bytes', rawWithPayload(0x05, 1, Uint8Array.from([0, 0, 1])), 'BAD_LENGTH'],
      ['CREDIT of zero', rawWithPayload(0x05, 1, Uint8Array.from([0, 0, 0, 0])), 'BAD_PAYLOAD'],
      ['CREDIT beyond the max window', rawWithPayload(0x05, 1, Uint8Array.from([0xff, 0, 0, 0])), 'BAD_PAYLOAD'],
      ['PING with a short nonce', rawWithPayload(0x08, 0, new Uint8Array(7)), 'BAD_LENGTH'],
      ['OPEN_OK with a tiny window', rawWithPayload(0x02, 1, Uint8Array.from([0, 0, 0, 1])), 'BAD_PAYLOAD'],
      ['RESET without a code', rawWithPayload(0x07, 1, Uint8Array.from([1])), 'TOO_SHORT'],
      ['RESET with invalid UTF-8', rawWithPayload(0x07, 1, Uint8Array.from([0, 1, 0xc3, 0x28])), 'BAD_PAYLOAD'],
      ['RESET with an oversized reason', rawWithPayload(0x07, 1, new Uint8Array(2 + MAX_REASON_BYTES + 1).fill(0x61)), 'BAD_LENGTH'],
      ['OPEN that is not JSON', rawWithPayload(0x01, 1, Buffer.concat([Buffer.from([0, 4, 0, 0]), Buffer.from('{nope')])), 'BAD_OPEN_HEADER'],
      [
        'OPEN with an unknown key',
        rawWithPayload(0x01, 1, Buffer.concat([Buffer.from([0, 4, 0, 0]), Buffer.from(JSON.stringify({ ...header, admin: true }))])),
        'BAD_OPEN_HEADER',
      ],
      [
        'OPEN with an unknown protocol',
        rawWithPayload(0x01, 1, Buffer.concat([Buffer.from([0, 4, 0, 0]), Buffer.from(JSON.stringify({ ...header, protocol: 'ftp' }))])),
        'BAD_OPEN_HEADER',
      ],
      ['OPEN that is JSON null', rawWithPayload(0x01, 1, Buffer.concat([Buffer.from([0, 4, 0, 0]), Buffer.from('null')])), 'BAD_OPEN_HEADER'],
    ];
    it.each(cases)('%s', (_name, bytes, code) => {
      expect(refusedWith(bytes)).toBe(code);
    });
  });

  it('refuses every truncation of every valid frame and never throws anything but FrameError', () => {
    for (const frame of samples.slice(0, 4).concat(samples.slice(5))) {
      const bytes = encodeFrame(frame);
      for (let cut = 0; cut < bytes.length; cut++) {
        expect(() => decodeFrame(bytes.subarray(0, cut))).toThrow(FrameError);
      }
    }
  });

  it('survives random bytes and random mutations of valid frames (fixed seed)', () => {
    const rand = prng(0xc0ffee);
    let accepted = 0;
    for (let i = 0; i < 20_000; i++) {
      let bytes: Uint8Array;
      if (i % 2 === 0) {
        bytes = randomBytesSeeded(rand, Math.floor(rand() * 300));
        // Give half the random inputs a valid version and type so deeper paths are reached.
        if (bytes.length > 2 && rand() < 0.5) {
          bytes[0] = 1;
          bytes[1] = 1 + Math.floor(rand() * 9);
        }
      } else {
        const base = Buffer.from(encodeFrame(samples[Math.floor(rand() * samples.length)]!));
        const flips = 1 + Math.floor(rand() * 4);
        for (let f = 0; f < flips; f++) base[Math.floor(rand() * Math.min(base.length, 400))] = Math.floor(rand() * 256);
        bytes = base;
      }
      try {
        decodeFrame(bytes);
        accepted++;
      } catch (error) {
        if (!(error instanceof FrameError)) throw error;
      }
    }
    // Some mutations (inside DATA payloads) stay valid; most do not.
    expect(accepted).toBeGreaterThan(0);
    expect(accepted).toBeLessThan(20_000);
  });

  it('cuts long reasons on a character boundary', () => {
    const reason = 'é'.repeat(MAX_REASON_BYTES); // 2 bytes each
    const cut = truncateReason(reason);
    expect(Buffer.byteLength(cut)).toBeLessThanOrEqual(MAX_REASON_BYTES);
    expect(cut).toBe('é'.repeat(MAX_REASON_BYTES / 2));
    expect(truncateReason('short')).toBe('short');
  });
});
