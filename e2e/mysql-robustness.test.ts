import { connect, type Socket } from 'node:net';
import { PacketFramer, encodeHandshakeResponse, packet, parseErr, GATEWAY_CAPABILITIES, CAP } from '@gw/protocol-mysql';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startMysqlFixture, type MysqlFixture } from './support/mysql-fixture.js';

const POLICY = `
@id("my-connect") permit (principal, action == Gateway::Action::"connect", resource) when { principal.gatewayRoles.contains("requester") };
@id("my-read") permit (principal, action in Gateway::Action::"sql:read", resource) when { principal.gatewayRoles.contains("requester") };
`;

/** Deterministic pseudo-random bytes (xorshift), so a failure reproduces. */
function randomBytes(seed: number, n: number): Buffer {
  let x = seed || 1;
  const out = Buffer.allocUnsafe(n);
  for (let i = 0; i < n; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = x & 0xff;
  }
  return out;
}

/** A raw TCP client: collects the packets the endpoint sends until it closes the connection. */
function rawClient(port: number): Promise<{ socket: Socket; packets: Buffer[]; closed: Promise<void> }> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port });
    const framer = new PacketFramer();
    const packets: Buffer[] = [];
    const closed = new Promise<void>((done) => socket.once('close', () => done()));
    socket.on('data', (chunk: Buffer) => {
      for (const p of framer.push(chunk)) packets.push(p.payload);
      if (packets.length === 1) resolve({ socket, packets, closed });
    });
    socket.on('error', reject);
  });
}

describe('mysql endpoint robustness: truncated, oversized and random packets', () => {
  let fx: MysqlFixture;

  beforeAll(async () => {
    fx = await startMysqlFixture('robust', { policy: POLICY });
  }, 60_000);
  afterAll(async () => {
    await fx?.close();
  });

  it('a header announcing a packet larger than a login can be is refused with ERR 1835 at once', async () => {
    const { socket, packets, closed } = await rawClient(fx.stack.mysqlPort);
    expect(packets[0]![0]).toBe(10); // the server handshake
    socket.write(Buffer.from([0xff, 0xff, 0xff, 0x01]));
    await closed;
    expect(parseErr(packets[1]!)).toMatchObject({ code: 1835, message: expect.stringContaining('limit') as unknown });
  });

  it('an SSLRequest with the first TLS bytes in the same write, then a reset connection, leaves the endpoint serving (no uncaught error)', async () => {
    // mysqlclient (MariaDB Connector/C) sends its ClientHello right behind the SSLRequest; a client that then
    // resets the connection made the raw socket under the TLS bridge emit an error nobody listened to.
    for (let i = 0; i < 5; i++) {
      const { socket } = await rawClient(fx.stack.mysqlPort);
      const sslRequest = Buffer.alloc(32);
      sslRequest.writeUInt32LE((GATEWAY_CAPABILITIES | CAP.SSL) >>> 0, 0);
      sslRequest.writeUInt32LE(1 << 24, 4);
      sslRequest[8] = 45;
      socket.write(Buffer.concat([packet(sslRequest, 1), Buffer.from([0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00, 0x01, 0xfc, 0x03, 0x03])]));
      await new Promise((resolve) => setTimeout(resolve, 20));
      socket.resetAndDestroy();
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
    const { packets, socket } = await rawClient(fx.stack.mysqlPort);
    expect(packets[0]![0]).toBe(10);
    socket.destroy();
  });

  it('a handshake response cut short, then the connection closed, leaves the endpoint serving', async () => {
    const { socket, closed } = await rawClient(fx.stack.mysqlPort);
    const full = encodeHandshakeResponse({
      capabilities: GATEWAY_CAPABILITIES & ~CAP.SSL, maxPacketSize: 1 << 24, charset: 45, user: `${fx.role}@${fx.resource}`, authResponse: Buffer.alloc(20), authPlugin: 'mysql_native_password', attributes: new Map(),
    });
    socket.end(packet(full, 1).subarray(0, 20));
    await closed;
    const c = await fx.gateway();
    await c.query('SELECT 1');
    await c.end();
  });

  it('random bytes after the handshake end each connection with an ERR or a close, never a crash', async () => {
    for (let seed = 1; seed <= 40; seed++) {
      const { socket, packets, closed } = await rawClient(fx.stack.mysqlPort);
      socket.write(randomBytes(seed, 1 + ((seed * 97) % 600)));
      socket.end();
      await closed;
      for (const p of packets.slice(1)) expect(p[0]).toBe(0xff);
    }
    const c = await fx.gateway();
    const [rows] = await c.query('SELECT COUNT(*) AS n FROM customers');
    expect(rows).toEqual([{ n: 2 }]);
    await c.end();
  });

  it('inside a session: an unknown command is refused, a truncated packet ends only that session', async () => {
    const c = await fx.gateway();
    const stream = (c as unknown as { connection: { stream: Socket } }).connection.stream;
    const other = await fx.gateway();
    try {
      // A truncated command packet (header says 100 bytes, 3 arrive) and the client goes away.
      stream.write(Buffer.from([100, 0, 0, 0, 0x03, 0x53, 0x45]));
      stream.destroy();
      const [rows] = await other.query('SELECT COUNT(*) AS n FROM orders');
      expect(rows).toEqual([{ n: 3 }]);
    } finally {
      await other.end();
    }
    const d = await fx.gateway();
    try {
      const raw = (d as unknown as { connection: { stream: Socket } }).connection.stream;
      const answer = new Promise<Buffer>((resolve) => raw.prependOnceListener('data', (b: Buffer) => resolve(b)));
      raw.write(packet(Buffer.from([0x99, 1, 2, 3]), 0));
      const err = await answer;
      expect(parseErr(err.subarray(4))).toMatchObject({ code: 1227, message: expect.stringContaining('unknown command 0x99') as unknown });
    } finally {
      d.destroy();
    }
  });
});
