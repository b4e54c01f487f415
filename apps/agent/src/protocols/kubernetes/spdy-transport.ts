import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type RawData, type WebSocket } from 'ws';
import { SpdySession, type SpdyStream } from '@gw/protocol-spdy';
import { CLIENT_HIGH_WATER, CLIENT_LOW_WATER } from './channel-client.js';
import { socketLike } from './socket-like.js';

/** The Upgrade token of a plain SPDY upgrade (kubectl exec/attach before 1.30, port-forward before 1.31). */
export const SPDY_UPGRADE = 'SPDY/3.1';
/** kubectl 1.31+ port-forward: SPDY carried in WebSocket binary messages, subprotocol `SPDY/3.1+<protocol>`. */
export const SPDY_TUNNEL_PREFIX = 'SPDY/3.1+';
/** Largest WebSocket message of a tunnel (kubectl writes one SPDY frame per message, at most 32 KiB of data). */
const MAX_TUNNEL_MESSAGE = 2 * 1024 * 1024;

/** A SPDY session on the client's connection, whichever way it arrived. */
export interface SpdyTransport {
  readonly session: SpdySession;
  readonly closed: boolean;
  /** GOAWAY, then the connection ends once what was sent is out. */
  end(): void;
  destroy(): void;
  onClose(listener: () => void): void;
  /** More than CLIENT_HIGH_WATER waits to go out; `onDrain` listeners are called whenever it has gone out. */
  readonly congested: boolean;
  onDrain(listener: () => void): void;
  pauseReading(): void;
  resumeReading(): void;
}

class TransportBase {
  closed = false;
  protected readonly closeListeners: (() => void)[] = [];
  protected readonly drainListeners: (() => void)[] = [];

  onDrain(listener: () => void): void {
    this.drainListeners.push(listener);
  }

  protected drained(): void {
    for (const l of this.drainListeners) l();
  }

  onClose(listener: () => void): void {
    if (this.closed) listener();
    else this.closeListeners.push(listener);
  }

  protected markClosed(session: SpdySession): void {
    if (this.closed) return;
    this.closed = true;
    session.destroy();
    for (const l of this.closeListeners.splice(0)) l();
  }
}

class SocketTransport extends TransportBase implements SpdyTransport {
  readonly session: SpdySession;

  constructor(private readonly socket: Duplex, head: Buffer, onStream: (stream: SpdyStream) => void) {
    super();
    this.session = new SpdySession({
      role: 'server',
      // kubectl's spdystream ignores flow-control windows (see SpdySessionOptions): TCP bounds it.
      strictFlowControl: false,
      output: (bytes) => {
        if (!this.closed && socket.writable) socket.write(bytes);
      },
      onStream,
      onError: () => this.end(),
    });
    socket.on('data', (chunk: Buffer) => this.session.receive(chunk));
    socket.on('drain', () => this.drained());
    socket.on('error', () => socket.destroy());
    socket.once('close', () => this.markClosed(this.session));
    if (head.length > 0) this.session.receive(head);
  }

  get congested(): boolean {
    return this.socket.writableLength > CLIENT_HIGH_WATER;
  }

  pauseReading(): void {
    this.socket.pause();
  }

  resumeReading(): void {
    this.socket.resume();
  }

  end(): void {
    this.session.goAway();
    this.socket.end();
    setTimeout(() => this.socket.destroy(), 5000).unref();
  }

  destroy(): void {
    this.socket.destroy();
  }
}

class TunnelTransport extends TransportBase implements SpdyTransport {
  readonly session: SpdySession;

  constructor(private readonly ws: WebSocket, onStream: (stream: SpdyStream) => void) {
    super();
    this.session = new SpdySession({
      role: 'server',
      strictFlowControl: false,
      output: (bytes) => {
        if (this.closed || ws.readyState !== ws.OPEN) return;
        ws.send(bytes, { binary: true }, () => {
          if (ws.bufferedAmount < CLIENT_LOW_WATER) this.drained();
        });
      },
      onStream,
      onError: () => this.end(),
    });
    ws.on('message', (data: RawData, isBinary: boolean) => {
      if (!isBinary) return this.destroy();
      this.session.receive(Buffer.isBuffer(data) ? data : Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data));
    });
    ws.on('error', () => ws.terminate());
    ws.once('close', () => this.markClosed(this.session));
  }

  get congested(): boolean {
    return this.ws.bufferedAmount > CLIENT_HIGH_WATER;
  }

  pauseReading(): void {
    this.ws.pause();
  }

  resumeReading(): void {
    this.ws.resume();
  }

  end(): void {
    this.session.goAway();
    if (this.ws.readyState === this.ws.OPEN) this.ws.close(1000);
    setTimeout(() => this.ws.terminate(), 5000).unref();
  }

  destroy(): void {
    this.ws.terminate();
  }
}

/** The protocols a client offers in `X-Stream-Protocol-Version` (one header line or several, comma-separated). */
export function offeredStreamProtocols(req: IncomingMessage): string[] {
  const raw = req.headers['x-stream-protocol-version'];
  const values = Array.isArray(raw) ? raw : raw === undefined ? [] : [raw];
  return values.flatMap((v) => v.split(',')).map((p) => p.trim()).filter((p) => p !== '');
}

/** The first of the client's protocols that the agent speaks (the client's order, as the API server picks). */
export function negotiateStreamProtocol(offered: string[], supported: readonly string[]): string | undefined {
  return offered.find((p) => supported.includes(p));
}

/** Answers a plain SPDY upgrade (101 Switching Protocols) and runs the session on the socket. */
export function acceptSpdyUpgrade(socket: Duplex, head: Buffer, protocol: string, onStream: (stream: SpdyStream) => void): SpdyTransport {
  socket.write(`HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: ${SPDY_UPGRADE}\r\nX-Stream-Protocol-Version: ${protocol}\r\n\r\n`);
  return new SocketTransport(socket, head, onStream);
}

/**
 * Accepts a WebSocket whose subprotocol is `SPDY/3.1+<protocol>` and runs the session in its binary
 * messages. That subprotocol is not an RFC 6455 token (it has `/` and `+`), which ws refuses to
 * negotiate, so the header is taken off the request and put on the answer here.
 */
export function acceptSpdyTunnel(req: IncomingMessage, socket: Duplex, head: Buffer, subprotocol: string, onStream: (stream: SpdyStream) => void): Promise<SpdyTransport> {
  const server = new WebSocketServer({ noServer: true, maxPayload: MAX_TUNNEL_MESSAGE, perMessageDeflate: false });
  server.on('headers', (headers: string[]) => headers.push(`Sec-WebSocket-Protocol: ${subprotocol}`));
  delete req.headers['sec-websocket-protocol'];
  return new Promise((resolve) => server.handleUpgrade(req, socketLike(socket), head, (ws) => resolve(new TunnelTransport(ws, onStream))));
}
