import type { Socket } from 'node:net';
import { TLSSocket, type SecureContext } from 'node:tls';
import {
  BackendParser, FRONTEND_MESSAGES, FrameScanner, FrontendParser, ProtocolError, decodePassword, errorResponse, serializeBackend,
  startupMessage, type StartupMessage,
  isTransientDatabaseError,
  RETRYABLE_SQLSTATE,
} from '@gw/protocol-postgres';
import { CONNECT_CLOSE } from '@gw/contracts';
import { hopMark, type TunnelChannel } from '@gw/tunnel';
import { TokenRejectedError, type Principal } from '@gw/identity';
import type { Logger } from 'pino';
import type { OpenedSession, SessionBroker } from '../connect/session-broker.service.js';
import { SessionRefused } from '../connect/session-broker.service.js';
import type { TokenAuthenticator } from '../identity/token-authenticator.js';
import type { CancelKeys } from './cancel-keys.js';

const STARTUP_TIMEOUT_MS = 30_000;

export interface PgConnectionDeps {
  tokens: TokenAuthenticator;
  broker: SessionBroker;
  cancelKeys: CancelKeys;
  secureContext: SecureContext;
  allowCleartext: boolean;
  onCancel(processId: number, secretKey: Buffer): void;
  log: Logger;
}

/** SQLSTATE for each way a session can be refused before it starts. */
function sqlstateFor(closeCode: number): string {
  switch (closeCode) {
    case CONNECT_CLOSE.unknownResource:
      return '3D000'; // invalid_catalog_name: the "database" names a resource
    case CONNECT_CLOSE.resourceOffline:
    case CONNECT_CLOSE.resourceError:
      return '08006';
    default:
      return '28000';
  }
}

const isLoopback = (address: string | undefined) =>
  !!address && (address === '::1' || address.startsWith('127.') || address.startsWith('::ffff:127.'));

/**
 * One client connection to the Postgres endpoint: TLS, startup, the OIDC token as password, the
 * session through the agent, then a relay of bytes. The control plane parses only what it must
 * (startup, the password, a CancelRequest, the agent's startup answer for the cancel key); after that
 * client bytes are only checked for framing (FrameScanner: a malformed header ends the session here)
 * and relayed as they came: the agent, next to the database, parses and decides every statement.
 */
export class PgConnection {
  private socket: Socket | TLSSocket;
  private readonly parser = new FrontendParser();
  /** Framing checks of the client's bytes once the session relays (no decoding). */
  private readonly scanner = new FrameScanner(FRONTEND_MESSAGES, 'frontend');
  private startupTimer: NodeJS.Timeout;
  private state: 'startup' | 'password' | 'opening' | 'relay' | 'closed' = 'startup';
  private startup?: StartupMessage;
  private session?: OpenedSession;
  private channel?: TunnelChannel;
  /** The gateway's BackendKeyData for this session (reserved before it opens, released at the end). */
  private cancelKey?: { processId: number; secretKey: Buffer };
  private bytesIn = 0;
  /** The tunnel stream's id, for the benchmark's hop trace (see @gw/tunnel hop-trace). */
  private traceId = 0;
  private bytesOut = 0;
  private killedReason?: string;
  /** The agent's FATAL ErrorResponse before the session started, if it refused it. */
  private agentRefusal?: { code: string; message: string };

  constructor(private readonly raw: Socket, private readonly deps: PgConnectionDeps) {
    this.socket = raw;
    raw.setNoDelay(true);
    this.startupTimer = setTimeout(() => this.fatal('08P01', 'startup did not complete in time'), STARTUP_TIMEOUT_MS);
    this.startupTimer.unref();
    this.attach(raw);
  }

  private attach(socket: Socket | TLSSocket): void {
    socket.on('data', (chunk: Buffer) => this.onClientData(chunk));
    socket.on('error', () => this.teardown('client socket error'));
    socket.on('close', () => this.teardown('client closed'));
  }

  private onClientData(chunk: Buffer): void {
    this.bytesIn += chunk.length;
    try {
      if (this.state === 'relay') {
        hopMark('cp.req.in', this.traceId);
        this.relayClient(chunk);
        return;
      }
      for (const msg of this.parser.parse(chunk)) {
        if (this.state === 'closed') return;
        this.onStartupPhaseMessage(msg);
        // While the session opens the socket is paused; anything already parsed stays queued in the
        // parser and is relayed, in order, once the session is up.
        if (this.state === 'opening') return;
      }
    } catch (error) {
      this.protocolError(error);
    }
  }

