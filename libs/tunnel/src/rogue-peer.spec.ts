import { describe, expect, it } from 'vitest';
import { prng, randomBytesSeeded } from '../test/support/bytes.js';
import { decodeFrame, encodeFrame } from './codec.js';
import { StreamResetError } from './codes.js';
import type { TunnelEndpointOptions } from './endpoint-options.js';
import { TunnelEndpoint } from './endpoint.js';
import { TunnelClosedError } from './errors.js';
import type { Frame } from './frame.js';
import { DEFAULT_INITIAL_WINDOW, DEFAULT_MAX_VIOLATIONS, MAX_PINGS_PER_SECOND } from './limits.js';
import type { TunnelStream } from './stream.js';

const header = { grant: 'g', resource: 'db', protocol: 'postgres' as const, client: {} };

/** An endpoint under test, driven by hand-made frames from a (possibly hostile) peer. */
function harness(role: 'agent' | 'control-plane', options: Partial<TunnelEndpointOptions> = {}) {
  const sent: Frame[] = [];
  const accepted: TunnelStream[] = [];
  const errors: Error[] = [];
  const ep = new TunnelEndpoint({
    keepalive: false,
    onStream: (_h, accept) => {
      const s = accept();
      s.on('error', (e) => errors.push(e));
      accepted.push(s);
    },
    ...options,
    role,
    send: (f) => sent.push(decodeFrame(Buffer.from(f))),
  });
  const inject = (frame: Frame): void => ep.receive(encodeFrame(frame));
  return { ep, sent, accepted, errors, inject };
}

const tick = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));
const resets = (sent: Frame[]) => sent.filter((f) => f.type === 'RESET');

