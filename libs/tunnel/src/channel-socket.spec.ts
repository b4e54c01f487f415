import { describe, expect, it } from 'vitest';
import { TunnelChannel, type ChannelHost } from './channel.js';
import { ChannelSocket } from './channel-socket.js';
import type { StreamFrame } from './frame.js';

/** A ChannelSocket over a channel whose host records the frames it would send; no transport. */
function harness(window = 65_536) {
  const sent: StreamFrame[] = [];
  const host: ChannelHost = { sendFrame: (f) => sent.push(f), channelClosed: () => undefined, violation: () => undefined };
  const channel = new TunnelChannel({ id: 3, header: { grant: 'g', resource: 'r', protocol: 'postgres', client: {} }, localWindow: window, peerWindow: window, host });
  const socket = new ChannelSocket(channel);
  const events: string[] = [];
  for (const name of ['end', 'drain', 'close']) socket.on(name, () => events.push(name));
  socket.on('error', (e: Error) => events.push(`error:${e.message}`));
  const dataFrames = () => sent.filter((f): f is Extract<StreamFrame, { type: 'DATA' }> => f.type === 'DATA').map((f) => Buffer.from(f.data).toString());
  return { channel, socket, sent, events, dataFrames };
}

describe('ChannelSocket (a channel with socket-like calls, no Node streams)', () => {
  it('starts paused: bytes wait in the channel until a data listener comes, then flow in order', () => {
    const h = harness();
    h.channel.onData(Buffer.from('ab'));
    h.channel.onData(Buffer.from('cd'));
    const got: string[] = [];
    h.socket.on('data', (b: Buffer) => got.push(b.toString()));
    expect(got.join('')).toBe('abcd');
    h.channel.onData(Buffer.from('ef'));
    expect(got.join('')).toBe('abcdef');
  });

  it('pause() before the listener keeps the bytes until resume(); pausing from a data handler stops delivery at once', () => {
    const h = harness();
    h.socket.pause();
    const got: string[] = [];
    h.socket.on('data', (b: Buffer) => {
      got.push(b.toString());
      if (b.toString() === 'stop') h.socket.pause();
    });
    h.channel.onData(Buffer.from('x'));
    expect(got).toEqual([]);
    h.socket.resume();
    expect(got).toEqual(['x']);
    h.channel.onData(Buffer.from('stop'));
    h.channel.onData(Buffer.from('later'));
    expect(got).toEqual(['x', 'stop']);
    // No credit for held bytes: the peer cannot send past our window while we do not read.
    expect(h.channel.heldBytes).toBe(5);
    h.socket.resume();
    expect(got).toEqual(['x', 'stop', 'later']);
  });

  it('corked writes leave as one DATA frame; a write beyond credit returns false and drain follows', () => {
    const h = harness(65_536);
    h.socket.resume();
    h.socket.cork();
    expect(h.socket.write(Buffer.from('one,'))).toBe(true);
    expect(h.socket.write(Buffer.from('two'))).toBe(true);
    expect(h.dataFrames()).toEqual([]);
    h.socket.uncork();
    expect(h.dataFrames()).toEqual(['one,two']);
    expect(h.socket.write(Buffer.alloc(70_000))).toBe(false);
    h.channel.onCredit(65_536);
    expect(h.events).toEqual(['drain']);
  });

  it('closes once both sides ended; end(bytes) writes them first', () => {
    const h = harness();
    h.socket.resume();
    h.socket.end(Buffer.from('bye'));
    expect(h.socket.writableEnded).toBe(true);
    expect(h.dataFrames()).toEqual(['bye']);
    expect(h.sent.at(-1)?.type).toBe('END');
    expect(h.events).toEqual([]);
    h.channel.onEnd();
    expect(h.events).toEqual(['end', 'close']);
    expect(h.socket.destroyed).toBe(true);
    expect(h.socket.write(Buffer.from('late'))).toBe(false);
  });

  it('a RESET from the peer is an error then close; reset() tells the peer and closes the same way', () => {
    const a = harness();
    a.socket.resume();
    a.channel.onReset(1, 'client went away');
    expect(a.events).toEqual([expect.stringContaining('client went away'), 'close']);
    const b = harness();
    b.socket.reset(5, 'session grant expired');
    expect(b.sent.at(-1)).toMatchObject({ type: 'RESET', code: 5, message: 'session grant expired' });
    expect(b.events).toEqual([expect.stringContaining('session grant expired'), 'close']);
  });

  it('destroy() sends a RESET and closes once, without an error unless given one', () => {
    const h = harness();
    h.socket.destroy();
    h.socket.destroy(new Error('again'));
    expect(h.sent.map((f) => f.type)).toEqual(['RESET']);
    expect(h.events).toEqual(['close']);
  });
});
