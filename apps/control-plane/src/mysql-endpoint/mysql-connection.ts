import { randomBytes } from 'node:crypto';
import type { Socket } from 'node:net';
import { Duplex } from 'node:stream';
import { TLSSocket, type SecureContext } from 'node:tls';
import {
  CAP, CLEAR_PASSWORD_PLUGIN, GATEWAY_CAPABILITIES, MysqlProtocolError, NATIVE_PASSWORD_PLUGIN, PacketFramer, REQUIRED_CLIENT_CAPABILITIES, encodeAuthSwitch,
  encodeErr, encodeServerHandshake, isErr, isSslRequest, packet, parseErr, parseHandshakeResponse, type HandshakeResponse, type MysqlPacket,
} from '@gw/protocol-mysql';
import { CONNECT_CLOSE, encodeMysqlStart } from '@gw/contracts';
import { TokenRejectedError, type Principal } from '@gw/identity';
import type { TunnelChannel } from '@gw/tunnel';
import type { Logger } from 'pino';
import type { OpenedSession, SessionBroker } from '../connect/session-broker.service.js';
import { SessionRefused } from '../connect/session-broker.service.js';
import type { TokenAuthenticator } from '../identity/token-authenticator.js';
import type { ConnectionIds } from './connection-ids.js';
import { parseMysqlLogin, tokenFromClearPassword } from './mysql-login.js';

const LOGIN_TIMEOUT_MS = 30_000;
/** What the handshake announces. A MariaDB-style version: clients and dump tools pick their SQL by it. */
export const GATEWAY_SERVER_VERSION = '5.5.5-10.11.0-MariaDB-gateway';
/** utf8mb4_general_ci. */
const SERVER_CHARSET = 45;
/** A token is a few KiB; anything far larger is not one. */
const MAX_TOKEN_BYTES = 16 * 1024;

export interface MysqlConnectionDeps {
  tokens: TokenAuthenticator;
  broker: SessionBroker;
  connectionIds: ConnectionIds;
  secureContext: SecureContext;
  allowCleartext: boolean;
  log: Logger;
}

/** MySQL error codes for refusals before the session starts. */
export const MYSQL_ERRORS = {
  accessDenied: { code: 1045, sqlState: '28000' },
  /** ER_SECURE_TRANSPORT_REQUIRED */
  secureTransport: { code: 3159, sqlState: 'HY000' },
  /** ER_HANDSHAKE_ERROR */
  handshake: { code: 1043, sqlState: '08S01' },
  /** ER_UNKNOWN_ERROR: the resource is offline or failed */
  unavailable: { code: 1105, sqlState: 'HY000' },
  /** ER_CONNECTION_KILLED */
  killed: { code: 1927, sqlState: '70100' },
  /** ER_NET_PACKETS_OUT_OF_ORDER / malformed packet */
  malformed: { code: 1835, sqlState: 'HY000' },
} as const;
type MysqlErrorKind = keyof typeof MYSQL_ERRORS;

function errorFor(closeCode: number): MysqlErrorKind {
  switch (closeCode) {
    case CONNECT_CLOSE.resourceOffline:
    case CONNECT_CLOSE.resourceError:
      return 'unavailable';
    default:
      return 'accessDenied';
  }
}

const isLoopback = (address: string | undefined) =>
  !!address && (address === '::1' || address.startsWith('127.') || address.startsWith('::ffff:127.'));

/**
 * One client connection to the MySQL endpoint: the server handshake, TLS on the client's SSLRequest,
 * the login (`<db user>@<resource>`, the OIDC token as password through mysql_clear_password), the
 * session through the agent, then a relay of bytes. After the login the control plane moves packets as
 * they came: the agent, next to the database, parses and decides every command.
 */
export class MysqlConnection {
  private socket: Socket | TLSSocket;
  private readonly framer = new PacketFramer({ maxLogicalPacket: MAX_TOKEN_BYTES + 4096 });
  private readonly connectionId: number;
  private loginTimer: NodeJS.Timeout;
  private state: 'handshake' | 'switch' | 'opening' | 'relay' | 'closed' = 'handshake';
  private response?: HandshakeResponse;
  private lastSeq = 0;
  private session?: OpenedSession;
  private channel?: TunnelChannel;
  private bytesIn = 0;
  private bytesOut = 0;
  private killedReason?: string;
  private agentRefusal?: { code: string; message: string };

  constructor(private readonly raw: Socket, private readonly deps: MysqlConnectionDeps) {
    this.socket = raw;
    raw.setNoDelay(true);
    this.connectionId = deps.connectionIds.issue();
    this.loginTimer = setTimeout(() => this.fail('handshake', 'login did not complete in time'), LOGIN_TIMEOUT_MS);
    this.loginTimer.unref();
    this.attach(raw);
    raw.write(
      packet(
        encodeServerHandshake({
          serverVersion: GATEWAY_SERVER_VERSION,
          connectionId: this.connectionId,
          scramble: printableScramble(),
          capabilities: GATEWAY_CAPABILITIES,
          charset: SERVER_CHARSET,
          status: 0x0002,
          authPlugin: NATIVE_PASSWORD_PLUGIN,
        }),
        0,
      ),
    );
  }

