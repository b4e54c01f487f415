import { describe, expect, it } from 'vitest';
import { TunnelChannel, type ChannelHost } from './channel.js';
import { StreamResetError } from './codes.js';
import type { StreamFrame } from './frame.js';
import { MAX_FRAME_PAYLOAD } from './limits.js';

/** A channel on a host that records what it would send; no endpoint, no transport. */
function harness(window = 65_536) {
  const sent: StreamFrame[] = [];
  const violations: string[] = [];
  let closedByHost = false;
  const host: ChannelHost = {
    sendFrame: (f) => sent.push(f),
    channelClosed: () => (closedByHost = true),
    violation: (kind) => violations.push(kind),
  };
  const channel = new TunnelChannel({ id: 7, header: { grant: 'g', resource: 'r', protocol: 'tcp', client: {} }, localWindow: window, peerWindow: window, host });
  const got: { data: Buffer[]; ended: boolean; drained: number; closed?: Error } = { data: [], ended: false, drained: 0 };
  const attach = () =>
    channel.attach({
      data: (b) => got.data.push(Buffer.from(b)),
      end: () => (got.ended = true),
      drain: () => (got.drained += 1),
      close: (e) => (got.closed = e),
    });
  const dataSent = () => Buffer.concat(sent.filter((f): f is Extract<StreamFrame, { type: 'DATA' }> => f.type === 'DATA').map((f) => Buffer.from(f.data)));
  const credits = () => sent.filter((f) => f.type === 'CREDIT').reduce((n, f) => n + (f.type === 'CREDIT' ? f.increment : 0), 0);
  return { channel, sent, violations, got, attach, dataSent, credits, hostClosed: () => closedByHost };
}

describe('TunnelChannel (callback core, no sockets)', () => {
  it('holds bytes that arrive before anyone attaches and delivers them, in order, on attach', () => {
    const h = harness();
    h.channel.onData(Buffer.from('ab'));
    h.channel.onData(Buffer.from('cd'));
    h.channel.onEnd();
    expect(h.got.data).toEqual([]);
    h.attach();
    expect(Buffer.concat(h.got.data).toString()).toBe('abcd');
    expect(h.got.ended).toBe(true);
  });

  it('sends within the peer credit, queues the rest in order, and says drain once it has left', () => {
    const h = harness(65_536);
    h.attach();
    const payload = Buffer.alloc(150_000, 1).map((_, i) => i % 251);
    expect(h.channel.send(payload)).toBe(false);
    expect(h.dataSent().length).toBe(65_536);
    expect(h.channel.queuedBytes).toBe(150_000 - 65_536);
    expect(h.channel.send(Buffer.from('tail'))).toBe(false);
    h.channel.onCredit(65_536);
    expect(h.got.drained).toBe(0);
    h.channel.onCredit(65_536);
    expect(h.got.drained).toBe(1);
    expect(h.dataSent()).toEqual(Buffer.concat([payload, Buffer.from('tail')]));
    // No DATA frame is larger than the frame limit.
    expect(h.sent.every((f) => f.type !== 'DATA' || f.data.length <= MAX_FRAME_PAYLOAD)).toBe(true);
  });

  it('sends END only after the queued bytes have left', () => {
    const h = harness(65_536);
    h.attach();
    h.channel.send(Buffer.alloc(70_000));
    h.channel.end();
    expect(h.sent.some((f) => f.type === 'END')).toBe(false);
    h.channel.onCredit(10_000);
    expect(h.sent.at(-1)?.type).toBe('END');
    expect(h.dataSent().length).toBe(70_000);
  });

  it('grants no credit while paused, holds what arrives, and grants it back on resume', () => {
    const h = harness(65_536);
    h.attach();
    h.channel.pause();
    for (let i = 0; i < 64; i++) h.channel.onData(Buffer.alloc(1024, i));
    expect(h.credits()).toBe(0);
    expect(h.channel.heldBytes).toBe(65_536);
    // The peer is out of credit: one byte more is a flow-control violation.
    h.channel.resume();
    expect(Buffer.concat(h.got.data).length).toBe(65_536);
    expect(h.credits()).toBe(65_536);
  });

  it('stops delivering when the user pauses from inside data(), and resumes where it stopped', () => {
    const h = harness();
    let calls = 0;
    h.channel.attach({
      data: () => {
        calls += 1;
        h.channel.pause();
      },
      end: () => undefined,
      drain: () => undefined,
      close: () => undefined,
    });
    h.channel.onData(Buffer.from('a'));
    h.channel.onData(Buffer.from('b'));
    h.channel.onData(Buffer.from('c'));
    expect(calls).toBe(1);
    h.channel.resume();
    expect(calls).toBe(2);
  });

  it('resets the stream on DATA beyond the granted credit, on DATA after END and on a duplicate END', () => {
    for (const abuse of ['overflow', 'after-end', 'double-end'] as const) {
      const h = harness(65_536);
      h.attach();
      if (abuse === 'overflow') h.channel.onData(Buffer.alloc(65_537));
      if (abuse === 'after-end') {
        h.channel.onEnd();
        h.channel.onData(Buffer.from('x'));
      }
      if (abuse === 'double-end') {
        h.channel.onEnd();
        h.channel.onEnd();
      }
      expect(h.sent.at(-1)?.type).toBe('RESET');
      expect(h.got.closed).toBeInstanceOf(StreamResetError);
      expect(h.violations).toHaveLength(1);
      expect(h.hostClosed()).toBe(true);
    }
  });

  it('refuses credit beyond the peer window', () => {
    const h = harness(65_536);
    h.attach();
    h.channel.onCredit(1);
    expect(h.violations).toEqual(['FLOW_CONTROL']);
    expect(h.got.closed).toBeInstanceOf(StreamResetError);
  });

  it('reports a reset by the peer, and one that came before attach is reported on attach', () => {
    const h = harness();
    h.channel.onData(Buffer.from('late'));
    h.channel.onReset(3, 'peer gave up');
    expect(h.hostClosed()).toBe(true);
    h.attach();
    expect(Buffer.concat(h.got.data).toString()).toBe('late');
    expect(h.got.closed?.message).toContain('peer gave up');
  });

  it('drops what is sent after end or destroy, and destroy tells the peer once', () => {
    const h = harness();
    h.attach();
    h.channel.destroy(new Error('boom'));
    h.channel.destroy();
    expect(h.sent.filter((f) => f.type === 'RESET')).toHaveLength(1);
    expect(h.channel.send(Buffer.from('x'))).toBe(true);
    expect(h.dataSent().length).toBe(0);
    expect(h.got.closed).toBeUndefined(); // the user destroyed it: no close callback
  });
});