describe('a rogue control plane (agent side under test)', () => {
  it('resets a stream that sends DATA beyond the granted credit', () => {
    const h = harness('agent');
    h.inject({ type: 'OPEN', streamId: 1, window: 65_536, header });
    const chunk = new Uint8Array(65_536);
    for (let i = 0; i < DEFAULT_INITIAL_WINDOW / chunk.length; i++) h.inject({ type: 'DATA', streamId: 1, data: chunk });
    expect(h.accepted[0]!.bufferedInbound).toBe(DEFAULT_INITIAL_WINDOW);
    h.inject({ type: 'DATA', streamId: 1, data: Uint8Array.of(1) });
    expect(resets(h.sent)).toMatchObject([{ streamId: 1, code: 3 }]);
    expect(h.ep.stats()).toMatchObject({ openStreams: 0, violations: 1, violationsByKind: { FLOW_CONTROL: 1 } });
    expect(h.ep.closed).toBe(false);
  });

  it('keeps 300k one-byte DATA frames within one window and resets when credit runs out', async () => {
    const h = harness('agent');
    h.inject({ type: 'OPEN', streamId: 1, window: 65_536, header });
    const stream = h.accepted[0]!;
    let maxBuffered = 0;
    const one = encodeFrame({ type: 'DATA', streamId: 1, data: Uint8Array.of(0x61) });
    for (let i = 0; i < 300_000; i++) {
      h.ep.receive(Uint8Array.from(one));
      if (i % 1000 === 0) maxBuffered = Math.max(maxBuffered, stream.bufferedInbound);
    }
    expect(maxBuffered).toBeLessThanOrEqual(DEFAULT_INITIAL_WINDOW);
    // Exactly one window was accepted; the rest hit a reset stream and were dropped.
    expect(stream.bytesReceived).toBe(DEFAULT_INITIAL_WINDOW);
    expect(h.ep.stats()).toMatchObject({ violations: 1, framesDropped: 300_000 - DEFAULT_INITIAL_WINDOW - 1 });
    expect(h.ep.closed).toBe(false);
    await tick();
    expect(h.errors[0]).toBeInstanceOf(StreamResetError);
  });

  it('coalesces tiny frames for a consumer that is behind instead of queueing one object per frame', async () => {
    const h = harness('agent');
    h.inject({ type: 'OPEN', streamId: 1, window: 65_536, header });
    const one = encodeFrame({ type: 'DATA', streamId: 1, data: Uint8Array.of(0x61) });
    for (let i = 0; i < 200_000; i++) h.ep.receive(Uint8Array.from(one));
    const chunks: Buffer[] = [];
    h.accepted[0]!.on('data', (c: Buffer) => chunks.push(c));
    await tick();
    expect(chunks.reduce((n, c) => n + c.length, 0)).toBe(200_000);
    expect(chunks.length).toBeLessThan(20);
    // Reading freed the window, so credit went back to the peer.
    expect(h.sent.some((f) => f.type === 'CREDIT')).toBe(true);
  });

  it('resets a stream that sends DATA after END, and refuses a duplicate END', () => {
    const h = harness('agent');
    h.inject({ type: 'OPEN', streamId: 1, window: 65_536, header });
    h.inject({ type: 'OPEN', streamId: 2, window: 65_536, header });
    h.inject({ type: 'END', streamId: 1 });
    h.inject({ type: 'DATA', streamId: 1, data: Uint8Array.of(1) });
    h.inject({ type: 'END', streamId: 2 });
    h.inject({ type: 'END', streamId: 2 });
    expect(resets(h.sent)).toMatchObject([
      { streamId: 1, code: 2 },
      { streamId: 2, code: 2 },
    ]);
    expect(h.ep.stats().violationsByKind.DATA_AFTER_END).toBe(2);
  });

  it('refuses a reused or decreasing stream id without touching the live stream', () => {
    const h = harness('agent');
    h.inject({ type: 'OPEN', streamId: 5, window: 65_536, header });
    h.inject({ type: 'OPEN', streamId: 5, window: 65_536, header });
    h.inject({ type: 'OPEN', streamId: 3, window: 65_536, header });
    expect(h.accepted).toHaveLength(1);
    expect(h.sent.filter((f) => f.type === 'OPEN_OK')).toHaveLength(1);
    expect(h.ep.stats()).toMatchObject({ openStreams: 1, violationsByKind: { STREAM_ID_REUSE: 2 } });
    expect(h.accepted[0]!.destroyed).toBe(false);
  });

  it('counts frames for never-opened streams, ignores late frames for closed ones', () => {
    const h = harness('agent');
    h.inject({ type: 'OPEN', streamId: 1, window: 65_536, header });
    h.accepted[0]!.destroy(); // we reset stream 1; the peer's frames may still be in flight
    h.inject({ type: 'DATA', streamId: 1, data: Uint8Array.of(1) });
    h.inject({ type: 'CREDIT', streamId: 1, increment: 10 });
    h.inject({ type: 'END', streamId: 1 });
    expect(h.ep.stats()).toMatchObject({ violations: 0, framesDropped: 3 });
    h.inject({ type: 'DATA', streamId: 99, data: Uint8Array.of(1) });
    h.inject({ type: 'OPEN_OK', streamId: 1, window: 65_536 });
    expect(h.ep.stats().violationsByKind).toMatchObject({ UNKNOWN_STREAM: 1, UNEXPECTED_FRAME: 1 });
  });

  it('closes the tunnel after 100k frames for unknown streams, having processed only the budget', async () => {
    const h = harness('agent');
    h.inject({ type: 'OPEN', streamId: 1, window: 65_536, header });
    for (let i = 0; i < 100_000; i++) h.inject({ type: 'RESET', streamId: 1000 + i, code: 1, message: 'x' });
    expect(h.ep.closed).toBe(true);
    const stats = h.ep.stats();
    expect(stats.violations).toBe(DEFAULT_MAX_VIOLATIONS + 1);
    expect(stats.framesIn).toBe(DEFAULT_MAX_VIOLATIONS + 2); // nothing is even counted after close
    await tick();
    expect(h.errors[0]).toBeInstanceOf(TunnelClosedError);
  });

  it('stops answering a PING flood and closes the tunnel', () => {
    const h = harness('agent');
    for (let i = 0; i < 100_000; i++) h.inject({ type: 'PING', streamId: 0, nonce: new Uint8Array(8) });
    expect(h.sent.filter((f) => f.type === 'PONG').length).toBeLessThanOrEqual(MAX_PINGS_PER_SECOND * 2);
    expect(h.ep.closed).toBe(true);
    expect(h.ep.stats().violationsByKind.PING_FLOOD).toBe(DEFAULT_MAX_VIOLATIONS + 1);
  });

  it('resets a stream granted credit beyond the window it announced', () => {
    const h = harness('agent');
    h.inject({ type: 'OPEN', streamId: 1, window: 65_536, header });
    h.inject({ type: 'CREDIT', streamId: 1, increment: 1 });
    expect(resets(h.sent)).toMatchObject([{ streamId: 1, code: 3 }]);
  });
});

