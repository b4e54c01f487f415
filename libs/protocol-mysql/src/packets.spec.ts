import { describe, expect, it } from 'vitest';
import { MysqlProtocolError } from './errors.js';
import { MAX_PACKET_PAYLOAD } from './limits.js';
import { PacketFramer, encodePacket, packet } from './packets.js';

const bytes = (...parts: (number[] | Buffer)[]): Buffer => Buffer.concat(parts.map((p) => (Buffer.isBuffer(p) ? p : Buffer.from(p))));

describe('PacketFramer', () => {
  const stream = bytes(packet(Buffer.from('\x03SELECT 1'), 0), packet(Buffer.alloc(0), 1), packet(Buffer.from([0x0e]), 0));

  it('cuts a stream into packets with their sequence ids', () => {
    const got = new PacketFramer().push(stream);
    expect(got.map((p) => [p.seq, p.payload.toString('latin1')])).toEqual([[0, '\x03SELECT 1'], [1, ''], [0, '\x0e']]);
  });

  it('yields the same packets when the stream is split at every offset', () => {
    for (let cut = 0; cut <= stream.length; cut++) {
      const framer = new PacketFramer();
      const got = [...framer.push(stream.subarray(0, cut)), ...framer.push(stream.subarray(cut))];
      expect(got.map((p) => p.payload.toString('latin1'))).toEqual(['\x03SELECT 1', '', '\x0e']);
      expect(framer.buffered).toBe(0);
    }
  });

  it('yields byte by byte', () => {
    const framer = new PacketFramer();
    const got = [...stream].flatMap((b) => framer.push(Buffer.from([b])));
    expect(got).toHaveLength(3);
  });

  it('joins a packet split at 16 MiB, including the empty last part of an exact multiple', () => {
    for (const size of [MAX_PACKET_PAYLOAD, MAX_PACKET_PAYLOAD + 5]) {
      const payload = Buffer.alloc(size, 0x61);
      const { bytes: wire, nextSeq } = encodePacket(payload, 7);
      expect(nextSeq).toBe(9);
      expect(wire.length).toBe(size + 8);
      expect(wire.readUIntLE(0, 3)).toBe(MAX_PACKET_PAYLOAD);
      const [p] = new PacketFramer().push(wire);
      expect(p!.payload.equals(payload)).toBe(true);
      expect([p!.seq, p!.lastSeq]).toEqual([7, 8]);
    }
  });

  it('refuses a header announcing more than the limit before the body arrives', () => {
    const framer = new PacketFramer({ maxLogicalPacket: 1000 });
    expect(() => framer.push(Buffer.from([0xe9, 0x03, 0x00, 0x00]))).toThrow(/limit_exceeded/);
    expect(() => framer.push(Buffer.from([0]))).toThrow(MysqlProtocolError);
  });

  it('refuses a continuation with the wrong sequence id', () => {
    const head = Buffer.from([0xff, 0xff, 0xff, 3]);
    const framer = new PacketFramer({ maxLogicalPacket: 2 * MAX_PACKET_PAYLOAD });
    framer.push(Buffer.concat([head, Buffer.alloc(MAX_PACKET_PAYLOAD)]));
    expect(() => framer.push(Buffer.from([1, 0, 0, 9, 0]))).toThrow(/bad_sequence/);
  });

  it('reports a stream that ends inside a packet', () => {
    const framer = new PacketFramer();
    framer.push(stream.subarray(0, 6));
    expect(() => framer.end()).toThrow(/unexpected_eof/);
  });

  it('wraps sequence ids at 255', () => {
    expect(encodePacket(Buffer.from('x'), 255).nextSeq).toBe(0);
  });
});
