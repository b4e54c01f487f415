import { EventEmitter } from 'node:events';
import { RstStatus, type SpdyStream } from '@gw/protocol-spdy';
import type { ChannelClient } from './channel-client.js';
import type { SpdyTransport } from './spdy-transport.js';

export const PORT_FORWARD_PROTOCOL = 'portforward.k8s.io';
/** How long the second stream of a pair may take (the kubelet waits as long). */
const PAIR_TIMEOUT_MS = 30_000;
/** Most forwarded connections open at once on one client connection. */
const MAX_OPEN_PAIRS = 64;

/** One forwarded connection: kubectl's error and data streams with the same `requestID`. */
export interface ForwardedConnection {
  port: number;
  requestId: string;
  client: PortForwardPairClient;
}

/**
 * Pairs kubectl's port-forward streams. For every local connection kubectl opens an error stream
 * and a data stream carrying `port` and `requestID` headers; once both are in, `onPair` gets the
 * pair as a ChannelClient (data channel 0, error channel 1) that the relay joins to its own
 * WebSocket to the API server for that one port.
 */
export class SpdyPortForwardPairs {
  private readonly pending = new Map<string, { error?: SpdyStream; data?: SpdyStream; timer: NodeJS.Timeout }>();
  private open = 0;
  /** The client's connection, once accepted: its backpressure is every pair's. */
  transport: SpdyTransport | undefined;

  constructor(private readonly onPair: (connection: ForwardedConnection) => void) {}

  addStream(stream: SpdyStream): void {
    const type = stream.header('streamtype');
    const requestId = stream.header('requestid');
    const portText = stream.header('port') ?? '';
    const port = /^\d{1,5}$/.test(portText) ? Number(portText) : 0;
    if ((type !== 'error' && type !== 'data') || requestId === undefined) {
      stream.reset(RstStatus.REFUSED_STREAM);
      return;
    }
    stream.reply();
    const entry = this.pending.get(requestId) ?? {
      timer: setTimeout(() => {
        const gone = this.pending.get(requestId);
        this.pending.delete(requestId);
        gone?.error?.reset(RstStatus.CANCEL);
        gone?.data?.reset(RstStatus.CANCEL);
      }, PAIR_TIMEOUT_MS).unref(),
    };
    if (entry[type]) {
      stream.reset(RstStatus.PROTOCOL_ERROR);
      return;
    }
    entry[type] = stream;
    this.pending.set(requestId, entry);
    if (!entry.error || !entry.data) return;
    clearTimeout(entry.timer);
    this.pending.delete(requestId);
    const { error, data } = entry;
    if (port < 1 || port > 65535 || error.header('port') !== data.header('port')) {
      error.write(Buffer.from(`invalid port "${portText}": a port-forward names one port from 1 to 65535`));
      error.end();
      data.end();
      return;
    }
    if (this.open >= MAX_OPEN_PAIRS) {
      error.write(Buffer.from(`more than ${MAX_OPEN_PAIRS} forwarded connections at once`));
      error.end();
      data.end();
      return;
    }
    this.open++;
    const client = new PortForwardPairClient(error, data, () => this.transport);
    client.once('close', () => this.open--);
    this.onPair({ port, requestId, client });
  }
}

/**
 * One forwarded connection as channel messages. The API server's WebSocket port-forward begins
 * each channel with the port (2 bytes), which SPDY clients do not expect: that is taken off. The
 * channel protocol has no half-close, so kubectl closing its side of the data stream (its local
 * connection ended) ends the forwarded connection.
 */
export class PortForwardPairClient extends EventEmitter implements ChannelClient {
  readonly protocol = `SPDY/3.1+${PORT_FORWARD_PROTOCOL}`;
  private readonly portPrefixPending = [true, true];
  private closed = false;

  constructor(
    private readonly error: SpdyStream,
    private readonly data: SpdyStream,
    private readonly transport: () => SpdyTransport | undefined,
  ) {
    super();
    // Bytes kubectl sends before the API server's WebSocket is open wait in the stream.
    data.pause();
    data.setReceiver({
      data: (chunk) => this.emit('message', Buffer.concat([Buffer.from([0]), chunk]), true),
      end: () => this.finish('client closed its connection'),
      reset: () => this.finish('client reset the stream'),
    });
    // The connection closing resets every stream: that ends the pair too.
    error.setReceiver({ data: () => undefined, end: () => undefined, reset: () => this.finish('client reset the stream') });
  }

  get isOpen(): boolean {
    return !this.closed;
  }

  send(message: Buffer): void {
    if (!this.isOpen || message.length === 0) return;
    const channel = message[0]!;
    if (channel > 1) return;
    let payload = message.subarray(1);
    if (this.portPrefixPending[channel]) {
      this.portPrefixPending[channel] = false;
      payload = payload.subarray(2);
    }
    const target = channel === 0 ? this.data : this.error;
    if (payload.length > 0 && !target.localEnded && !target.finQueued && target.resetStatus === undefined) target.write(payload);
  }

  close(): void {
    for (const stream of [this.data, this.error]) if (stream.resetStatus === undefined) stream.end();
    this.finish('closed');
  }

  terminate(): void {
    for (const stream of [this.data, this.error]) stream.reset(RstStatus.CANCEL);
    this.finish('terminated');
  }

  get congested(): boolean {
    return this.transport()?.congested ?? false;
  }

  pauseReading(): void {
    // One connection's backlog stops the whole client connection: SPDY streams of kubectl have no windows to close.
    this.transport()?.pauseReading();
  }

  resumeReading(): void {
    this.transport()?.resumeReading();
  }

  start(): void {
    this.transport()?.onDrain(() => this.emit('drain'));
    this.data.resume();
  }

  private finish(reason: string): void {
    if (this.closed) return;
    this.closed = true;
    this.emit('close', 1000, reason);
  }
}