  private attach(socket: Socket | TLSSocket): void {
    socket.on('data', (chunk: Buffer) => this.onClientData(chunk));
    socket.on('error', () => this.teardown('client socket error'));
    socket.on('close', () => this.teardown('client closed'));
  }

  private onClientData(chunk: Buffer): void {
    this.bytesIn += chunk.length;
    if (this.state === 'relay') {
      if (!this.channel!.send(chunk)) this.socket.pause();
      return;
    }
    try {
      this.framer.feed(chunk);
      // One packet at a time: after an SSLRequest the bytes are TLS, and after the login they wait for the session.
      const transport = this.socket;
      for (let p = this.framer.next(); p; p = this.framer.next()) {
        this.onLoginPacket(p);
        if (this.isClosed() || this.state === 'opening' || this.socket !== transport) return;
      }
    } catch (error) {
      this.fail('malformed', `malformed packet: ${error instanceof MysqlProtocolError ? error.message : 'unreadable'}`);
    }
  }

  private onLoginPacket(p: MysqlPacket): void {
    this.lastSeq = p.lastSeq;
    if (this.state === 'switch') {
      if (p.payload.length > MAX_TOKEN_BYTES) return this.fail('accessDenied', 'password too long to be a token');
      return this.authenticate(tokenFromClearPassword(p.payload));
    }
    if (this.state !== 'handshake') return this.fail('handshake', 'unexpected packet during login');
    if (isSslRequest(p.payload)) {
      if (this.socket instanceof TLSSocket) return this.fail('handshake', 'SSLRequest inside TLS');
      return this.startTls();
    }
    const response = parseHandshakeResponse(p.payload);
    if ((response.capabilities & REQUIRED_CLIENT_CAPABILITIES) !== REQUIRED_CLIENT_CAPABILITIES) {
      return this.fail('handshake', 'the client must support the 4.1 protocol with plugin authentication');
    }
    if (!(this.socket instanceof TLSSocket) && !(this.deps.allowCleartext && isLoopback(this.raw.remoteAddress))) {
      return this.fail('secureTransport', 'the gateway requires TLS: connect with --ssl (mysql), --ssl (mariadb) or your driver\'s ssl option');
    }
    const login = parseMysqlLogin(response.user);
    if ('error' in login) return this.fail('accessDenied', login.error);
    this.response = response;
    if (response.authPlugin === CLEAR_PASSWORD_PLUGIN && response.authResponse.length > 0) {
      return this.authenticate(tokenFromClearPassword(response.authResponse));
    }
    // Any other plugin's answer is a hash of a password we cannot check: ask for the token itself.
    this.state = 'switch';
    this.lastSeq = (this.lastSeq + 1) & 0xff;
    this.socket.write(packet(encodeAuthSwitch(CLEAR_PASSWORD_PLUGIN, Buffer.alloc(0)), this.lastSeq));
  }

  /**
   * The client starts TLS right after its SSLRequest, with no answer to wait for: bytes of its
   * ClientHello may already sit in the framer, so they are handed to the TLS layer first.
   */
  private startTls(): void {
    const early = this.framer.takeRest();
    this.raw.removeAllListeners('data');
    this.raw.removeAllListeners('error');
    this.raw.removeAllListeners('close');
    let transport: Socket | Duplex = this.raw;
    if (early.length > 0) {
      const raw = this.raw;
      const bridge = new Duplex({
        read: () => raw.resume(),
        write: (chunk: Buffer, _enc, cb) => raw.write(chunk, cb),
        final: (cb) => raw.end(cb),
      });
      bridge.push(early);
      raw.on('data', (d: Buffer) => {
        if (!bridge.push(d)) raw.pause();
      });
      raw.on('end', () => bridge.push(null));
      raw.on('close', () => bridge.destroy());
      transport = bridge;
    }
    const tls = new TLSSocket(transport, { isServer: true, secureContext: this.deps.secureContext });
    this.socket = tls;
    this.attach(tls);
  }

  private authenticate(token: string): void {
    this.state = 'opening';
    this.socket.pause();
    this.open(token).catch((error: unknown) => {
      this.deps.log.error({ err: error }, 'opening a mysql session failed');
      this.fail('unavailable', 'internal error while opening the session');
    });
  }

