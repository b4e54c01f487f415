import { execFile } from 'node:child_process';
import { constants, createHash, generateKeyPairSync, privateDecrypt, randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TLSSocket } from 'node:tls';
import { Duplex } from 'node:stream';
import { promisify } from 'node:util';
import {
  CAP, FORMAT_CAPABILITIES, PacketFramer, encodeAuthSwitch, encodeErr, encodeOk, encodeServerHandshake, packet, parseHandshakeResponse,
  type HandshakeResponse,
} from '@gw/protocol-mysql';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { upstreamTls } from '../postgres/upstream-tls.js';
import { UpstreamLoginError, loginUpstream, type UpstreamLoginOptions } from './upstream-login.js';

/**
 * The agent's login to a MySQL 8 server speaking `caching_sha2_password`, against a scripted peer
 * written from the protocol documentation (no MySQL 8 can be installed on the test machine). The
 * peer checks what the agent sends the way the server does: the fast-path scramble against the
 * stored SHA256(SHA256(password)), the RSA-OAEP full authentication with its private key, the
 * password inside TLS.
 */

const PASSWORD = 'S3cret-pässword';
const SERVER_CAPS = FORMAT_CAPABILITIES | CAP.SECURE_CONNECTION | CAP.PLUGIN_AUTH | CAP.PLUGIN_AUTH_LENENC_CLIENT_DATA | CAP.CONNECT_WITH_DB | CAP.CONNECT_ATTRS;
const CLIENT_CAPS = FORMAT_CAPABILITIES | CAP.SECURE_CONNECTION | CAP.PLUGIN_AUTH | CAP.PLUGIN_AUTH_LENENC_CLIENT_DATA | CAP.CONNECT_WITH_DB;
const sha256 = (...parts: Buffer[]) => parts.reduce((h, p) => h.update(p), createHash('sha256')).digest();
/** What a MySQL 8 server keeps in its cache for the account. */
const STORED = sha256(sha256(Buffer.from(PASSWORD, 'utf8')));
const xor = (a: Buffer, b: Buffer) => Buffer.from(a.map((byte, i) => byte ^ b[i % b.length]!));

/** The server's fast-path check: SHA256(response XOR SHA256(stored + scramble)) must equal stored. */
function fastPathMatches(response: Buffer, scramble: Buffer): boolean {
  if (response.length !== 32) return false;
  return sha256(xor(response, sha256(STORED, scramble))).equals(STORED);
}

/** One side of the peer's connection: packets in order, and writes with their sequence ids. */
class PeerConnection {
  private framer = new PacketFramer();
  private queue: { seq: number; payload: Buffer }[] = [];
  private waiting?: () => void;
  private closed = false;
  /** The last sequence id seen or sent (the greeting goes out as 0). */
  seq = 0xff;

  constructor(public socket: Socket) {
    this.listen(socket);
  }

  private listen(socket: Socket): void {
    socket.on('data', (chunk: Buffer) => {
      for (const p of this.framer.push(chunk)) this.queue.push({ seq: p.lastSeq, payload: p.payload });
      this.waiting?.();
    });
    const gone = (): void => {
      this.closed = true;
      this.waiting?.();
    };
    socket.on('end', gone);
    socket.on('close', gone);
    socket.on('error', gone);
  }

  /** The next packet, or undefined when the agent closed the connection instead. */
  async read(): Promise<Buffer | undefined> {
    while (this.queue.length === 0) {
      if (this.closed) return undefined;
      await new Promise<void>((resolve) => (this.waiting = resolve));
    }
    const next = this.queue.shift()!;
    this.seq = next.seq;
    return next.payload;
  }

  write(payload: Buffer): void {
    this.seq = (this.seq + 1) & 0xff;
    this.socket.write(packet(payload, this.seq));
  }

  /** The server side of the TLS handshake after the SSLRequest. */
  upgrade(key: string, cert: string): void {
    // The agent's ClientHello follows its SSLRequest at once: bytes the framer holds belong to TLS.
    const raw = this.socket;
    const early = this.framer.takeRest();
    raw.removeAllListeners('data');
    raw.removeAllListeners('close');
    raw.removeAllListeners('end');
    const bridge = new Duplex({
      read() {},
      write(chunk: Buffer, _encoding, done) {
        raw.write(chunk, done);
      },
      final(done) {
        raw.end();
        done();
      },
    });
    if (early.length > 0) bridge.push(early);
    raw.on('data', (chunk: Buffer) => bridge.push(chunk));
    raw.on('close', () => bridge.push(null));
    this.framer = new PacketFramer();
    this.socket = new TLSSocket(bridge, { isServer: true, key, cert });
    this.listen(this.socket);
  }
}

