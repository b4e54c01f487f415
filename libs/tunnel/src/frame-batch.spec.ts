import { describe, expect, it } from 'vitest';
import { decodeFrame, encodeFrame } from './codec.js';
import { TunnelEndpoint } from './endpoint.js';
import { FrameError } from './errors.js';
import { DEFAULT_MAX_BATCH_BYTES, FrameCoalescer, flushPendingFrameBatches, splitFrameBatch } from './frame-batch.js';
import type { Frame } from './frame.js';
import { MAX_FRAME_PAYLOAD } from './limits.js';
import type { TunnelStream } from './stream.js';

const header = { grant: 'g', resource: 'db', protocol: 'postgres' as const, client: {} };
const tick = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

const frames: Frame[] = [
  { type: 'OPEN', streamId: 1, window: 65_536, header },
  { type: 'DATA', streamId: 1, data: Buffer.from('SELECT 1') },
  { type: 'CREDIT', streamId: 1, increment: 4096 },
  { type: 'DATA', streamId: 1, data: new Uint8Array(MAX_FRAME_PAYLOAD).fill(7) },
  { type: 'END', streamId: 1 },
  { type: 'PING', streamId: 0, nonce: new Uint8Array(8) },
];

describe('splitFrameBatch', () => {
  it('gives back exactly the frames that were concatenated, in order', () => {
    const encoded = frames.map((f) => encodeFrame(f));
    const split = splitFrameBatch(Buffer.concat(encoded));
    expect(split.map((f) => Buffer.from(f))).toEqual(encoded);
    expect(split.map((f) => decodeFrame(f).type)).toEqual(frames.map((f) => f.type));
  });

  it('refuses a batch cut at every offset inside its last frame, and an empty one', () => {
    const batch = Buffer.concat(frames.slice(0, 3).map((f) => encodeFrame(f)));
    const lastStart = batch.length - encodeFrame(frames[2]!).length;
    for (let cut = lastStart + 1; cut < batch.length; cut++) {
      expect(() => splitFrameBatch(batch.subarray(0, cut)), `cut at ${cut}`).toThrow(FrameError);
    }
    expect(() => splitFrameBatch(new Uint8Array(0))).toThrow(FrameError);
  });

  it('refuses a frame that declares more than the 64 KiB payload limit, without reading it', () => {
    const bogus = Buffer.alloc(10);
    bogus.writeUInt8(1, 0);
    bogus.writeUInt8(4, 1);
    bogus.writeUInt32BE(1, 2);
    bogus.writeUInt32BE(MAX_FRAME_PAYLOAD + 1, 6);
    expect(() => splitFrameBatch(bogus)).toThrow(/more than 65536/);
  });
});

