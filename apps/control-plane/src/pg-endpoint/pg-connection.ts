import type { Socket } from 'node:net';
import { TLSSocket } from 'node:tls';
import {
  BackendParser, FRONTEND_MESSAGES, FrameScanner, FrontendParser, ProtocolError, decodePassword, errorResponse, serializeBackend,
  startupMessage, type StartupMessage,
  isTransientDatabaseError,
  RETRYABLE_SQLSTATE,
} from '@gw/protocol-postgres';
import { hopMark, type TunnelChannel } from '@gw/tunnel';
import { lacksRequiredTls } from '../db-endpoint/client-transport.js';
import { DatabaseClientConnection, type DatabaseConnectionError, type DatabaseTransportDeps } from '../db-endpoint/database-client-connection.js';
import type { OpenedSession } from '../connect/session-broker.service.js';
import type { CancelKeys } from './cancel-keys.js';

const STARTUP_TIMEOUT_MS = 30_000;

export interface PgConnectionDeps extends DatabaseTransportDeps {
  cancelKeys: CancelKeys;
  onCancel(processId: number, secretKey: Buffer): void;
}

/** SQLSTATE for each way the shared connection code ends a connection in error. */
const ERROR_SQLSTATE: Record<DatabaseConnectionError, string> = {
  'token-rejected': '28P01',
  // invalid_catalog_name: the "database" names a resource
  'unknown-resource': '3D000',
  unavailable: '08006',
  denied: '28000',
  'login-timeout': '08P01',
  // admin_shutdown, as a server's pg_terminate_backend
  terminated: '57P01',
  'agent-lost': '08006',
};

/**
 * One client connection to the Postgres endpoint: TLS, startup, the OIDC token as password, the
 * session through the agent, then a relay of bytes. The control plane parses only what it must
 * (startup, the password, a CancelRequest, the agent's startup answer for the cancel key); after that
 * client bytes are only checked for framing (FrameScanner: a malformed header ends the session here)
 * and relayed as they came: the agent, next to the database, parses and decides every statement.
 */
export class PgConnection extends DatabaseClientConnection<'startup' | 'password'> {
  private readonly parser = new FrontendParser();
  /** Framing checks of the client's bytes once the session relays (no decoding). */
  private readonly scanner = new FrameScanner(FRONTEND_MESSAGES, 'frontend');
  private startup?: StartupMessage;
  /** The gateway's BackendKeyData for this session (reserved before it opens, released at the end). */
  private cancelKey?: { processId: number; secretKey: Buffer };
  /** The tunnel stream's id, for the benchmark's hop trace (see @gw/tunnel hop-trace). */
  private traceId = 0;

  constructor(raw: Socket, private readonly deps: PgConnectionDeps) {
    super(raw, deps, 'startup', { ms: STARTUP_TIMEOUT_MS, message: 'startup did not complete in time' });
  }

  protected onClientData(chunk: Buffer): void {
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
        if (lacksRequiredTls(this.socket, this.raw, this.deps.allowCleartext)) {
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
    const opened = await this.openSession(token, 'postgres', () => {
      // Reserved before the session opens: the cancel key is the session's client key.
      this.cancelKey = this.deps.cancelKeys.reserve();
      return {
        resourceName: startup.parameters.get('database')!,
        role: startup.parameters.get('user')!,
        clientKey: this.cancelKey.processId,
        declared: { applicationName: startup.parameters.get('application_name') ?? null, client: 'postgres' },
      };
    });
    if (!opened) return;
    const key = this.cancelKey!;
    this.deps.cancelKeys.bind(key.processId, opened.sessionId);
    this.startRelay(opened);
    this.traceId = opened.channel.id;
    this.relayAgent(opened);
    opened.channel.send(startupMessage(startup.parameters));
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
      if (keySwapped) return this.relayToClient(channel, [bytes]);
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
      this.relayToClient(channel, out);
    };
    channel.attach(this.channelHandlers(toClient));
  }

  /** Agent -> client, marked for the benchmark's hop trace. */
  private relayToClient(channel: TunnelChannel, chunks: readonly Uint8Array[]): void {
    if (this.isClosed()) return;
    this.writeToClient(channel, chunks);
    hopMark('cp.res.out', this.traceId);
  }

  private protocolError(error: unknown): void {
    const message = error instanceof ProtocolError ? error.message : 'malformed message';
    this.fatal('08P01', `protocol violation: ${message}`);
  }

  protected endWithError(error: DatabaseConnectionError, message: string): void {
    this.fatal(ERROR_SQLSTATE[error], message);
  }

  /** FATAL ErrorResponse (never naming the token), then close. */
  private fatal(code: string, message: string): void {
    this.endWith(() => errorResponse({ severity: 'FATAL', code, message }));
  }

  protected releaseClientKey(): void {
    if (this.cancelKey) this.deps.cancelKeys.release(this.cancelKey.processId);
    this.cancelKey = undefined;
  }
}
