import { deflateSync, inflateSync, constants as zlibConstants } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { SPDY3_HEADER_DICTIONARY } from './dictionary.js';
import { SpdyProtocolError } from './errors.js';
import { FrameDecoder, type SpdyFrame } from './frame-decoder.js';
import {
  FLAG_FIN, encodeData, encodeGoAway, encodeHeaders, encodePing, encodeRstStream, encodeSettings, encodeSynReply, encodeSynStream, encodeWindowUpdate,
} from './frames.js';
import { HeaderCompressor, HeaderDecompressor, decodeNameValueBlock, encodeNameValueBlock } from './header-block.js';
import { DEFAULT_LIMITS } from './limits.js';

const limits = { maxControlPayload: 1024, maxDataPayload: 4096 };

function decodeAll(bytes: Buffer): SpdyFrame[] {
  return new FrameDecoder(limits).push(bytes);
}

describe('SPDY/3 frames on bytes', () => {
  it('lays out a control frame as the spec draws it: C bit, version 3, type, flags, 24-bit length', () => {
    expect(encodePing(0x01020304).toString('hex')).toBe('8003000600000004' + '01020304');
    expect(encodeRstStream(5, 5).toString('hex')).toBe('8003000300000008' + '00000005' + '00000005');
    expect(encodeWindowUpdate(0, 32768).toString('hex')).toBe('8003000900000008' + '00000000' + '00008000');
    expect(encodeGoAway(7, 0).toString('hex')).toBe('8003000700000008' + '00000007' + '00000000');
    expect(encodeSettings([{ flags: 0, id: 7, value: 65536 }]).toString('hex')).toBe('800300040000000c' + '00000001' + '00000007' + '00010000');
    expect(encodeData(3, Buffer.from('hi'), FLAG_FIN).toString('hex')).toBe('00000003' + '01000002' + '6869');
    expect(encodeSynStream(1, 0, 0, Buffer.from([0xaa])).toString('hex')).toBe('800300010000000b' + '00000001' + '00000000' + '0000' + 'aa');
  });

  it('round-trips every frame type, and decodes the same frames from a stream split at every offset', () => {
    const bytes = Buffer.concat([
      encodeSynStream(1, 0, 2, Buffer.from('block'), FLAG_FIN),
      encodeSynReply(2, Buffer.from('reply')),
      encodeHeaders(3, Buffer.from('more'), FLAG_FIN),
      encodeData(1, Buffer.from('payload')),
      encodeData(1, Buffer.alloc(0), FLAG_FIN),
      encodeRstStream(9, 3),
      encodeSettings([{ flags: 1, id: 7, value: 1 << 20 }, { flags: 0, id: 4, value: 100 }]),
      encodePing(42),
      encodeGoAway(11, 1),
      encodeWindowUpdate(5, 1000),
    ]);
    const whole = decodeAll(bytes);
    expect(whole).toEqual([
      { type: 'syn_stream', streamId: 1, associatedId: 0, priority: 2, flags: FLAG_FIN, headerBlock: Buffer.from('block') },
      { type: 'syn_reply', streamId: 2, flags: 0, headerBlock: Buffer.from('reply') },
      { type: 'headers', streamId: 3, flags: FLAG_FIN, headerBlock: Buffer.from('more') },
      { type: 'data', streamId: 1, flags: 0, data: Buffer.from('payload') },
      { type: 'data', streamId: 1, flags: FLAG_FIN, data: Buffer.alloc(0) },
      { type: 'rst_stream', streamId: 9, status: 3 },
      { type: 'settings', flags: 0, entries: [{ flags: 1, id: 7, value: 1 << 20 }, { flags: 0, id: 4, value: 100 }] },
      { type: 'ping', id: 42 },
      { type: 'goaway', lastGoodStreamId: 11, status: 1 },
      { type: 'window_update', streamId: 5, delta: 1000 },
    ]);
    for (let cut = 0; cut <= bytes.length; cut++) {
      const decoder = new FrameDecoder(limits);
      const frames = [...decoder.push(bytes.subarray(0, cut)), ...decoder.push(bytes.subarray(cut))];
      expect(frames, `split at ${cut}`).toEqual(whole);
      expect(decoder.pendingBytes).toBe(0);
    }
    const decoder = new FrameDecoder(limits);
    const oneByOne = [...bytes].flatMap((b) => decoder.push(Buffer.from([b])));
    expect(oneByOne).toEqual(whole);
  });

  it('waits for the rest of a truncated frame and yields nothing from it', () => {
    const frame = encodeData(1, Buffer.from('abcdef'));
    for (let n = 0; n < frame.length; n++) {
      const decoder = new FrameDecoder(limits);
      expect(decoder.push(frame.subarray(0, n))).toEqual([]);
      expect(decoder.pendingBytes).toBe(n);
    }
  });

  it('refuses an oversized frame from its header alone, before the payload is kept', () => {
    const header = Buffer.from('0000000100001001', 'hex'); // DATA of 4097 bytes, limit 4096
    const decoder = new FrameDecoder(limits);
    expect(() => decoder.push(header)).toThrow(/DATA frame of 4097 bytes \(limit 4096\)/);
    // Failed for good: the framing of what follows is lost.
    expect(() => decoder.push(encodePing(1))).toThrow(SpdyProtocolError);
    expect(() => new FrameDecoder(limits).push(Buffer.from('8003000100000401', 'hex'))).toThrow(/control frame of 1025 bytes/);
  });

  it('refuses control frames of the wrong size, another version, and DATA on stream 0; skips unknown control types', () => {
    const bad = (hex: string) => () => new FrameDecoder(limits).push(Buffer.from(hex, 'hex'));
    expect(bad('800300060000000500000001ff')).toThrow(/PING frame of 5 bytes/);
    expect(bad('800300030000000400000001')).toThrow(/RST_STREAM frame of 4 bytes/);
    expect(bad('800300040000000c0000000200000007000000ff')).toThrow(/announces 2 entries/);
    expect(bad('8002000600000004' + '00000001')).toThrow(/SPDY version 2/);
    expect(bad('0000000000000001ff')).toThrow(/DATA frame on stream 0/);
    expect(bad('800300090000000800000000' + '00000000')).toThrow(/session by 0 bytes/);
    expect(decodeAll(Buffer.from('8003000a00000002abcd' + encodePing(3).toString('hex'), 'hex'))).toEqual([{ type: 'unknown', frameType: 10 }, { type: 'ping', id: 3 }]);
  });
});