describe('FrameCoalescer', () => {
  it('sends the frames of one event-loop turn as one batch, and the next turn as another', async () => {
    const batches: Uint8Array[] = [];
    const c = new FrameCoalescer((b) => batches.push(b));
    const encoded = frames.map((f) => encodeFrame(f));
    for (const f of encoded.slice(0, 3)) c.send(f);
    expect(batches).toHaveLength(0);
    await tick();
    c.send(encoded[4]!);
    await tick();
    expect(batches.map((b) => splitFrameBatch(b).length)).toEqual([3, 1]);
    expect(Buffer.from(batches[0]!)).toEqual(Buffer.concat(encoded.slice(0, 3)));
  });

  it('never lets a batch grow past its byte limit: it sends early instead', () => {
    const batches: Uint8Array[] = [];
    const c = new FrameCoalescer((b) => batches.push(b));
    const big = encodeFrame({ type: 'DATA', streamId: 1, data: new Uint8Array(MAX_FRAME_PAYLOAD) });
    const perBatch = Math.floor(DEFAULT_MAX_BATCH_BYTES / big.length);
    for (let i = 0; i < perBatch * 2 + 1; i++) c.send(big);
    c.flush();
    expect(batches.map((b) => splitFrameBatch(b).length)).toEqual([perBatch, perBatch, 1]);
    for (const b of batches) expect(b.length).toBeLessThanOrEqual(DEFAULT_MAX_BATCH_BYTES);
  });

  it('hands a transport failure during a scheduled send to onError', async () => {
    const errors: unknown[] = [];
    const c = new FrameCoalescer(() => {
      throw new Error('socket gone');
    }, { onError: (e) => errors.push(e) });
    c.send(encodeFrame({ type: 'END', streamId: 1 }));
    await tick();
    expect(errors).toMatchObject([{ message: 'socket gone' }]);
  });

  it('flushPendingFrameBatches sends what every coalescer holds now, once, and nothing of one that was discarded', async () => {
    const [a, b, gone] = [[], [], []] as Uint8Array[][];
    const ca = new FrameCoalescer((x) => a.push(x));
    const cb = new FrameCoalescer((x) => b.push(x));
    const cg = new FrameCoalescer((x) => gone.push(x));
    const encoded = frames.map((f) => encodeFrame(f));
    ca.send(encoded[1]!);
    ca.send(encoded[2]!);
    cb.send(encoded[4]!);
    cg.send(encoded[4]!);
    cg.discard();
    const failures: unknown[] = [];
    const failing = new FrameCoalescer(() => { throw new Error('socket gone'); }, { onError: (e) => failures.push(e) });
    failing.send(encoded[4]!);
    flushPendingFrameBatches();
    expect(a.map((x) => splitFrameBatch(x).length)).toEqual([2]);
    expect(b).toHaveLength(1);
    expect(gone).toEqual([]);
    expect(failures).toMatchObject([{ message: 'socket gone' }]);
    // The scheduled send finds nothing left; later frames go on the next turn as before.
    await tick();
    expect([a.length, b.length]).toEqual([1, 1]);
    ca.send(encoded[4]!);
    await tick();
    expect(a).toHaveLength(2);
    flushPendingFrameBatches();
    expect(a).toHaveLength(2);
  });
});

describe('TunnelEndpoint.receiveBatch', () => {
  function agent() {
    const accepted: TunnelStream[] = [];
    const ep = new TunnelEndpoint({
      role: 'agent',
      keepalive: false,
      send: () => undefined,
      onStream: (_h, accept) => {
        const s = accept();
        s.on('error', () => undefined);
        accepted.push(s);
      },
    });
    return { ep, accepted };
  }

  it('delivers every frame of a batch to its stream, as single frames would be', async () => {
    const { ep, accepted } = agent();
    const received: Buffer[] = [];
    ep.receive(encodeFrame({ type: 'OPEN', streamId: 1, window: 65_536, header }));
    accepted[0]!.on('data', (d: Buffer) => received.push(d));
    ep.receiveBatch(Buffer.concat([
      encodeFrame({ type: 'DATA', streamId: 1, data: Buffer.from('one ') }),
      encodeFrame({ type: 'DATA', streamId: 1, data: Buffer.from('two') }),
    ]));
    await tick();
    expect(Buffer.concat(received).toString()).toBe('one two');
    expect(ep.stats()).toMatchObject({ framesIn: 3, violations: 0 });
  });

  it('counts a batch that does not split into frames as a violation and drops all of it', async () => {
    const { ep, accepted } = agent();
    ep.receive(encodeFrame({ type: 'OPEN', streamId: 1, window: 65_536, header }));
    const received: Buffer[] = [];
    accepted[0]!.on('data', (d: Buffer) => received.push(d));
    const good = encodeFrame({ type: 'DATA', streamId: 1, data: Buffer.from('kept out') });
    ep.receiveBatch(Buffer.concat([good, Buffer.from([1, 4, 0, 0])]));
    await tick();
    expect(received).toEqual([]);
    expect(ep.stats()).toMatchObject({ violations: 1, violationsByKind: { MALFORMED_FRAME: 1 } });
    expect(ep.closed).toBe(false);
  });
});
