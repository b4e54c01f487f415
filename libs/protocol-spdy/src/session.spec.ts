import { describe, expect, it } from 'vitest';
import { FrameDecoder, type SpdyFrame } from './frame-decoder.js';
import { FLAG_FIN, GoAwayStatus, RstStatus, encodeData, encodePing, encodeSettings, encodeSynStream, encodeWindowUpdate } from './frames.js';
import { HeaderCompressor } from './header-block.js';
import { SpdySession } from './session.js';
import type { SpdyStream } from './stream.js';

interface Received {
  data: Buffer[];
  ended: boolean;
  reset?: number;
}

function collect(stream: SpdyStream): Received {
  const r: Received = { data: [], ended: false };
  stream.setReceiver({ data: (c) => r.data.push(c), end: () => (r.ended = true), reset: (s) => (r.reset = s) });
  return r;
}

/** A client and a server session joined back to back, bytes passed synchronously. */
function pair(o: { strictFlowControl?: boolean } = {}) {
  const opened: SpdyStream[] = [];
  const client: SpdySession = new SpdySession({ role: 'client', output: (b) => server.receive(b), ...o });
  const server = new SpdySession({
    role: 'server', output: (b) => client.receive(b), ...o,
    onStream: (s) => {
      opened.push(s);
      s.reply();
    },
  });
  return { client, server, opened };
}

/** A raw peer: frames in, frames decoded out. */
function rawPeer(o: { strictFlowControl?: boolean; limits?: { maxDataPayload?: number } } = {}) {
  const out: SpdyFrame[] = [];
  const decoder = new FrameDecoder({ maxControlPayload: 1 << 16, maxDataPayload: 1 << 20 });
  const streams: SpdyStream[] = [];
  const errors: string[] = [];
  const session = new SpdySession({
    role: 'server', output: (b) => out.push(...decoder.push(b)), ...o,
    onStream: (s) => {
      streams.push(s);
      s.reply();
    },
    onError: (e) => errors.push(e.message),
  });
  return { session, out, streams, errors, compressor: new HeaderCompressor() };
}

