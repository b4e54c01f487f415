import type { Socket } from 'node:net';
import type { SecureContext, TLSSocket } from 'node:tls';
import type { ChannelHandlers, TunnelChannel } from '@gw/tunnel';
import type { Logger } from 'pino';
import type { OpenedSession, SessionBroker } from '../connect/session-broker.service.js';
import type { TokenAuthenticator } from '../identity/token-authenticator.js';
import { endClientSocket } from './client-transport.js';
import { openDatabaseSession, type DatabaseRefusalReason, type DatabaseTarget } from './open-database-session.js';
import { channelClosedMessage, finishRelayedSession } from './relayed-session.js';

/**
 * The ways a database connection ends in error that the shared code decides; each wire protocol maps
 * every one to its own error code (SQLSTATE, MySQL error number) with an exhaustive table.
 */
export type DatabaseConnectionError =
  | DatabaseRefusalReason
  /** The client did not finish its login in time. */
  | 'login-timeout'
  /** The control plane ended the session (kill, time limit, shutdown). */
  | 'terminated'
  /** The tunnel stream closed under a live session (agent lost, stream error). */
  | 'agent-lost';

export interface DatabaseConnectionDeps {
  tokens: TokenAuthenticator;
  broker: SessionBroker;
  log: Logger;
}

/** With the endpoint's TLS: what every database connection gets from its listener. */
export interface DatabaseTransportDeps extends DatabaseConnectionDeps {
  secureContext: SecureContext;
  allowCleartext: boolean;
}

/**
 * What every database wire endpoint's client connection does around its protocol: the login timer,
 * the socket's events, opening the session through the agent, moving the agent's bytes to the client
 * with backpressure, and the end (last error message, session record). Subclasses speak the protocol:
 * the login, the relay of client bytes, and their error shape.
 */
export abstract class DatabaseClientConnection<LoginState extends string> {
  /** The raw socket until TLS starts, then the TLS socket over it. */
  protected socket: Socket | TLSSocket;
  protected state: LoginState | 'opening' | 'relay' | 'closed';
  protected session?: OpenedSession;
  protected channel?: TunnelChannel;
  protected bytesIn = 0;
  protected bytesOut = 0;
  /** The agent's refusal before the session started (role, database), kept for the session record. */
  protected agentRefusal?: { code: string; message: string };
  private killedReason?: string;
  private readonly loginTimer: NodeJS.Timeout;

  constructor(
    protected readonly raw: Socket,
    private readonly base: DatabaseConnectionDeps,
    initial: LoginState,
    /** How long the login may take, and what the client is told when it took longer. */
    loginTimeout: { ms: number; message: string },
  ) {
    this.socket = raw;
    this.state = initial;
    raw.setNoDelay(true);
    this.loginTimer = setTimeout(() => this.endWithError('login-timeout', loginTimeout.message), loginTimeout.ms);
    this.loginTimer.unref();
    this.attach(raw);
  }

  /** Client bytes: the login's messages, then the relay. */
  protected abstract onClientData(chunk: Buffer): void;
  /** Writes the protocol's error message for `error` (never naming the token), then closes. */
  protected abstract endWithError(error: DatabaseConnectionError, message: string): void;
  /** Frees the id the client was given for this session (cancel key, connection id). */
  protected abstract releaseClientKey(): void;

  protected attach(socket: Socket | TLSSocket): void {
    socket.on('data', (chunk: Buffer) => {
      this.bytesIn += chunk.length;
      this.onClientData(chunk);
    });
    socket.on('error', () => this.teardown('client socket error'));
    socket.on('close', () => this.teardown('client closed'));
  }

  /**
   * Verifies the token and opens the session through the agent. Undefined when there is none: the
   * client was refused (and told) or left meanwhile.
   */
  protected async openSession(token: string, protocol: 'postgres' | 'mysql', target: () => DatabaseTarget): Promise<OpenedSession | undefined> {
    const outcome = await openDatabaseSession(this.base, {
      token,
      protocol,
      sourceAddress: this.raw.remoteAddress,
      target,
      isClosed: () => this.isClosed(),
      onTerminate: (reason) => {
        this.killedReason = reason;
        this.endWithError('terminated', `terminating connection: ${reason}`);
      },
      bytes: () => ({ bytesIn: this.bytesIn, bytesOut: this.bytesOut }),
    });
    if (outcome.kind === 'refused') this.endWithError(outcome.refusal.reason, outcome.refusal.message);
    return outcome.kind === 'opened' ? outcome.session : undefined;
  }

  /** The login is over: from now on bytes go through the session's tunnel stream. */
  protected startRelay(opened: OpenedSession): void {
    clearTimeout(this.loginTimer);
    this.session = opened;
    this.channel = opened.channel;
    this.state = 'relay';
  }

  /** Handlers for the tunnel stream: `data` is the protocol's; the end and flow control are shared. */
  protected channelHandlers(data: ChannelHandlers['data']): ChannelHandlers {
    return {
      data,
      end: () => this.close(),
      drain: () => this.socket.resume(),
      close: (error) => {
        if (!this.killedReason) this.endWithError('agent-lost', channelClosedMessage(error));
      },
    };
  }

  /** Agent -> client, counted; while the client reads slower than the agent answers, no credit goes back to the agent. */
  protected writeToClient(channel: TunnelChannel, chunks: readonly Uint8Array[]): void {
    if (this.state === 'closed') return;
    let ok = true;
    if (chunks.length > 1) this.socket.cork();
    for (const b of chunks) {
      if (b.length === 0) continue;
      this.bytesOut += b.length;
      ok = this.socket.write(b) && ok;
    }
    if (chunks.length > 1) this.socket.uncork();
    if (!ok) {
      channel.pause();
      this.socket.once('drain', () => channel.resume());
    }
  }

  /** A method, not a field read, because the state changes while awaiting. */
  protected isClosed(): boolean {
    return this.state === 'closed';
  }

  /** Writes the connection's last message, then closes. */
  protected endWith(lastMessage: () => Uint8Array): void {
    if (this.state === 'closed') return;
    try {
      this.socket.write(lastMessage());
    } catch {
      /* socket already gone */
    }
    this.close();
  }

  protected close(): void {
    if (this.state === 'closed') return;
    endClientSocket(this.socket);
    this.teardown('closed');
  }

  private teardown(reason: string): void {
    if (this.state !== 'closed') this.releaseClientKey();
    this.state = 'closed';
    clearTimeout(this.loginTimer);
    const session = this.session;
    this.session = undefined;
    // A session is set only once it relays: one that opened after the client left was closed where it opened.
    if (session) finishRelayedSession(session, this.channel, { bytesIn: this.bytesIn, bytesOut: this.bytesOut, reason, agentRefusal: this.agentRefusal }, this.base.log);
  }
}
