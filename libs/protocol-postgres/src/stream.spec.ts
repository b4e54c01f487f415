import { describe, expect, it } from 'vitest';
import { strip } from '../test/support/bytes.js';
import { BACKEND_SAMPLES, FRONTEND_SAMPLES } from '../test/support/samples.js';
import { BackendParser } from './backend-parser.js';
import { dataRow, serializeBackend } from './backend-serialize.js';
import { ChunkQueue } from './chunk-queue.js';
import { FrontendParser } from './frontend-parser.js';
import { serializeFrontend, startupMessage } from './frontend-serialize.js';

// Chunks under 1 KiB are coalesced by the ChunkQueue, so both ends of each stream carry a message of
// over 1 KiB: however a stream is cut in two, the halves stay separate chunks and every cut really
// lands between two buffers (inside headers, lengths, values).
const PAD = 'p'.repeat(1500);
const frontendStream = Buffer.concat([
  startupMessage({ user: 'agent', database: 'app', application_name: PAD }),
  ...FRONTEND_SAMPLES.map(serializeFrontend),
  serializeFrontend({ kind: 'Query', sql: PAD }),
]);
const backendStream = Buffer.concat([
  serializeBackend({ kind: 'NoticeResponse', fields: { message: PAD } }),
  ...BACKEND_SAMPLES.map(serializeBackend),
  serializeBackend({ kind: 'CopyData', data: Buffer.from(PAD) }),
]);

type AnyParser = { parseAll(chunk: Buffer): { kind: string; raw: Buffer }[]; end(): void; bufferedBytes: number };

/**
 * Framing fingerprint of a parse: the message kinds plus every frame's bytes. Decoding is a pure
 * function of a frame's bytes, so identical frames mean identical messages; comparing this instead
 * of deep-equal objects keeps thousands of splits fast.
 */
function parseInChunks(make: () => AnyParser, chunks: Buffer[]): { kinds: string; frames: string[] } {
  const p = make();
  const out = chunks.flatMap((c) => p.parseAll(c));
  p.end();
  expect(p.bufferedBytes).toBe(0);
  return { kinds: out.map((m) => m.kind).join(','), frames: out.map((m) => m.raw.toString('latin1')) };
}

describe.each([
  ['frontend', () => new FrontendParser() as AnyParser, frontendStream, FRONTEND_SAMPLES.length + 2, FRONTEND_SAMPLES],
  ['backend', () => new BackendParser() as AnyParser, backendStream, BACKEND_SAMPLES.length + 2, BACKEND_SAMPLES],
] as const)('%s stream', (_side, make, stream, count, samples: readonly unknown[]) => {
  const whole = parseInChunks(make, [stream]);

  it('parses every message of the stream from one chunk, back to the same bytes', () => {
    expect(whole.frames).toHaveLength(count);
    expect(whole.frames.join('')).toBe(stream.toString('latin1'));
    const parsed = make().parseAll(stream).map(strip);
    expect(parsed.slice(1, -1)).toEqual(samples);
  });

  it('parses to the same messages when split at every offset', () => {
    for (let i = 1; i < stream.length; i++) {
      expect(parseInChunks(make, [stream.subarray(0, i), stream.subarray(i)])).toEqual(whole);
    }
  });

  it('parses to the same messages when split into three at sliding offsets', () => {
    for (let i = 1; i < stream.length - 7; i += 3) {
      const j = i + 7;
      expect(parseInChunks(make, [stream.subarray(0, i), stream.subarray(i, j), stream.subarray(j)])).toEqual(whole);
    }
  });

  it('parses to the same messages when fed one byte at a time', () => {
    const bytes = Array.from({ length: stream.length }, (_, i) => stream.subarray(i, i + 1));
    expect(parseInChunks(make, bytes)).toEqual(whole);
  });
});