  private async open(token: string): Promise<void> {
    const response = this.response!;
    const login = parseMysqlLogin(response.user) as { dbUser: string; resource: string };
    let principal: Principal;
    try {
      principal = await this.deps.tokens.authenticate(token, { sourceIp: this.raw.remoteAddress, path: 'mysql' });
    } catch (error) {
      if (!(error instanceof TokenRejectedError)) throw error;
      return this.fail('accessDenied', `token refused: ${error.reason}`);
    }
    if (this.isClosed()) return;
    let opened: OpenedSession;
    try {
      opened = await this.deps.broker.open({
        principal,
        resourceName: login.resource,
        role: login.dbUser,
        expectedType: 'mysql',
        clientKey: this.connectionId,
        sourceAddress: this.raw.remoteAddress ?? null,
        declared: {
          applicationName: response.attributes.get('program_name') ?? response.attributes.get('_client_name') ?? null,
          client: 'mysql',
          clientVersion: response.attributes.get('_client_version') ?? null,
        },
        onTerminate: (_code, reason) => {
          this.killedReason = reason;
          this.fail('killed', `terminating connection: ${reason}`);
        },
      });
    } catch (error) {
      if (error instanceof SessionRefused) return this.fail(errorFor(error.closeCode), error.message);
      throw error;
    }
    if (this.isClosed()) {
      opened.channel.destroy();
      await opened.finish({ bytesIn: this.bytesIn, bytesOut: this.bytesOut, endedBy: 'client' });
      return;
    }
    clearTimeout(this.loginTimer);
    this.session = opened;
    this.channel = opened.channel;
    this.state = 'relay';
    this.relayAgent(opened.channel);
    const attributes: Record<string, string> = {};
    for (const [k, v] of response.attributes) attributes[k.slice(0, 64)] = v.slice(0, 256);
    this.channel.send(
      encodeMysqlStart({
        dbUser: login.dbUser,
        schema: response.capabilities & CAP.CONNECT_WITH_DB && response.database ? response.database : null,
        capabilities: response.capabilities & GATEWAY_CAPABILITIES & ~CAP.SSL,
        charset: response.charset,
        attributes,
        connectionId: this.connectionId,
        loginSeq: (this.lastSeq + 1) & 0xff,
      }),
    );
    const rest = this.framer.takeRest();
    if (rest.length > 0) this.channel.send(rest);
    this.socket.resume();
  }

  /** Agent -> client: the login answer is read (an ERR is the agent refusing the session), the rest relayed as it is. */
  private relayAgent(channel: TunnelChannel): void {
    let first = true;
    const answer = new PacketFramer();
    channel.attach({
      data: (bytes) => {
        if (first) {
          try {
            const [p] = answer.push(bytes);
            if (!p) return;
            first = false;
            if (isErr(p.payload)) {
              const err = parseErr(p.payload);
              this.agentRefusal = { code: String(err.code), message: err.message };
            }
            const rest = answer.takeRest();
            this.writeToClient(channel, rest.length > 0 ? [packet(p.payload, p.seq), rest] : [packet(p.payload, p.seq)]);
          } catch {
            this.fail('malformed', 'the agent sent a malformed answer');
          }
          return;
        }
        this.writeToClient(channel, [bytes]);
      },
      end: () => this.close(),
      drain: () => this.socket.resume(),
      close: (error) => {
        if (this.killedReason) return;
        const lost = /tunnel closed/i.test(error.message);
        this.fail('unavailable', lost ? 'the agent serving this resource was lost' : `session ended: ${error.message}`);
      },
    });
  }

  private writeToClient(channel: TunnelChannel, chunks: readonly Uint8Array[]): void {
    if (this.state === 'closed') return;
    let ok = true;
    for (const b of chunks) {
      if (b.length === 0) continue;
      this.bytesOut += b.length;
      ok = this.socket.write(b) && ok;
    }
    if (!ok) {
      channel.pause();
      this.socket.once('drain', () => channel.resume());
    }
  }

  private isClosed(): boolean {
    return this.state === 'closed';
  }

  /** One ERR packet (never naming the token), then close. */
  private fail(kind: MysqlErrorKind, message: string): void {
    if (this.state === 'closed') return;
    const { code, sqlState } = MYSQL_ERRORS[kind];
    try {
      // Before the relay the gateway owns the sequence; after it, an ERR with sequence 0... is still read by clients as the server's last word.
      const seq = this.state === 'relay' ? 0 : (this.lastSeq + 1) & 0xff;
      this.socket.write(packet(encodeErr({ code, sqlState, message: message.slice(0, 1000) }), seq));
    } catch {
      /* socket already gone */
    }
    this.close();
  }

  private close(): void {
    if (this.state === 'closed') return;
    this.socket.end();
    setTimeout(() => this.socket.destroy(), 1000).unref();
    this.teardown('closed');
  }

  private teardown(reason: string): void {
    const wasRelaying = this.state === 'relay' || this.session !== undefined;
    if (this.state !== 'closed') this.deps.connectionIds.release(this.connectionId);
    this.state = 'closed';
    clearTimeout(this.loginTimer);
    const session = this.session;
    this.session = undefined;
    if (session && wasRelaying) {
      const channel = this.channel;
      channel?.end();
      setTimeout(() => channel?.destroy(), 2000).unref();
      session
        .finish({
          bytesIn: this.bytesIn, bytesOut: this.bytesOut, endedBy: reason.startsWith('client') ? 'client' : 'resource',
          ...(this.agentRefusal ? { refusedAtStartup: this.agentRefusal } : {}),
        })
        .catch((err: unknown) => this.deps.log.warn({ err }, 'closing the session record failed'));
    }
  }
}

/** A 20-byte scramble without NUL bytes (some clients read it as a C string). */
function printableScramble(): Buffer {
  const b = randomBytes(20);
  for (let i = 0; i < b.length; i++) b[i] = 0x21 + (b[i]! % 94);
  return b;
}