describe('SPDY/3 header blocks', () => {
  it('encodes the name/value block the spec describes, lowercasing names and joining values with NUL', () => {
    const block = encodeNameValueBlock({ StreamType: 'error', accept: ['a', 'b'] });
    expect(block.toString('hex')).toBe(
      '00000002' + '0000000a' + Buffer.from('streamtype').toString('hex') + '00000005' + Buffer.from('error').toString('hex')
      + '00000006' + Buffer.from('accept').toString('hex') + '00000003' + '610062',
    );
    expect(decodeNameValueBlock(block, 1, 10)).toEqual({ streamtype: ['error'], accept: ['a', 'b'] });
  });

  it('refuses a block that is truncated, overlong, has too many pairs, repeats or uppercases a name', () => {
    const good = encodeNameValueBlock({ port: '8080' });
    for (let n = 0; n < good.length; n++) expect(() => decodeNameValueBlock(good.subarray(0, n), 3, 10), `cut at ${n}`).toThrow(SpdyProtocolError);
    expect(() => decodeNameValueBlock(Buffer.concat([good, Buffer.from([0])]), 3, 10)).toThrow(/1 bytes after the last pair/);
    expect(() => decodeNameValueBlock(encodeNameValueBlock({ a: '1', b: '2', c: '3' }), 3, 2)).toThrow(/3 pairs \(limit 2\)/);
    const twice = Buffer.concat([Buffer.from('00000002', 'hex'), good.subarray(4), good.subarray(4)]);
    expect(() => decodeNameValueBlock(twice, 3, 10)).toThrow(/appears twice/);
    const upper = Buffer.from(good);
    upper.write('P', 8);
    try {
      decodeNameValueBlock(upper, 3, 10);
      expect.unreachable();
    } catch (error) {
      expect(error).toBeInstanceOf(SpdyProtocolError);
      expect((error as SpdyProtocolError).streamId).toBe(3);
      expect((error as SpdyProtocolError).message).toContain('is not lowercase');
    }
  });

  it('keeps one zlib context per direction: later blocks reference earlier ones and real zlib reads them', () => {
    const compressor = new HeaderCompressor();
    const blocks = [1, 2, 3].map((i) => compressor.compress({ streamtype: 'data', port: '8080', requestid: String(i) }));
    // The second block is far smaller than the first: it reuses the first's strings.
    expect(blocks[1]!.length).toBeLessThan(blocks[0]!.length);
    const plain = inflateSync(Buffer.concat(blocks), { dictionary: SPDY3_HEADER_DICTIONARY, finishFlush: zlibConstants.Z_SYNC_FLUSH });
    expect(plain).toEqual(Buffer.concat([1, 2, 3].map((i) => encodeNameValueBlock({ streamtype: 'data', port: '8080', requestid: String(i) }))));
    const decompressor = new HeaderDecompressor(DEFAULT_LIMITS);
    expect(blocks.map((b, i) => decompressor.decompress(b, i * 2 + 1))).toEqual([1, 2, 3].map((i) => ({ streamtype: ['data'], port: ['8080'], requestid: [String(i)] })));
  });

  it('reads a block that real zlib compressed with the SPDY dictionary', () => {
    const block = deflateSync(encodeNameValueBlock({ streamtype: 'stdin' }), { dictionary: SPDY3_HEADER_DICTIONARY, finishFlush: zlibConstants.Z_SYNC_FLUSH });
    expect(new HeaderDecompressor(DEFAULT_LIMITS).decompress(block, 1)).toEqual({ streamtype: ['stdin'] });
  });

  it('fails for good on a block that does not inflate, and on one that inflates past the limit', () => {
    const decompressor = new HeaderDecompressor(DEFAULT_LIMITS);
    expect(() => decompressor.decompress(Buffer.from('not zlib at all'), 1)).toThrow(/does not inflate/);
    expect(() => decompressor.decompress(new HeaderCompressor().compress({ a: 'b' }), 3)).toThrow(/failed earlier/);
    const bomb = new HeaderCompressor().compress({ big: 'x'.repeat(200_000) });
    expect(bomb.length).toBeLessThan(2000);
    const small = new HeaderDecompressor({ maxDecompressedHeaders: 64 * 1024, maxHeaderPairs: 10 });
    expect(() => small.decompress(bomb, 1)).toThrow(/inflates past 65536 bytes/);
  });
});