  private onStartupPhaseMessage(msg: ReturnType<FrontendParser['parseAll']>[number]): void {
    switch (msg.kind) {
      case 'SSLRequest': {
        if (this.socket instanceof TLSSocket) return this.fatal('08P01', 'SSLRequest inside TLS');
        this.raw.removeAllListeners('data');
        this.raw.write('S');
        const tls = new TLSSocket(this.raw, { isServer: true, secureContext: this.deps.secureContext });
        this.socket = tls;
        this.raw.removeAllListeners('error');
        this.raw.removeAllListeners('close');
        this.attach(tls);
        return;
      }
      case 'GSSENCRequest':
        this.socket.write('N');
        return;
      case 'CancelRequest':
        this.deps.onCancel(msg.processId, Buffer.from(msg.secretKey));
        this.close();
        return;
      case 'StartupMessage': {
        if (this.state !== 'startup') return this.fatal('08P01', 'duplicate startup message');
        const encrypted = this.socket instanceof TLSSocket;
        if (!encrypted && (!this.deps.allowCleartext || !isLoopback(this.raw.remoteAddress))) {
          return this.fatal('28000', 'the gateway requires TLS (use sslmode=require)');
        }
        if (msg.parameters.get('replication') && msg.parameters.get('replication') !== 'false') {
          return this.fatal('28000', 'replication connections are not allowed through the gateway');
        }
        if (!msg.parameters.get('user') || !msg.parameters.get('database')) {
          return this.fatal('28000', 'startup must name a user (database role) and a database (resource)');
        }
        this.startup = msg;
        this.state = 'password';
        this.socket.write(serializeBackend({ kind: 'AuthenticationCleartextPassword' }));
        return;
      }
      case 'AuthenticationResponse': {
        if (this.state !== 'password') return this.fatal('08P01', 'unexpected password message');
        const token = decodePassword(msg);
        this.state = 'opening';
        this.socket.pause();
        this.authenticateAndOpen(token).catch((error: unknown) => {
          if (isTransientDatabaseError(error)) {
            // The gateway's own database is restarting: a client (or pool) retries on this SQLSTATE.
            this.deps.log.warn({ err: error }, 'cannot open a postgres session while the control plane database is unavailable');
            return this.fatal(RETRYABLE_SQLSTATE, 'the gateway cannot open sessions right now (its database is unavailable); retry shortly');
          }
          this.deps.log.error({ err: error }, 'opening a postgres session failed');
          this.fatal('XX000', 'internal error while opening the session');
        });
        return;
      }
      default:
        return this.fatal('08P01', `unexpected ${msg.kind} during startup`);
    }
  }

  private async authenticateAndOpen(token: string): Promise<void> {
    const startup = this.startup!;
    const resourceName = startup.parameters.get('database')!;
    const role = startup.parameters.get('user')!;
    let principal: Principal;
    try {
      principal = await this.deps.tokens.authenticate(token, { sourceIp: this.raw.remoteAddress, path: 'postgres' });
    } catch (error) {
      if (!(error instanceof TokenRejectedError)) throw error;
      return this.fatal('28P01', `token refused: ${error.reason}`);
    }
    if (this.isClosed()) return;
    const key = this.deps.cancelKeys.reserve();
    this.cancelKey = key;
    let opened: OpenedSession;
    try {
      opened = await this.deps.broker.open({
        principal,
        resourceName,
        role,
        expectedType: 'postgres',
        clientKey: key.processId,
        sourceAddress: this.raw.remoteAddress ?? null,
        declared: { applicationName: startup.parameters.get('application_name') ?? null, client: 'postgres' },
        onTerminate: (_code, reason) => {
          this.killedReason = reason;
          this.fatal('57P01', `terminating connection: ${reason}`);
        },
      });
    } catch (error) {
      if (error instanceof SessionRefused) return this.fatal(sqlstateFor(error.closeCode), error.message);
      throw error;
    }
    if (this.isClosed()) {
      opened.channel.destroy();
      await opened.finish({ bytesIn: this.bytesIn, bytesOut: this.bytesOut, endedBy: 'client' });
      return;
    }
    clearTimeout(this.startupTimer);
    this.deps.cancelKeys.bind(key.processId, opened.sessionId);
    this.session = opened;
    this.channel = opened.channel;
    this.traceId = opened.channel.id;
    this.state = 'relay';
    this.relayAgent(opened);
    this.channel.send(startupMessage(startup.parameters));
    // Whatever the client pipelined behind its password (whole messages or part of one) goes first.
    const rest = this.parser.takeRest();
    if (rest.length > 0) this.relayClient(rest);
    this.socket.resume();
  }