describe('SpdySession', () => {
  it('carries streams the way kubectl exec uses them: headers, data both ways, half-close, FIN', () => {
    const { client, opened } = pair();
    const errorStream = client.openStream({ streamtype: 'error' });
    const stdin = client.openStream({ streamtype: 'stdin' });
    const stdout = client.openStream({ streamtype: 'stdout' });
    expect(opened.map((s) => [s.id, s.header('streamType')])).toEqual([[1, 'error'], [3, 'stdin'], [5, 'stdout']]);
    expect([errorStream, stdin, stdout].every((s) => s.replied)).toBe(true);
    const [serverError, serverStdin, serverStdout] = opened as [SpdyStream, SpdyStream, SpdyStream];
    const gotStdin = collect(serverStdin);
    const gotStdout = collect(stdout);
    const gotError = collect(errorStream);
    stdin.write(Buffer.from('echo hi\n'));
    stdin.end();
    expect(Buffer.concat(gotStdin.data).toString()).toBe('echo hi\n');
    expect(gotStdin.ended).toBe(true);
    serverStdout.write(Buffer.from('hi\n'));
    serverStdout.end();
    serverError.write(Buffer.from('{"status":"Success"}'));
    serverError.end();
    expect(Buffer.concat(gotStdout.data).toString()).toBe('hi\n');
    expect(gotStdout.ended && gotError.ended).toBe(true);
    expect(Buffer.concat(gotError.data).toString()).toBe('{"status":"Success"}');
  });

  it('holds data that arrives before a receiver is attached, and delivers it in order', () => {
    const { client, opened } = pair();
    const s = client.openStream({ streamtype: 'data' });
    s.write(Buffer.from('one '));
    s.write(Buffer.from('two'));
    s.end();
    const got = collect(opened[0]!);
    expect(Buffer.concat(got.data).toString()).toBe('one two');
    expect(got.ended).toBe(true);
  });

  it('decodes the same streams and data from a client byte stream split at every offset', () => {
    const compressor = new HeaderCompressor();
    const bytes = Buffer.concat([
      encodeSynStream(1, 0, 0, compressor.compress({ streamtype: 'error', port: '8080', requestid: '0' })),
      encodeSynStream(3, 0, 0, compressor.compress({ streamtype: 'data', port: '8080', requestid: '0' })),
      encodeData(3, Buffer.from('GET / HTTP/1.1\r\n\r\n')),
      encodePing(1),
      encodeData(3, Buffer.alloc(0), FLAG_FIN),
    ]);
    for (let cut = 0; cut <= bytes.length; cut++) {
      const peer = rawPeer();
      const got: Received[] = [];
      peer.session.receive(bytes.subarray(0, cut));
      for (const s of peer.streams) if (!got[peer.streams.indexOf(s)]) got.push(collect(s));
      peer.session.receive(bytes.subarray(cut));
      for (const s of peer.streams.slice(got.length)) got.push(collect(s));
      expect(peer.streams.map((s) => s.headers), `split at ${cut}`).toEqual([
        { streamtype: ['error'], port: ['8080'], requestid: ['0'] },
        { streamtype: ['data'], port: ['8080'], requestid: ['0'] },
      ]);
      expect(Buffer.concat(got[1]!.data).toString()).toBe('GET / HTTP/1.1\r\n\r\n');
      expect(got[1]!.ended).toBe(true);
      expect(peer.out.filter((f) => f.type === 'ping')).toEqual([{ type: 'ping', id: 1 }]);
      expect(peer.errors).toEqual([]);
    }
  });

  it('keeps to the peer\'s window: 64 KiB go out, the rest waits for WINDOW_UPDATE, then drains', () => {
    const { client, opened } = pair();
    const s = client.openStream({ streamtype: 'stdout' });
    const serverSide = opened[0]!;
    s.pause();
    const got = collect(s);
    let drained = 0;
    serverSide.onDrain = () => drained++;
    const payload = Buffer.alloc(200 * 1024, 7);
    expect(serverSide.write(payload)).toBe(false);
    expect(Buffer.concat(got.data).length).toBe(0);
    s.resume();
    // Reading gives window back, which lets the rest through.
    expect(Buffer.concat(got.data).equals(payload)).toBe(true);
    expect(serverSide.outboundBytes).toBe(0);
    expect(drained).toBeGreaterThan(0);
  });

  it('stops at 64 KiB for a peer that never gives window back, unless flow control is off', () => {
    const strict = rawPeer();
    strict.session.receive(encodeSynStream(1, 0, 0, strict.compressor.compress({ streamtype: 'stdout' })));
    strict.streams[0]!.write(Buffer.alloc(100 * 1024));
    const sent = (frames: SpdyFrame[]) => frames.reduce((n, f) => n + (f.type === 'data' ? f.data.length : 0), 0);
    expect(sent(strict.out)).toBe(64 * 1024);
    strict.session.receive(encodeWindowUpdate(1, 10_000));
    expect(sent(strict.out)).toBe(64 * 1024); // the session window is still shut
    strict.session.receive(encodeWindowUpdate(0, 100_000));
    expect(sent(strict.out)).toBe(64 * 1024 + 10_000);

    const lenient = rawPeer({ strictFlowControl: false });
    lenient.session.receive(encodeSynStream(1, 0, 0, lenient.compressor.compress({ streamtype: 'stdout' })));
    lenient.streams[0]!.write(Buffer.alloc(100 * 1024));
    expect(sent(lenient.out)).toBe(100 * 1024);
  });

  it('follows SETTINGS_INITIAL_WINDOW_SIZE for open streams', () => {
    const peer = rawPeer();
    peer.session.receive(encodeSynStream(1, 0, 0, peer.compressor.compress({ streamtype: 'stdout' })));
    peer.session.receive(encodeSettings([{ flags: 0, id: 7, value: 1000 }]));
    peer.streams[0]!.write(Buffer.alloc(5000));
    expect(peer.out.filter((f) => f.type === 'data').map((f) => f.type === 'data' && f.data.length)).toEqual([1000]);
  });

  it('resets a stream that overruns this side\'s window (strict), and accepts it when flow control is off', () => {
    const big = encodeData(1, Buffer.alloc(70_000));
    const strict = rawPeer();
    strict.session.receive(encodeSynStream(1, 0, 0, strict.compressor.compress({ streamtype: 'stdin' })));
    const got = collect(strict.streams[0]!);
    strict.session.receive(big);
    expect(strict.out).toContainEqual({ type: 'rst_stream', streamId: 1, status: RstStatus.FLOW_CONTROL_ERROR });
    expect(got.reset).toBe(RstStatus.FLOW_CONTROL_ERROR);

    const lenient = rawPeer({ strictFlowControl: false });
    lenient.session.receive(encodeSynStream(1, 0, 0, lenient.compressor.compress({ streamtype: 'stdin' })));
    const ok = collect(lenient.streams[0]!);
    lenient.session.receive(big);
    expect(Buffer.concat(ok.data).length).toBe(70_000);
    // Window is still given back, for peers that read it.
    expect(lenient.out.some((f) => f.type === 'window_update' && f.streamId === 0)).toBe(true);
  });

  it('caps what an unattached stream holds', () => {
    const peer = rawPeer({ strictFlowControl: false });
    const compressor = peer.compressor;
    peer.session.receive(encodeSynStream(1, 0, 0, compressor.compress({ streamtype: 'stdin' })));
    for (let i = 0; i < 40; i++) peer.session.receive(encodeData(1, Buffer.alloc(32 * 1024)));
    expect(peer.out).toContainEqual({ type: 'rst_stream', streamId: 1, status: RstStatus.FLOW_CONTROL_ERROR });
    expect(peer.errors).toEqual([]);
  });

  it('ends the session with GOAWAY on garbage, a stream id that goes backwards, or an undecodable header block', () => {
    const garbage = rawPeer();
    garbage.session.receive(Buffer.from('GET / HTTP/1.1\r\n\r\n'));
    expect(garbage.out).toEqual([{ type: 'goaway', lastGoodStreamId: 0, status: GoAwayStatus.PROTOCOL_ERROR }]);
    expect(garbage.errors[0]).toMatch(/DATA frame of 2115668 bytes/);
    const http2 = rawPeer();
    http2.session.receive(Buffer.from('8002000100000004', 'hex'));
    expect(http2.errors[0]).toMatch(/SPDY version 2/);
    expect(garbage.session.closed).toBe(true);

    const backwards = rawPeer();
    backwards.session.receive(encodeSynStream(5, 0, 0, backwards.compressor.compress({ streamtype: 'a' })));
    const got = collect(backwards.streams[0]!);
    backwards.session.receive(encodeSynStream(3, 0, 0, backwards.compressor.compress({ streamtype: 'b' })));
    expect(backwards.out.at(-1)).toEqual({ type: 'goaway', lastGoodStreamId: 5, status: GoAwayStatus.PROTOCOL_ERROR });
    expect(got.reset).toBe(RstStatus.CANCEL);

    const even = rawPeer();
    even.session.receive(encodeSynStream(2, 0, 0, even.compressor.compress({ a: 'b' })));
    expect(even.errors[0]).toMatch(/not the peer's to open/);

    const badBlock = rawPeer();
    badBlock.session.receive(encodeSynStream(1, 0, 0, Buffer.from('no zlib')));
    expect(badBlock.errors[0]).toMatch(/does not inflate/);
  });

  it('resets only the stream whose header block is wrong, and refuses DATA for unknown streams', () => {
    const peer = rawPeer();
    peer.session.receive(encodeSynStream(1, 0, 0, peer.compressor.compress({ streamtype: 'error' })));
    // A second SYN_STREAM whose block has an uppercase name ("A: b"): that stream alone is refused.
    peer.session.receive(encodeSynStream(3, 0, 0, peer.compressor.compressBlock(Buffer.from('00000001000000014100000001' + '62', 'hex'))));
    expect(peer.out).toContainEqual({ type: 'rst_stream', streamId: 3, status: RstStatus.PROTOCOL_ERROR });
    // The compression state survived: a third stream is read fine.
    peer.session.receive(encodeSynStream(5, 0, 0, peer.compressor.compress({ streamtype: 'stdout' })));
    expect(peer.streams.map((s) => s.header('streamtype'))).toEqual(['error', 'stdout']);
    peer.session.receive(encodeData(9, Buffer.from('x')));
    expect(peer.out).toContainEqual({ type: 'rst_stream', streamId: 9, status: RstStatus.INVALID_STREAM });
    expect(peer.errors).toEqual([]);
  });

  it('echoes the peer\'s PING and reports the answer to its own', () => {
    const replies: number[] = [];
    const client: SpdySession = new SpdySession({ role: 'client', output: (b) => server.receive(b), onPingReply: (id) => replies.push(id) });
    const server = new SpdySession({ role: 'server', output: (b) => client.receive(b) });
    const id = client.ping();
    expect(id % 2).toBe(1);
    expect(replies).toEqual([id]);
  });

  it('refuses new streams after GOAWAY and lets open ones finish', () => {
    const { client, server, opened } = pair();
    const first = client.openStream({ streamtype: 'data' });
    server.goAway();
    expect(client.goingAway).toBe(true);
    expect(() => client.openStream({ streamtype: 'data' })).toThrow(/closing/);
    const got = collect(first);
    opened[0]!.write(Buffer.from('still here'));
    opened[0]!.end();
    expect(Buffer.concat(got.data).toString()).toBe('still here');
  });
});
