import { Inject, Injectable, type BeforeApplicationShutdown, type OnApplicationBootstrap } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import type { IncomingMessage, Server as HttpServer } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type WebSocket } from 'ws';
import { CONNECT_CLOSE, CONNECT_PATH } from '@gw/contracts';
import { TokenRejectedError, type Principal } from '@gw/identity';
import { loggerFor } from '../common/logger.js';
import { ATTESTATION_HEADER, TokenAuthenticator, bearerTokenOf } from '../identity/token-authenticator.js';
import { DECLARED_PROCESS_HEADER, declaredProcessOf } from '../identity/declared-process.js';
import { SessionBroker, SessionRefused } from './session-broker.service.js';
import { bridge } from './session-bridge.js';

/** Largest single WebSocket message a client may send (the CLI sends TCP reads, at most 64 KiB). */
const MAX_CLIENT_MESSAGE = 1024 * 1024;

/**
 * `GET /api/v1/connect?resource=<name>` upgraded to a WebSocket: the byte pipe of `gw connect`.
 * Refusals are close codes with a human reason (see @gw/contracts CONNECT_CLOSE).
 */
@Injectable()
export class ConnectGateway implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly log = loggerFor(ConnectGateway);
  private readonly wss = new WebSocketServer({ noServer: true, maxPayload: MAX_CLIENT_MESSAGE, perMessageDeflate: false });
  private readonly live = new Set<WebSocket>();

  constructor(
    @Inject(HttpAdapterHost) private readonly adapterHost: HttpAdapterHost,
    @Inject(TokenAuthenticator) private readonly tokens: TokenAuthenticator,
    @Inject(SessionBroker) private readonly broker: SessionBroker,
  ) {}

  onApplicationBootstrap(): void {
    const server = this.adapterHost.httpAdapter.getHttpServer() as HttpServer;
    server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
      const url = new URL(req.url ?? '/', 'http://localhost');
      if (url.pathname !== CONNECT_PATH) return; // socket.io handles its own path
      if (this.shuttingDown) {
        socket.destroy();
        return;
      }
      this.wss.handleUpgrade(req, socket, head, (ws) => {
        // Before the first await: a client may send bytes right after the upgrade, without waiting
        // for `ready`, and a message emitted with no listener yet would be lost. Paused, they wait
        // in the socket until the bridge reads them.
        ws.pause();
        this.live.add(ws);
        ws.once('close', () => this.live.delete(ws));
        this.handle(ws, req, url).catch((err: unknown) => {
          this.log.error({ err }, 'connect handler failed');
          closeWith(ws, CONNECT_CLOSE.internal, 'internal error');
        });
      });
    });
  }

  private shuttingDown = false;

  /** Before Nest closes the HTTP server, which would otherwise wait for these connections. */
  beforeApplicationShutdown(): void {
    this.shuttingDown = true;
    for (const ws of this.live) {
      closeWith(ws, CONNECT_CLOSE.terminated, 'control plane shutting down');
      setTimeout(() => ws.terminate(), 1000).unref();
    }
    this.wss.close();
  }

  private async handle(ws: WebSocket, req: IncomingMessage, url: URL): Promise<void> {
    const sourceAddress = req.socket.remoteAddress ?? null;
    const principal = await this.authenticate(ws, req, sourceAddress);
    if (!principal) return;
    const resourceName = url.searchParams.get('resource') ?? '';
    let opened;
    try {
      opened = await this.broker.open({
        principal,
        resourceName,
        expectedType: 'tcp',
        sourceAddress,
        declared: { userAgent: req.headers['user-agent'] ?? null, ...declaredProcessOf(req.headers[DECLARED_PROCESS_HEADER]) },
        onTerminate: (code, reason) => closeWith(ws, code, reason),
      });
    } catch (error) {
      if (error instanceof SessionRefused) {
        closeWith(ws, error.closeCode, error.message);
        return;
      }
      throw error;
    }
    if (ws.readyState !== ws.OPEN) {
      opened.channel.destroy();
      await opened.finish({ bytesIn: 0, bytesOut: 0, endedBy: 'client' });
      return;
    }
    ws.send(JSON.stringify({ type: 'ready', sessionId: opened.sessionId }));
    ws.resume();
    const result = await bridge(ws, opened.channel);
    if (result.endedBy === 'client') opened.channel.end();
    else if (result.error && /tunnel closed/i.test(result.error.message)) closeWith(ws, CONNECT_CLOSE.agentLost, 'the agent serving this resource was lost');
    else if (result.error) closeWith(ws, CONNECT_CLOSE.resourceError, result.error.message.slice(0, 120));
    else closeWith(ws, CONNECT_CLOSE.normal, 'session ended');
    setTimeout(() => opened.channel.destroy(), 1000).unref();
    await opened.finish(result);
  }

  private async authenticate(ws: WebSocket, req: IncomingMessage, sourceAddress: string | null): Promise<Principal | undefined> {
    const token = bearerTokenOf(req.headers.authorization);
    if (!token) {
      closeWith(ws, CONNECT_CLOSE.unauthenticated, 'a bearer token is required');
      return undefined;
    }
    try {
      const attestation = req.headers[ATTESTATION_HEADER];
      return await this.tokens.authenticate(token, { sourceIp: sourceAddress, path: CONNECT_PATH, attestation: typeof attestation === 'string' ? attestation.trim() : undefined });
    } catch (error) {
      if (!(error instanceof TokenRejectedError)) throw error;
      closeWith(ws, CONNECT_CLOSE.unauthenticated, `token refused: ${error.reason}`);
      return undefined;
    }
  }
}

/** Close reasons are limited to 123 bytes by the WebSocket protocol. */
export function closeWith(ws: WebSocket, code: number, reason: string): void {
  if (ws.readyState === ws.CLOSED || ws.readyState === ws.CLOSING) return;
  let r = reason;
  while (Buffer.byteLength(r) > 123) r = r.slice(0, -1);
  // A paused socket would never read the peer's answering close frame, holding the close for 30 s.
  if (ws.isPaused) ws.resume();
  ws.close(code, r);
}
