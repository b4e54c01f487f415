import { connect, type Socket } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import { CAP, COM, GATEWAY_CAPABILITIES, PacketFramer, encodeHandshakeResponse, encodeSslRequest, packet, parseErr } from '@gw/protocol-mysql';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startMysqlFixture, type MysqlFixture } from './support/mysql-fixture.js';
import { latestSession, sessionEvents } from './support/session-events.js';

const POLICY = `
@id("my-connect") permit (principal, action == Gateway::Action::"connect", resource)
  when { principal.gatewayRoles.contains("requester") && resource.type == "mysql" };
@id("my-read") @mask("email:partial")
permit (principal, action in Gateway::Action::"sql:read", resource) when { principal.gatewayRoles.contains("requester") };
`;

/** A client speaking the protocol by hand (no client library here opens cursors): TLS, the token, then commands. */
class RawMysqlClient {
  private framer = new PacketFramer();
  private readonly queue: { seq: number; payload: Buffer }[] = [];
  private wake?: () => void;
  private seq = 0;

  private constructor(private socket: Socket) {
    this.listen();
  }

  private listen(): void {
    this.socket.on('data', (chunk: Buffer) => {
      for (const p of this.framer.push(chunk)) this.queue.push({ seq: p.lastSeq, payload: p.payload });
      this.wake?.();
    });
  }

  static async login(port: number, user: string, token: string, schema: string): Promise<RawMysqlClient> {
    const plain = connect({ host: '127.0.0.1', port });
    const client = new RawMysqlClient(plain);
    await client.read(); // the greeting
    const capabilities = (GATEWAY_CAPABILITIES | CAP.SSL | CAP.CONNECT_WITH_DB) & ~CAP.CONNECT_ATTRS;
    client.send(encodeSslRequest({ capabilities, maxPacketSize: 1 << 24, charset: 45 }));
    plain.removeAllListeners('data');
    const secure = tlsConnect({ socket: plain, rejectUnauthorized: false });
    await new Promise<void>((resolve, reject) => secure.once('secureConnect', resolve).once('error', reject));
    client.socket = secure;
    client.framer = new PacketFramer();
    client.listen();
    client.send(encodeHandshakeResponse({ capabilities, maxPacketSize: 1 << 24, charset: 45, user, authResponse: Buffer.from(`${token}\0`), database: schema, authPlugin: 'mysql_clear_password', attributes: new Map() }));
    for (;;) {
      const answer = await client.read();
      if (answer[0] === 0x00) return client;
      if (answer[0] === 0xfe) client.send(Buffer.from(`${token}\0`)); // auth switch to mysql_clear_password
      else throw new Error(`login refused: ${parseErr(answer).message}`);
    }
  }

  async read(): Promise<Buffer> {
    while (this.queue.length === 0) await new Promise<void>((resolve) => (this.wake = resolve));
    const next = this.queue.shift()!;
    this.seq = next.seq;
    return next.payload;
  }

  private send(payload: Buffer): void {
    this.seq = (this.seq + 1) & 0xff;
    this.socket.write(packet(payload, this.seq));
  }

  /** A new command (sequence id 0). */
  command(payload: Buffer): void {
    this.seq = 0xff;
    this.send(payload);
  }

  /** Packets until one that ends the answer (0xfe terminator or ERR). */
  async untilEnd(): Promise<Buffer[]> {
    const out: Buffer[] = [];
    for (;;) {
      const p = await this.read();
      out.push(p);
      if (p[0] === 0xff || (p[0] === 0xfe && p.length < 0xffffff)) return out;
    }
  }

  close(): void {
    this.socket.destroy();
  }
}

const u32 = (n: number) => {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(n);
  return b;
};
/** One VAR_STRING column of a binary row: header, NULL bitmap, length-prefixed value. */
const firstString = (row: Buffer) => row.subarray(3, 3 + row[2]!).toString('utf8');

describe('server-side cursors through the gateway (COM_STMT_EXECUTE with a cursor, COM_STMT_FETCH)', () => {
  let fx: MysqlFixture;

  beforeAll(async () => {
    fx = await startMysqlFixture('cursor', { policy: POLICY });
  }, 60_000);
  afterAll(async () => {
    await fx?.close();
  });

  it('rows fetched through a cursor from the real MariaDB are masked and recorded; fetches without a cursor fail cleanly', async () => {
    const c = await RawMysqlClient.login(fx.stack.mysqlPort, `${fx.role}@${fx.resource}`, fx.token, fx.db);
    try {
      c.command(Buffer.concat([Buffer.from([COM.STMT_PREPARE]), Buffer.from('SELECT email FROM customers ORDER BY id')]));
      const prepared = await c.read();
      expect(prepared[0]).toBe(0x00);
      const id = prepared.readUInt32LE(1);
      await c.read(); // the one column definition (DEPRECATE_EOF: no EOF after it)

      c.command(Buffer.concat([Buffer.from([COM.STMT_EXECUTE]), u32(id), Buffer.from([0x01]), u32(1)]));
      const opened = await c.untilEnd();
      expect(opened[0]).toEqual(Buffer.from([1])); // one column, no rows yet
      expect(opened.at(-1)!.readUInt16LE(3) & 0x40).toBe(0x40); // CURSOR_EXISTS

      c.command(Buffer.concat([Buffer.from([COM.STMT_FETCH]), u32(id), u32(1)]));
      const first = await c.untilEnd();
      expect(first.slice(0, -1).map(firstString)).toEqual(['a**@example.com']);
      c.command(Buffer.concat([Buffer.from([COM.STMT_FETCH]), u32(id), u32(10)]));
      const rest = await c.untilEnd();
      expect(rest.slice(0, -1).map(firstString)).toEqual(['b**@example.org']);
      expect(rest.at(-1)!.readUInt16LE(3) & 0x80).toBe(0x80); // LAST_ROW_SENT

      c.command(Buffer.concat([Buffer.from([COM.STMT_FETCH]), u32(999), u32(1)]));
      expect(parseErr(await c.read())).toMatchObject({ code: 1243, message: 'Unknown prepared statement handler (999) given to mysqld_stmt_fetch' });
      // The session goes on.
      c.command(Buffer.concat([Buffer.from([COM.STMT_EXECUTE]), u32(id), Buffer.from([0x00]), u32(1)]));
      const plainRun = await c.untilEnd();
      expect(plainRun.slice(2, -1).map(firstString)).toEqual(['a**@example.com', 'b**@example.org']);
    } finally {
      c.close();
    }
    const events = await sessionEvents(fx.stack, await latestSession(fx.stack, fx.resource), (ev) => ev.some((e) => e.type === 'mysql.end'));
    const statements = events.filter((e) => e.type === 'mysql.statement').map((e) => [e.data['tag'], e.data['rows']]);
    expect(statements).toContainEqual(['FETCH 1', [['a**@example.com']]]);
    expect(statements).toContainEqual(['FETCH 1', [['b**@example.org']]]);
    expect(JSON.stringify(events)).not.toContain('ada@example.com');
  });
});
