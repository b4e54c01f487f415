import { randomBytes } from 'node:crypto';
import type { Socket } from 'node:net';
import { Duplex } from 'node:stream';
import { TLSSocket } from 'node:tls';
import {
  CAP, CLEAR_PASSWORD_PLUGIN, GATEWAY_CAPABILITIES, MysqlProtocolError, NATIVE_PASSWORD_PLUGIN, PacketFramer, REQUIRED_CLIENT_CAPABILITIES, encodeAuthSwitch,
  encodeErr, encodeServerHandshake, isErr, isSslRequest, packet, parseErr, parseHandshakeResponse, type HandshakeResponse, type MysqlPacket,
} from '@gw/protocol-mysql';
import { encodeMysqlStart } from '@gw/contracts';
import type { TunnelChannel } from '@gw/tunnel';
import { lacksRequiredTls } from '../db-endpoint/client-transport.js';
import { DatabaseClientConnection, type DatabaseConnectionError, type DatabaseTransportDeps } from '../db-endpoint/database-client-connection.js';
import type { ConnectionIds } from './connection-ids.js';
import { parseMysqlLogin, tokenFromClearPassword } from './mysql-login.js';

const LOGIN_TIMEOUT_MS = 30_000;
/** What the handshake announces. A MariaDB-style version: clients and dump tools pick their SQL by it. */
export const GATEWAY_SERVER_VERSION = '5.5.5-10.11.0-MariaDB-gateway';
/** utf8mb4_general_ci. */
const SERVER_CHARSET = 45;
/** A token is a few KiB; anything far larger is not one. */
const MAX_TOKEN_BYTES = 16 * 1024;

export interface MysqlConnectionDeps extends DatabaseTransportDeps {
  connectionIds: ConnectionIds;
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

/** The MySQL error for each way the shared connection code ends a connection in error. */
const ERROR_KIND: Record<DatabaseConnectionError, MysqlErrorKind> = {
  'token-rejected': 'accessDenied',
  'unknown-resource': 'accessDenied',
  unavailable: 'unavailable',
  denied: 'accessDenied',
  'login-timeout': 'handshake',
  terminated: 'killed',
  'agent-lost': 'unavailable',
};

/**
 * One client connection to the MySQL endpoint: the server handshake, TLS on the client's SSLRequest,
 * the login (`<db user>@<resource>`, the OIDC token as password through mysql_clear_password), the
 * session through the agent, then a relay of bytes. After the login the control plane moves packets as
 * they came: the agent, next to the database, parses and decides every command.
 */
export class MysqlConnection extends DatabaseClientConnection<'handshake' | 'switch'> {
  private readonly framer = new PacketFramer({ maxLogicalPacket: MAX_TOKEN_BYTES + 4096 });
  private readonly connectionId: number;
  private response?: HandshakeResponse;
  private lastSeq = 0;

  constructor(raw: Socket, private readonly deps: MysqlConnectionDeps) {
    super(raw, deps, 'handshake', { ms: LOGIN_TIMEOUT_MS, message: 'login did not complete in time' });
    this.connectionId = deps.connectionIds.issue();
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

  protected onClientData(chunk: Buffer): void {
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
    if (lacksRequiredTls(this.socket, this.raw, this.deps.allowCleartext)) {
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
      // The raw socket still reads for the bridge: its errors (a client that resets) end the TLS side,
      // whose handlers tear the connection down; unheard, one would be an uncaught exception.
      raw.on('error', (error) => bridge.destroy(error));
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
    const opened = await this.openSession(token, 'mysql', () => ({
      resourceName: login.resource,
      role: login.dbUser,
      clientKey: this.connectionId,
      declared: {
        applicationName: response.attributes.get('program_name') ?? response.attributes.get('_client_name') ?? null,
        client: 'mysql',
        clientVersion: response.attributes.get('_client_version') ?? null,
      },
    }));
    if (!opened) return;
    this.startRelay(opened);
    this.relayAgent(opened.channel);
    const attributes: Record<string, string> = {};
    for (const [k, v] of response.attributes) attributes[k.slice(0, 64)] = v.slice(0, 256);
    opened.channel.send(
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
    if (rest.length > 0) opened.channel.send(rest);
    this.socket.resume();
  }

  /** Agent -> client: the login answer is read (an ERR is the agent refusing the session), the rest relayed as it is. */
  private relayAgent(channel: TunnelChannel): void {
    let first = true;
    const answer = new PacketFramer();
    channel.attach(
      this.channelHandlers((bytes) => {
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
      }),
    );
  }

  protected endWithError(error: DatabaseConnectionError, message: string): void {
    this.fail(ERROR_KIND[error], message);
  }

  protected releaseClientKey(): void {
    this.deps.connectionIds.release(this.connectionId);
  }

  /** One ERR packet (never naming the token), then close. */
  private fail(kind: MysqlErrorKind, message: string): void {
    const { code, sqlState } = MYSQL_ERRORS[kind];
    // Before the relay the gateway owns the sequence; after it, an ERR with sequence 0... is still read by clients as the server's last word.
    const seq = this.state === 'relay' ? 0 : (this.lastSeq + 1) & 0xff;
    this.endWith(() => packet(encodeErr({ code, sqlState, message: message.slice(0, 1000) }), seq));
  }
}

/** A 20-byte scramble without NUL bytes (some clients read it as a C string). */
function printableScramble(): Buffer {
  const b = randomBytes(20);
  for (let i = 0; i < b.length; i++) b[i] = 0x21 + (b[i]! % 94);
  return b;
}
