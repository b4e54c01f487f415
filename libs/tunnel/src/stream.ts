import { Duplex } from 'node:stream';
import { ByteAccumulator } from './byte-accumulator.js';
import { ResetCode, StreamResetError } from './codes.js';
import { truncateReason } from './codec.js';
import type { StreamFrame } from './frame.js';
import { MAX_FRAME_PAYLOAD } from './limits.js';
import type { StreamOpenHeader } from './open-header.js';
import type { ViolationKind } from './stats.js';

/** What a stream needs from the endpoint that owns it. */
export interface StreamHost {
  sendFrame(frame: StreamFrame): void;
  streamClosed(stream: TunnelStream): void;
  violation(kind: ViolationKind, streamId: number, detail: string): void;
}

export interface TunnelStreamInit {
  id: number;
  header: StreamOpenHeader;
  /** Our receive window: the most the peer may have in flight to us. */
  localWindow: number;
  /** The peer's receive window, as it announced in OPEN / OPEN_OK. */
  peerWindow: number;
  host: StreamHost;
}

interface PendingWrite {
  data: Uint8Array;
  offset: number;
  callback: (error?: Error | null) => void;
}

/**
 * One multiplexed stream, as a Node Duplex. Flow control is per stream and credit based:
 * - we never send more DATA than the peer granted (sendCredit);
 * - we grant credit back only while the consumer keeps reading, keeping
 *   (bytes buffered here + credit the peer still holds) <= our window at all times.
 */
export class TunnelStream extends Duplex {
  readonly id: number;
  readonly header: StreamOpenHeader;

  private readonly host: StreamHost;
  private readonly localWindow: number;
  private readonly peerWindow: number;
  /** Credits are only sent once this many bytes can be granted, to avoid a CREDIT per read. */
  private readonly grantThreshold: number;

  private sendCredit: number;
  private pendingWrite: PendingWrite | null = null;
  private peerCredit: number;
  private readonly held = new ByteAccumulator();
  /** push() returned false: stop granting until the consumer asks for more (_read). */
  private consumerPaused = false;
  /** _read() was called and nothing has been pushed since: the next bytes must be pushed, not held. */
  private readRequested = false;

  private localEnded = false;
  private remoteEnded = false;
  private eofPushed = false;
  /** No more frames go out for this stream and the endpoint has forgotten it. */
  private detached = false;

  private sent = 0;
  private received = 0;

  constructor(init: TunnelStreamInit) {
    super({ allowHalfOpen: true, readableHighWaterMark: MAX_FRAME_PAYLOAD, writableHighWaterMark: MAX_FRAME_PAYLOAD });
    this.id = init.id;
    this.header = init.header;
    this.host = init.host;
    this.localWindow = init.localWindow;
    this.peerWindow = init.peerWindow;
    this.sendCredit = init.peerWindow;
    this.peerCredit = init.localWindow;
    this.grantThreshold = Math.min(32 * 1024, Math.floor(init.localWindow / 4));
  }

  /** Bytes received and not yet read by the consumer. Never exceeds the local window. */
  get bufferedInbound(): number {
    return this.readableLength + this.held.length;
  }
  /** Bytes accepted by write() that still wait for credit. */
  get pendingOutbound(): number {
    return this.pendingWrite ? this.pendingWrite.data.length - this.pendingWrite.offset : 0;
  }
  get availableSendCredit(): number {
    return this.sendCredit;
  }
  get bytesSent(): number {
    return this.sent;
  }
  get bytesReceived(): number {
    return this.received;
  }

  /** Abort the stream, telling the peer why (RESET). The local Duplex errors with the same reason. */
  reset(code: number = ResetCode.CANCEL, reason = 'reset by application'): void {
    this.resetWith(code, truncateReason(reason));
  }

  // ---- frames from the endpoint ----

  /** @internal */
  onData(data: Uint8Array): void {
    if (this.remoteEnded) {
      this.violate('DATA_AFTER_END', ResetCode.PROTOCOL_ERROR, 'DATA after END');
      return;
    }
    if (data.length > this.peerCredit) {
      this.violate('FLOW_CONTROL', ResetCode.FLOW_CONTROL_ERROR, `DATA of ${data.length} bytes exceeds granted credit ${this.peerCredit}`);
      return;
    }
    this.peerCredit -= data.length;
    this.received += data.length;
    const readerWaiting = this.readRequested || (!this.consumerPaused && this.readableLength === 0);
    if (readerWaiting && this.held.length === 0) {
      // Fast path: the consumer keeps up, hand the frame's bytes over without copying.
      this.readRequested = false;
      if (!this.push(data)) this.consumerPaused = true;
    } else {
      // The consumer is behind: coalesce into blocks until it asks for more (_read).
      this.held.append(data);
      if (this.readRequested) this.flushHeld();
    }
    this.grantCredit();
  }

