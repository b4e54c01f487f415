import { SpdyProtocolError } from './errors.js';
import { RstStatus } from './frames.js';
import type { SpdyHeaders } from './header-block.js';

/** What a stream's reader is told: data in order, then either `end` (the peer's FIN) or `reset`. */
export interface StreamReceiver {
  data(chunk: Buffer): void;
  end(): void;
  reset(status: number): void;
}

/** The session's side of a stream: how a stream sends frames and gives back window. */
export interface StreamHost {
  sendReply(stream: SpdyStream, headers: Record<string, string | string[]>, fin: boolean): void;
  sendData(stream: SpdyStream): void;
  sendReset(stream: SpdyStream, status: number): void;
  consumed(stream: SpdyStream, bytes: number): void;
  streamClosed(stream: SpdyStream): void;
}

type Inbound = { kind: 'data'; chunk: Buffer } | { kind: 'end' } | { kind: 'reset'; status: number };

/**
 * One SPDY stream. Received data waits here until a receiver is attached and not paused (the
 * window given back to the peer is what the receiver took). Data written waits here while the
 * peer's window is shut; `onDrain` says when it has all gone out.
 */
export class SpdyStream {
  headers: SpdyHeaders;
  /** The peer's SYN_REPLY arrived (streams this side opened). */
  replied = false;
  /** SYN_REPLY sent (streams the peer opened). */
  replySent = false;
  localEnded = false;
  remoteEnded = false;
  resetStatus: number | undefined;
  sendWindow: number;
  receiveWindow: number;
  /** Called when queued data has all been sent. */
  onDrain: (() => void) | undefined;
  /** Called with the SYN_REPLY's headers (streams this side opened). */
  onReply: ((headers: SpdyHeaders) => void) | undefined;

  /** Data written and not yet sent (the peer's window is shut), and whether FIN follows it. */
  readonly outbound: Buffer[] = [];
  outboundBytes = 0;
  finQueued = false;

  private receiver: StreamReceiver | undefined;
  private paused = false;
  private readonly inbound: Inbound[] = [];
  private inboundBytes = 0;

  constructor(
    readonly id: number,
    headers: SpdyHeaders,
    private readonly host: StreamHost,
    sendWindow: number,
    receiveWindow: number,
    private readonly maxBuffered: number,
  ) {
    this.headers = headers;
    this.sendWindow = sendWindow;
    this.receiveWindow = receiveWindow;
  }

  /** The first value of a header, if present. */
  header(name: string): string | undefined {
    return this.headers[name.toLowerCase()]?.[0];
  }

  get closed(): boolean {
    return this.resetStatus !== undefined || (this.localEnded && this.remoteEnded && this.outbound.length === 0);
  }

  setReceiver(receiver: StreamReceiver): void {
    this.receiver = receiver;
    this.flushInbound();
  }

  pause(): void {
    this.paused = true;
  }

  resume(): void {
    this.paused = false;
    this.flushInbound();
  }

  /** SYN_REPLY for a stream the peer opened. */
  reply(headers: Record<string, string | string[]> = {}, fin = false): void {
    if (this.replySent || this.resetStatus !== undefined) return;
    this.replySent = true;
    if (fin) this.localEnded = true;
    this.host.sendReply(this, headers, fin);
    if (fin) this.maybeClosed();
  }

  /** Queues data; false when some of it waits for the peer's window (wait for `onDrain`). */
  write(data: Buffer): boolean {
    if (this.localEnded || this.finQueued) throw new Error(`stream ${this.id} is already half-closed`);
    if (this.resetStatus !== undefined) return false;
    if (data.length > 0) {
      this.outbound.push(data);
      this.outboundBytes += data.length;
    }
    this.host.sendData(this);
    return this.outbound.length === 0;
  }

  /** FIN after whatever is queued. */
  end(): void {
    if (this.localEnded || this.finQueued || this.resetStatus !== undefined) return;
    this.finQueued = true;
    this.host.sendData(this);
  }

  reset(status: number = RstStatus.CANCEL): void {
    if (this.resetStatus !== undefined) return;
    this.resetStatus = status;
    this.outbound.length = 0;
    this.outboundBytes = 0;
    this.host.sendReset(this, status);
    this.host.streamClosed(this);
  }

  // --- called by the session ---

  /** Reset for a protocol error: the peer is told, and so is the receiver. */
  abort(status: number): void {
    if (this.resetStatus !== undefined) return;
    this.host.sendReset(this, status);
    this.remoteReset(status);
  }

  /** Data from the peer; past the buffer limit of an absent or paused receiver, a stream error. */
  deliver(chunk: Buffer): void {
    if (this.inboundBytes + chunk.length > this.maxBuffered && (this.receiver === undefined || this.paused)) {
      throw new SpdyProtocolError(`stream ${this.id} holds more than ${this.maxBuffered} unread bytes`, RstStatus.FLOW_CONTROL_ERROR, this.id);
    }
    this.inbound.push({ kind: 'data', chunk });
    this.inboundBytes += chunk.length;
    this.flushInbound();
  }

  remoteEnd(): void {
    this.remoteEnded = true;
    this.inbound.push({ kind: 'end' });
    this.flushInbound();
    this.maybeClosed();
  }

  remoteReset(status: number): void {
    if (this.resetStatus !== undefined) return;
    this.resetStatus = status;
    this.outbound.length = 0;
    this.outboundBytes = 0;
    this.inbound.length = 0;
    this.inboundBytes = 0;
    this.receiver?.reset(status);
    if (!this.receiver) this.inbound.push({ kind: 'reset', status });
    this.host.streamClosed(this);
  }

  maybeClosed(): void {
    if (this.closed) this.host.streamClosed(this);
  }

  private flushInbound(): void {
    while (this.receiver && !this.paused && this.inbound.length > 0) {
      const item = this.inbound.shift()!;
      if (item.kind === 'data') {
        this.inboundBytes -= item.chunk.length;
        this.host.consumed(this, item.chunk.length);
        this.receiver.data(item.chunk);
      } else if (item.kind === 'end') this.receiver.end();
      else this.receiver.reset(item.status);
    }
  }
}