describe('a rogue agent (control-plane side under test)', () => {
  it('closes the tunnel when the agent tries to open a stream', async () => {
    const h = harness('control-plane');
    const opening = h.ep.openStream(header);
    h.inject({ type: 'OPEN_OK', streamId: 1, window: 65_536 });
    const stream = await opening;
    const failed = new Promise<Error>((resolve) => stream.once('error', resolve));
    h.inject({ type: 'OPEN', streamId: 7, window: 65_536, header });
    expect(h.ep.closed).toBe(true);
    expect(await failed).toBeInstanceOf(TunnelClosedError);
    expect((await failed).message).toMatch(/OPEN_FROM_AGENT/);
  });

  it('refuses DATA before OPEN_OK and answers for never-opened streams', () => {
    const h = harness('control-plane');
    void h.ep.openStream(header).catch(() => undefined);
    h.inject({ type: 'DATA', streamId: 1, data: Uint8Array.of(1) });
    h.inject({ type: 'OPEN_OK', streamId: 2, window: 65_536 });
    expect(h.ep.stats().violationsByKind).toMatchObject({ UNEXPECTED_FRAME: 1, UNKNOWN_STREAM: 1 });
    h.ep.close();
  });
});

describe('receive() never throws', () => {
  it('on random bytes, split frames and garbage (fixed seed)', () => {
    const rand = prng(1234);
    const h = harness('agent', { maxViolations: 1_000_000 });
    const valid: Uint8Array[] = [
      encodeFrame({ type: 'OPEN', streamId: 1, window: 65_536, header }),
      encodeFrame({ type: 'DATA', streamId: 1, data: randomBytesSeeded(rand, 3000) }),
      encodeFrame({ type: 'CREDIT', streamId: 1, increment: 100 }),
      encodeFrame({ type: 'END', streamId: 1 }),
      encodeFrame({ type: 'PING', streamId: 0, nonce: new Uint8Array(8) }),
    ];
    for (let i = 0; i < 6_000; i++) {
      const pick = rand();
      let bytes: Uint8Array;
      if (pick < 0.4) {
        bytes = randomBytesSeeded(rand, Math.floor(rand() * 200));
      } else if (pick < 0.8) {
        // A valid frame split in two transport messages: both halves are refused.
        const frame = valid[Math.floor(rand() * valid.length)]!;
        const at = Math.floor(rand() * frame.length);
        expect(() => h.ep.receive(frame.subarray(0, at))).not.toThrow();
        bytes = frame.subarray(at);
      } else {
        const frame = Buffer.from(valid[Math.floor(rand() * valid.length)]!);
        const at = Math.floor(rand() * 12);
        frame[at] = frame[at]! ^ (1 + Math.floor(rand() * 255));
        bytes = frame;
      }
      expect(() => h.ep.receive(bytes)).not.toThrow();
    }
    expect(h.ep.stats().violationsByKind.MALFORMED_FRAME).toBeGreaterThan(3000);
  });

  it('when a data listener throws: that stream fails, the tunnel carries on', async () => {
    const h = harness('agent');
    h.inject({ type: 'OPEN', streamId: 1, window: 65_536, header });
    h.inject({ type: 'OPEN', streamId: 2, window: 65_536, header });
    h.accepted[0]!.on('data', () => {
      throw new Error('consumer bug');
    });
    await tick(); // the stream is now flowing, so push() runs the listener synchronously
    expect(() => h.inject({ type: 'DATA', streamId: 1, data: Uint8Array.of(1) })).not.toThrow();
    await tick();
    expect(h.errors.map((e) => e.message)).toEqual(['consumer bug']);
    expect(h.ep.closed).toBe(false);
    expect(h.ep.stats().openStreams).toBe(1);
    expect(resets(h.sent)).toMatchObject([{ streamId: 1 }]);
  });
});
