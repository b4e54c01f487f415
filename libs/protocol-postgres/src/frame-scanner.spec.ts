import { describe, expect, it } from 'vitest';
import { FRONTEND_SAMPLES } from '../test/support/samples.js';
import { ProtocolError } from './errors.js';
import { FrameScanner } from './frame-scanner.js';
import { FrontendParser } from './frontend-parser.js';
import { serializeFrontend } from './frontend-serialize.js';
import { FRONTEND_MESSAGES } from './frontend-table.js';

const typed = FRONTEND_SAMPLES.filter((m) => !['StartupMessage', 'SSLRequest', 'GSSENCRequest', 'CancelRequest'].includes(m.kind));
const stream = Buffer.concat([...typed.map(serializeFrontend), serializeFrontend({ kind: 'Query', sql: 'x'.repeat(300) })]);
const scanner = (limits = {}) => new FrameScanner(FRONTEND_MESSAGES, 'frontend', limits);

function codeOf(fn: () => void): string | undefined {
  try {
    fn();
    return undefined;
  } catch (error) {
    if (error instanceof ProtocolError) return error.code;
    throw error;
  }
}

describe('FrameScanner (frontend messages, no decoding)', () => {
  it('counts every message of a valid stream, however the stream is cut in two', () => {
    const whole = scanner();
    whole.scan(stream);
    expect(whole.complete).toBe(typed.length + 1);
    expect(whole.atBoundary).toBe(true);
    for (let cut = 0; cut <= stream.length; cut++) {
      const s = scanner();
      s.scan(stream.subarray(0, cut));
      s.scan(stream.subarray(cut));
      expect(s.complete).toBe(typed.length + 1);
      expect(s.atBoundary).toBe(true);
    }
  });

  it('accepts the stream one byte at a time and is between messages only at their ends', () => {
    const s = scanner();
    const ends = new Set<number>();
    let offset = 0;
    for (const m of [...typed.map(serializeFrontend), serializeFrontend({ kind: 'Query', sql: 'x'.repeat(300) })]) ends.add((offset += m.length));
    for (let i = 0; i < stream.length; i++) {
      s.scan(stream.subarray(i, i + 1));
      expect(s.atBoundary).toBe(ends.has(i + 1));
    }
  });

  const bad: { name: string; bytes: Buffer; code: string }[] = [
    { name: 'an unknown type byte', bytes: Buffer.from([0x01, 0, 0, 0, 4]), code: 'unknown_message' },
    { name: 'a length below 4', bytes: Buffer.from([0x51, 0, 0, 0, 3]), code: 'bad_length' },
    { name: 'a negative length', bytes: Buffer.from([0x51, 0xff, 0xff, 0xff, 0xf0]), code: 'bad_length' },
    { name: 'a Sync that is not 4 bytes long', bytes: Buffer.from([0x53, 0, 0, 0, 5, 0]), code: 'bad_length' },
    { name: 'a Query announcing 2 GiB', bytes: Buffer.from([0x51, 0x7f, 0xff, 0xff, 0xff]), code: 'limit_exceeded' },
  ];

  it.each(bad)('stops at $name as soon as the header is in, after valid messages, wherever the cut', ({ bytes, code }) => {
    const input = Buffer.concat([stream, bytes]);
    for (let cut = 0; cut <= input.length; cut++) {
      const s = scanner();
      const first = codeOf(() => s.scan(input.subarray(0, cut)));
      const second = first ?? codeOf(() => s.scan(input.subarray(cut)));
      expect(second).toBe(code);
      // Final: any later bytes get the same error.
      expect(codeOf(() => s.scan(Buffer.from('Q')))).toBe(code);
    }
  });

  const FRAMING = ['unknown_message', 'bad_length', 'limit_exceeded'];
  it('refuses what the full parser refuses on framing, and accepts what it accepts (random headers)', () => {
    let seed = 12345;
    const random = () => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff);
    const types = [...FRONTEND_MESSAGES.keys(), 0x00, 0x41, 0x7a];
    for (let i = 0; i < 3000; i++) {
      const type = types[Math.floor(random() * types.length)]!;
      const length = [0, 3, 4, 5, 8, 64, 1 << 20, 0x7fffffff, 0x80000000][Math.floor(random() * 9)]!;
      const header = Buffer.alloc(5);
      header[0] = type;
      header.writeUInt32BE(length >>> 0, 1);
      const scanned = codeOf(() => scanner({ maxMessage: 1 << 16 }).scan(header));
      const parsed = codeOf(() => void new FrontendParser({ startupDone: true, limits: { maxMessage: 1 << 16 } }).parseAll(header));
      // The parser also decodes complete bodies (a 4-byte Query has no text): only framing errors must agree.
      expect(scanned).toBe(parsed !== undefined && FRAMING.includes(parsed) ? parsed : undefined);
    }
  });
});