  /** @internal */
  onCredit(increment: number): void {
    // An honest receiver never has more than its window outstanding, so neither can we.
    if (this.sendCredit + increment > this.peerWindow) {
      this.violate('FLOW_CONTROL', ResetCode.FLOW_CONTROL_ERROR, `credit beyond the peer's window of ${this.peerWindow}`);
      return;
    }
    this.sendCredit += increment;
    this.pump();
  }

  /** @internal */
  onEnd(): void {
    if (this.remoteEnded) {
      this.violate('DATA_AFTER_END', ResetCode.PROTOCOL_ERROR, 'duplicate END');
      return;
    }
    this.remoteEnded = true;
    if (this.held.length === 0) this.pushEof();
    this.detachIfDone();
  }

  /** @internal */
  onReset(code: number, message: string): void {
    this.detach();
    this.destroy(new StreamResetError(code, message, true));
  }

  /** @internal The tunnel is gone: fail without sending anything. */
  abortByTunnel(error: Error): void {
    this.detach();
    this.destroy(error);
  }

  // ---- Duplex implementation ----

  override _read(): void {
    this.consumerPaused = false;
    this.readRequested = true;
    this.flushHeld();
    this.grantCredit();
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    if (this.detached) {
      callback(new StreamResetError(ResetCode.CANCEL, 'stream already closed', false));
      return;
    }
    this.pendingWrite = { data: chunk, offset: 0, callback };
    this.pump();
  }

  /**
   * Several buffered writes (a corked stream, or writes queued behind flow control) leave as one
   * run of DATA frames instead of one frame per write: a proxy writing message by message would
   * otherwise send a transport message for every few bytes.
   */
  override _writev(chunks: { chunk: Buffer }[], callback: (error?: Error | null) => void): void {
    const data = chunks.length === 1 ? chunks[0]!.chunk : Buffer.concat(chunks.map((c) => c.chunk));
    this._write(data, 'binary', callback);
  }

  override _final(callback: (error?: Error | null) => void): void {
    if (!this.detached) {
      this.host.sendFrame({ type: 'END', streamId: this.id });
      this.localEnded = true;
      this.detachIfDone();
    }
    callback();
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    if (!this.detached) {
      // Destroyed locally before both directions ended: the peer must stop too.
      const reason = error ? `stream destroyed: ${error.message}` : 'stream destroyed';
      this.host.sendFrame({
        type: 'RESET',
        streamId: this.id,
        code: error ? ResetCode.INTERNAL : ResetCode.CANCEL,
        message: truncateReason(reason),
      });
      this.detach();
    }
    this.pendingWrite = null;
    callback(error);
  }

  // ---- internals ----

  private pump(): void {
    const pending = this.pendingWrite;
    if (pending === null) return;
    while (this.sendCredit > 0 && pending.offset < pending.data.length && !this.detached) {
      const n = Math.min(pending.data.length - pending.offset, this.sendCredit, MAX_FRAME_PAYLOAD);
      const data = pending.data.subarray(pending.offset, pending.offset + n);
      pending.offset += n;
      this.sendCredit -= n;
      this.sent += n;
      this.host.sendFrame({ type: 'DATA', streamId: this.id, data });
    }
    if (pending.offset === pending.data.length && this.pendingWrite === pending) {
      this.pendingWrite = null;
      pending.callback();
    }
  }

  private grantCredit(): void {
    if (this.consumerPaused || this.remoteEnded || this.detached) return;
    const grant = this.localWindow - this.bufferedInbound - this.peerCredit;
    if (grant < this.grantThreshold) return;
    this.peerCredit += grant;
    this.host.sendFrame({ type: 'CREDIT', streamId: this.id, increment: grant });
  }

  /** Push held blocks while the consumer wants them. Node calls _read again after any push. */
  private flushHeld(): void {
    for (let block = this.held.shift(); block !== undefined; block = this.held.shift()) {
      this.readRequested = false;
      if (!this.push(block)) {
        this.consumerPaused = true;
        break;
      }
    }
    if (this.remoteEnded && this.held.length === 0) this.pushEof();
  }

  private pushEof(): void {
    if (this.eofPushed) return;
    this.eofPushed = true;
    this.push(null);
  }

  private violate(kind: ViolationKind, code: number, detail: string): void {
    this.host.violation(kind, this.id, detail);
    this.resetWith(code, detail);
  }

  private resetWith(code: number, reason: string): void {
    if (this.detached) return;
    this.host.sendFrame({ type: 'RESET', streamId: this.id, code, message: reason });
    this.detach();
    this.destroy(new StreamResetError(code, reason, false));
  }

  private detachIfDone(): void {
    if (this.localEnded && this.remoteEnded) this.detach();
  }

  private detach(): void {
    if (this.detached) return;
    this.detached = true;
    this.host.streamClosed(this);
  }
}