  /** Client -> agent: the chunk as it came, once its frame headers passed the scanner. */
  private relayClient(chunk: Buffer): void {
    this.scanner.scan(chunk);
    // Beyond the agent's credit the channel queues; the client is paused until it has left (drain).
    if (!this.channel!.send(chunk)) this.socket.pause();
  }

  /** Agent -> client: swap the upstream BackendKeyData for the gateway's own, then relay. */
  private relayAgent(opened: OpenedSession): void {
    const channel = opened.channel;
    const backend = new BackendParser();
    const cancelKey = this.cancelKey!;
    let keySwapped = false;
    const toClient = (bytes: Uint8Array): void => {
      if (keySwapped) return this.writeToClient(channel, [bytes]);
      const out: Uint8Array[] = [];
      try {
        for (const msg of backend.parse(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength))) {
          if (msg.kind === 'BackendKeyData') {
            out.push(serializeBackend({ kind: 'BackendKeyData', processId: cancelKey.processId, secretKey: cancelKey.secretKey }));
          } else {
            out.push(msg.raw);
            if (msg.kind === 'ReadyForQuery') keySwapped = true;
            // A FATAL before the first ReadyForQuery is the agent refusing the session (role, database).
            if (msg.kind === 'ErrorResponse') this.agentRefusal = { code: msg.fields.code ?? '08006', message: msg.fields.message ?? 'refused' };
          }
          if (keySwapped) break;
        }
        // After the startup answer the parser is done with: the rest of the chunk goes as it is.
        if (keySwapped) out.push(backend.takeRest());
      } catch (error) {
        this.deps.log.warn({ err: error }, 'malformed startup answer from agent');
        return this.fatal('08P01', 'the agent sent a malformed answer');
      }
      this.writeToClient(channel, out);
    };
    channel.attach({
      data: toClient,
      end: () => this.close(),
      drain: () => this.socket.resume(),
      close: (error) => {
        if (this.killedReason) return;
        const lost = /tunnel closed/i.test(error.message);
        this.fatal('08006', lost ? 'the agent serving this resource was lost' : `session ended: ${error.message}`);
      },
    });
  }

  private writeToClient(channel: TunnelChannel, chunks: readonly Uint8Array[]): void {
    if (this.state === 'closed') return;
    let ok = true;
    if (chunks.length > 1) this.socket.cork();
    for (const b of chunks) {
      if (b.length === 0) continue;
      this.bytesOut += b.length;
      ok = this.socket.write(b) && ok;
    }
    if (chunks.length > 1) this.socket.uncork();
    hopMark('cp.res.out', this.traceId);
    if (!ok) {
      // The client reads slower than the agent answers: no credit goes back until it catches up.
      channel.pause();
      this.socket.once('drain', () => channel.resume());
    }
  }

  /** A method, not a field read, because the state changes while awaiting. */
  private isClosed(): boolean {
    return this.state === 'closed';
  }

  private protocolError(error: unknown): void {
    const message = error instanceof ProtocolError ? error.message : 'malformed message';
    this.fatal('08P01', `protocol violation: ${message}`);
  }

  /** FATAL ErrorResponse (never naming the token), then close. */
  private fatal(code: string, message: string): void {
    if (this.state === 'closed') return;
    try {
      this.socket.write(errorResponse({ severity: 'FATAL', code, message }));
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
    this.state = 'closed';
    clearTimeout(this.startupTimer);
    if (this.cancelKey) this.deps.cancelKeys.release(this.cancelKey.processId);
    this.cancelKey = undefined;
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
