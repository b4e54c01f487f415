import { describe, expect, it } from 'vitest';
import { SftpInspector, type SftpOperation } from './sftp-inspector.js';
import { SshWriter } from './ssh-wire.js';

const packet = (type: number, build: (w: SshWriter) => SshWriter = (w) => w): Buffer => {
  const body = Buffer.concat([Buffer.from([type]), build(new SshWriter()).toBuffer()]);
  return Buffer.concat([new SshWriter().uint32(body.length).toBuffer(), body]);
};
const status = (id: number, code: number) => packet(101, (w) => w.uint32(id).uint32(code).string('').string(''));

/**
 * A client uploading a file in two writes, renaming it (OpenSSH's posix-rename), removing another
 * file, and starting a download it never finishes; in wire order, each answer after its request.
 */
const steps: ['c' | 's', Buffer][] = [
  ['c', packet(1, (w) => w.uint32(3))],
  ['s', packet(2, (w) => w.uint32(3))],
  ['c', packet(3, (w) => w.uint32(1).string('/srv/up.bin').uint32(0x02 | 0x08 | 0x10).uint32(0))],
  ['s', packet(102, (w) => w.uint32(1).string('H1'))],
  ['c', packet(6, (w) => w.uint32(2).string('H1').uint64(0n).string(Buffer.alloc(40_000, 1)))],
  ['c', packet(6, (w) => w.uint32(3).string('H1').uint64(40_000n).string(Buffer.alloc(1_000, 2)))],
  ['s', status(2, 0)],
  ['s', status(3, 0)],
  ['c', packet(4, (w) => w.uint32(4).string('H1'))],
  ['s', status(4, 0)],
  ['c', packet(200, (w) => w.uint32(5).string('posix-rename@openssh.com').string('/srv/up.bin').string('/srv/final.bin'))],
  ['s', status(5, 0)],
  ['c', packet(13, (w) => w.uint32(6).string('/srv/secret'))],
  ['s', status(6, 3)],
  ['c', packet(3, (w) => w.uint32(7).string('/srv/final.bin').uint32(0x01).uint32(0))],
  ['s', packet(102, (w) => w.uint32(7).string('H2'))],
  ['c', packet(5, (w) => w.uint32(8).string('H2').uint64(0n).uint32(32_768))],
  ['s', packet(103, (w) => w.uint32(8).string(Buffer.alloc(500, 3)))],
];

function run(chunks: (buf: Buffer) => Buffer[]): SftpOperation[] {
  const ops: SftpOperation[] = [];
  const inspector = new SftpInspector((op) => ops.push(op));
  for (const [direction, bytes] of steps) {
    for (const c of chunks(bytes)) {
      if (direction === 'c') inspector.clientData(c);
      else inspector.serverData(c);
    }
  }
  inspector.end();
  return ops;
}

const expected: SftpOperation[] = [
  { op: 'write', path: '/srv/up.bin', bytesRead: 0, bytesWritten: 41_000, status: 'ok' },
  { op: 'rename', path: '/srv/up.bin', target: '/srv/final.bin', status: 'ok' },
  { op: 'remove', path: '/srv/secret', status: 'permission denied' },
  { op: 'read', path: '/srv/final.bin', bytesRead: 500, bytesWritten: 0, status: 'interrupted' },
];

describe('SftpInspector', () => {
  it('reports file operations with paths, bytes and outcomes', () => {
    expect(run((b) => [b])).toEqual(expected);
  });

  it('gives the same report whatever the chunking: split at every offset, and byte by byte', () => {
    for (let at = 1; at < 200; at++) {
      expect(run((b) => [b.subarray(0, at), b.subarray(at)])).toEqual(expected);
    }
    expect(run((b) => [...b].map((byte) => Buffer.from([byte])))).toEqual(expected);
  });

  it('stops following a stream it cannot parse, and says so once, without throwing', () => {
    const ops: SftpOperation[] = [];
    const inspector = new SftpInspector((op) => ops.push(op));
    inspector.clientData(Buffer.from([0, 0, 0, 5, 3, 0, 0, 0])); // OPEN cut inside its id, then a new packet
    inspector.clientData(Buffer.from([1, 0, 0, 0, 9, 9]));
    inspector.clientData(packet(13, (w) => w.uint32(1).string('/x')));
    expect(ops).toEqual([{ op: 'unparseable', status: 'the SFTP stream could not be followed; later operations are not recorded' }]);
  });
});