describe('upstream login with caching_sha2_password (scripted MySQL 8 peer)', () => {
  let dir: string;
  let server: Server | undefined;
  let certificate: { key: string; cert: string; caFile: string };
  const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'gw-sha2-'));
    const openssl = promisify(execFile);
    writeFileSync(join(dir, 'san.ext'), 'subjectAltName=DNS:localhost,IP:127.0.0.1\n');
    await openssl('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '1', '-subj', '/CN=test-ca', '-keyout', 'ca.key', '-out', 'ca.pem'], { cwd: dir });
    await openssl('openssl', ['req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-subj', '/CN=localhost', '-keyout', 'server.key', '-out', 'server.csr'], { cwd: dir });
    await openssl('openssl', ['x509', '-req', '-in', 'server.csr', '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-days', '1', '-extfile', 'san.ext', '-out', 'server.crt'], { cwd: dir });
    certificate = { key: readFileSync(join(dir, 'server.key'), 'utf8'), cert: readFileSync(join(dir, 'server.crt'), 'utf8'), caFile: join(dir, 'ca.pem') };
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  afterEach(async () => {
    await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
    server = undefined;
  });

  /** Runs `script` for the agent's connection; resolves with the login's options to use. */
  async function peer(script: (c: PeerConnection) => Promise<void>): Promise<{ options: UpstreamLoginOptions; done: Promise<void> }> {
    let finish!: (error?: Error) => void;
    const done = new Promise<void>((resolve, reject) => (finish = (error) => (error ? reject(error) : resolve())));
    server = createServer((socket) => {
      script(new PeerConnection(socket)).then(() => finish(), (error: unknown) => finish(error instanceof Error ? error : new Error(JSON.stringify(error))));
    });
    await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    return {
      options: { host: '127.0.0.1', port, user: 'gw_app', password: PASSWORD, schema: 'shop', capabilities: CLIENT_CAPS, charset: 45, attributes: {} },
      done,
    };
  }

  const greeting = (scramble: Buffer, opts: { plugin?: string; ssl?: boolean } = {}) =>
    encodeServerHandshake({
      serverVersion: '8.0.36', connectionId: 4711, scramble, charset: 255, status: 2,
      capabilities: SERVER_CAPS | (opts.ssl ? CAP.SSL : 0), authPlugin: opts.plugin ?? 'caching_sha2_password',
    });

  /** The handshake response: the account, the schema and the plugin as the agent sent them. */
  function expectResponse(payload: Buffer | undefined): HandshakeResponse {
    expect(payload).toBeDefined();
    const response = parseHandshakeResponse(payload!);
    expect(response).toMatchObject({ user: 'gw_app', database: 'shop', authPlugin: 'caching_sha2_password' });
    return response;
  }

  it('fast path: the scramble answer passes the server check, then 0x01 0x03 and OK', async () => {
    const scramble = randomBytes(20);
    const { options, done } = await peer(async (c) => {
      c.write(greeting(scramble));
      const response = expectResponse(await c.read());
      expect(c.seq).toBe(1);
      expect(response.capabilities & CAP.SSL).toBe(0);
      expect(fastPathMatches(response.authResponse, scramble)).toBe(true);
      c.write(Buffer.from([0x01, 0x03]));
      c.write(encodeOk());
    });
    const session = await loginUpstream(options);
    expect(session.threadId).toBe(4711);
    expect(session.handshake.authPlugin).toBe('caching_sha2_password');
    session.socket.destroy();
    await done;
  });

  it('full authentication without TLS: asks for the public key, sends the password RSA-OAEP encrypted, never in the clear', async () => {
    const scramble = randomBytes(20);
    const { options, done } = await peer(async (c) => {
      c.write(greeting(scramble));
      expectResponse(await c.read());
      c.write(Buffer.from([0x01, 0x04])); // not in the cache: perform full authentication
      expect(await c.read()).toEqual(Buffer.from([0x02])); // request public key
      expect(c.seq).toBe(3);
      c.write(Buffer.concat([Buffer.from([0x01]), Buffer.from(rsa.publicKey.export({ type: 'spki', format: 'pem' }) as string, 'ascii')]));
      const encrypted = (await c.read())!;
      expect(encrypted.length).toBe(256);
      expect(encrypted.includes(Buffer.from(PASSWORD, 'utf8'))).toBe(false);
      const plain = xor(privateDecrypt({ key: rsa.privateKey, padding: constants.RSA_PKCS1_OAEP_PADDING }, encrypted), scramble);
      expect(plain).toEqual(Buffer.from(`${PASSWORD}\0`, 'utf8'));
      c.write(encodeOk());
    });
    const session = await loginUpstream(options);
    session.socket.destroy();
    await done;
  });

  it('with TLS: SSLRequest, a verified handshake, then full authentication sends the password inside TLS', async () => {
    const scramble = randomBytes(20);
    const { options, done } = await peer(async (c) => {
      c.write(greeting(scramble, { ssl: true }));
      const sslRequest = (await c.read())!;
      expect(sslRequest.length).toBe(32); // capabilities, max packet, charset, 23 zero bytes: no user, no secret
      expect(sslRequest.readUInt32LE(0) & CAP.SSL).toBe(CAP.SSL);
      c.upgrade(certificate.key, certificate.cert);
      const response = expectResponse(await c.read());
      expect(c.seq).toBe(2);
      expect(fastPathMatches(response.authResponse, scramble)).toBe(true);
      c.write(Buffer.from([0x01, 0x04]));
      expect(await c.read()).toEqual(Buffer.from(`${PASSWORD}\0`, 'utf8'));
      c.write(encodeOk());
    });
    const session = await loginUpstream({ ...options, tls: upstreamTls({ mode: 'verify-full', caFile: certificate.caFile }, '127.0.0.1') });
    expect((session.socket as TLSSocket).encrypted).toBe(true);
    session.socket.destroy();
    await done;
  });

  it('an auth switch to caching_sha2_password is answered over the new scramble', async () => {
    const first = randomBytes(20);
    const second = randomBytes(20);
    const { options, done } = await peer(async (c) => {
      c.write(greeting(first, { plugin: 'mysql_native_password' }));
      await c.read();
      c.write(encodeAuthSwitch('caching_sha2_password', Buffer.concat([second, Buffer.from([0])])));
      const answer = (await c.read())!;
      expect(fastPathMatches(answer, second)).toBe(true);
      expect(fastPathMatches(answer, first)).toBe(false);
      c.write(Buffer.from([0x01, 0x03]));
      c.write(encodeOk());
    });
    const session = await loginUpstream(options);
    session.socket.destroy();
    await done;
  });

  it("the server's refusal reaches the caller with its code and message", async () => {
    const { options, done } = await peer(async (c) => {
      c.write(greeting(randomBytes(20)));
      await c.read();
      c.write(encodeErr({ code: 1045, sqlState: '28000', message: "Access denied for user 'gw_app'@'10.0.0.5' (using password: YES)" }));
    });
    await expect(loginUpstream({ ...options, password: 'wrong' })).rejects.toMatchObject({ code: 1045, message: "Access denied for user 'gw_app'@'10.0.0.5' (using password: YES)" });
    await done;
  });

  it('TLS required and a server without it: refused before anything about the account is sent', async () => {
    const { options, done } = await peer(async (c) => {
      c.write(greeting(randomBytes(20)));
      expect(await c.read()).toBeUndefined(); // the agent hung up instead of answering
    });
    const error = await loginUpstream({ ...options, tls: upstreamTls({ mode: 'verify-full', caFile: certificate.caFile }, '127.0.0.1') }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(UpstreamLoginError);
    expect(error).toMatchObject({ code: 2026, message: 'the database does not offer TLS, and the resource requires it (mysql.tls)' });
    await done;
  });

  it('a certificate the CA did not sign: refused during the TLS handshake, before the handshake response', async () => {
    const { options, done } = await peer(async (c) => {
      c.write(greeting(randomBytes(20), { ssl: true }));
      expect((await c.read())?.length).toBe(32);
      c.upgrade(certificate.key, certificate.cert);
      expect(await c.read()).toBeUndefined();
    });
    const caElsewhere = join(dir, 'other-ca.pem');
    await promisify(execFile)('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '1', '-subj', '/CN=other', '-keyout', join(dir, 'other.key'), '-out', caElsewhere]);
    const error = await loginUpstream({ ...options, tls: upstreamTls({ mode: 'verify-full', caFile: caElsewhere }, '127.0.0.1') }).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 2026, message: expect.stringMatching(/^TLS to the database failed: .*(self-signed|unable to verify|certificate)/i) as unknown });
    await done;
  });
});