describe('zero-copy and linear buffering', () => {
  it('returns every message of a chunk of 500 DataRows as a view of that chunk', () => {
    const rows = Array.from({ length: 500 }, (_, i) => dataRow([Buffer.from(String(i)), null]));
    const chunk = Buffer.concat(rows);
    const parsed = new BackendParser().parseAll(chunk);
    expect(parsed).toHaveLength(500);
    for (const m of parsed) expect(m.raw.buffer).toBe(chunk.buffer);
    expect(parsed[499]!.kind === 'DataRow' && parsed[499]!.values[0]!.toString()).toBe('499');
  });

  it('assembles a 4 MiB CopyData arriving in 1024 chunks once, with the exact bytes', () => {
    const payload = Buffer.alloc(4 * 1024 * 1024);
    for (let i = 0; i < payload.length; i += 4096) payload[i] = i & 0xff;
    const bytes = serializeBackend({ kind: 'CopyData', data: payload });
    const p = new BackendParser();
    const out = [];
    const step = Math.ceil(bytes.length / 1024);
    for (let i = 0; i < bytes.length; i += step) out.push(...p.parseAll(bytes.subarray(i, i + step)));
    expect(out).toHaveLength(1);
    const m = out[0]!;
    expect(m.kind === 'CopyData' && m.data.equals(payload)).toBe(true);
  });

  it('ChunkQueue reads headers across chunk boundaries and takes frames spanning many chunks', () => {
    const q = new ChunkQueue();
    for (const b of [0x00, 0x00, 0x01, 0x02, 0xff]) q.push(Buffer.from([b]));
    expect(q.int32At(0)).toBe(0x102);
    expect(q.byteAt(4)).toBe(0xff);
    expect([...q.take(3)]).toEqual([0, 0, 1]);
    q.push(Buffer.from([7, 8]));
    expect(q.length).toBe(4);
    expect([...q.take(4)]).toEqual([2, 0xff, 7, 8]);
    expect(q.length).toBe(0);
  });
});

describe('parse() iteration contract', () => {
  it('queues chunks eagerly and yields messages in arrival order across iterators', () => {
    const p = new BackendParser();
    const rows = [0, 1, 2, 3].map((i) => dataRow([Buffer.from(String(i))]));
    const first = p.parse(Buffer.concat(rows.slice(0, 2)));
    const second = p.parse(Buffer.concat(rows.slice(2)));
    // Iterating the second iterator first still delivers the oldest message first.
    const order = [...second, ...first].map((m) => (m.kind === 'DataRow' ? m.values[0]!.toString() : m.kind));
    expect(order).toEqual(['0', '1', '2', '3']);
  });

  it('keeps messages a consumer did not take for the next call (backpressure)', () => {
    const p = new FrontendParser({ startupDone: true });
    const it1 = p.parse(Buffer.concat([serializeFrontend({ kind: 'Sync' }), serializeFrontend({ kind: 'Flush' })]));
    expect(it1.next().value?.kind).toBe('Sync');
    expect(p.bufferedBytes).toBe(5);
    expect(p.parseAll(serializeFrontend({ kind: 'Terminate' })).map((m) => m.kind)).toEqual(['Flush', 'Terminate']);
  });
});

describe('trickled bytes', () => {
  it('keeps the queue small when a large frame arrives one byte at a time', () => {
    const q = new ChunkQueue();
    const payload = Buffer.from(Array.from({ length: 300_000 }, (_, i) => i % 251));
    for (let i = 0; i < payload.length; i++) q.push(payload.subarray(i, i + 1));
    // 300 000 one-byte reads are held in a handful of 64 KiB accumulators, not 300 000 views.
    expect(q.chunkCount).toBeLessThanOrEqual(5);
    expect(q.take(payload.length).equals(payload)).toBe(true);
  });

  it('interleaves tiny and large chunks in arrival order', () => {
    const q = new ChunkQueue();
    const big = Buffer.alloc(5000, 7);
    q.push(Buffer.from([1]));
    q.push(big);
    q.push(Buffer.from([2, 3]));
    expect(q.take(1)[0]).toBe(1);
    q.push(Buffer.from([4]));
    const rest = q.take(q.length);
    expect(rest.length).toBe(5003);
    expect([...rest.subarray(5000)]).toEqual([2, 3, 4]);
  });
});
