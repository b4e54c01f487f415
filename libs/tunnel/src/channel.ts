import { ByteAccumulator } from './byte-accumulator.js';
import { ResetCode, StreamResetError } from './codes.js';
import { truncateReason } from './codec.js';
import type { StreamFrame } from './frame.js';
import { MAX_FRAME_PAYLOAD } from './limits.js';
import type { StreamOpenHeader } from './open-header.js';
import type { ViolationKind } from './stats.js';

/** What a channel needs from the endpoint that owns it. */
export interface ChannelHost {
  sendFrame(frame: StreamFrame): void;
  channelClosed(channel: TunnelChannel): void;
  violation(kind: ViolationKind, streamId: number, detail: string): void;
}

export interface TunnelChannelInit {
  id: number;
  header: StreamOpenHeader;
  /** Our receive window: the most the peer may have in flight to us. */
  localWindow: number;
  /** The peer's receive window, as it announced in OPEN / OPEN_OK. */
  peerWindow: number;
  host: ChannelHost;
}

/** Callbacks of the channel's user. Bytes are handed over in order; nothing is delivered before attach(). */
export interface ChannelHandlers {
  /** Bytes from the peer. Call pause() (even from here) to stop delivery; they are held meanwhile. */
  data(bytes: Uint8Array): void;
  /** The peer ended its side: no more data. */
  end(): void;
  /** Everything queued has left (called once after a send() that returned false). */
  drain(): void;
  /** Reset by the peer, by a protocol violation, or the tunnel closed. Not called after destroy(). */
  close(error: Error): void;
}

export interface AttachOptions {
  /** Bytes the user has received and still buffers: counted against the window like held bytes. */
  buffered?: () => number;
}

/**
 * One multiplexed stream as a callback core: send bytes, receive bytes, credit. No Node stream
 * machinery: a relay uses it directly (one call per chunk each way); `TunnelStream` adapts it to a
 * Duplex for the libraries that need one (ssh2, pipes).
 *
 * Flow control is per stream and credit based:
 * - we never send more DATA than the peer granted; the rest is queued, and send() says so (false)
 *   until the queue has left (drain);
 * - we grant credit back only while the user is not paused, keeping
 *   (bytes held here + bytes the user buffers + credit the peer still holds) <= our window.
 */
export class TunnelChannel {
  readonly id: number;
  readonly header: StreamOpenHeader;

  private readonly host: ChannelHost;
  private readonly localWindow: number;
  private readonly peerWindow: number;
  /** Credits are only sent once this many bytes can be granted, to avoid a CREDIT per read. */
  private readonly grantThreshold: number;

  private handlers: ChannelHandlers | undefined;
  private lateClose: Error | undefined;
  private userBuffered: () => number = () => 0;
  private paused = true;
  private readonly held = new ByteAccumulator();

  private sendCredit: number;
  private peerCredit: number;
  private readonly queue: Uint8Array[] = [];
  private queueOffset = 0;
  private queued = 0;
  private waitingDrain = false;

  private localEnded = false;
  private endPending = false;
  private endSent = false;
  private remoteEnded = false;
  private endDelivered = false;
  private isDetached = false;

  private sent = 0;
  private received = 0;

  constructor(init: TunnelChannelInit) {
    this.id = init.id;
    this.header = init.header;
    this.host = init.host;
    this.localWindow = init.localWindow;
    this.peerWindow = init.peerWindow;
    this.sendCredit = init.peerWindow;
    this.peerCredit = init.localWindow;
    this.grantThreshold = Math.min(32 * 1024, Math.floor(init.localWindow / 4));
  }

  /** No more frames go out for this stream and the endpoint has forgotten it. */
  get detached(): boolean {
    return this.isDetached;
  }
  /** Bytes received and held here (not yet delivered). Never exceeds the local window. */
  get heldBytes(): number {
    return this.held.length;
  }
  /** Bytes accepted by send() that wait for credit. */
  get queuedBytes(): number {
    return this.queued;
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

  /** Starts delivery to `handlers` (bytes that arrived before are delivered first). */
  attach(handlers: ChannelHandlers, options: AttachOptions = {}): void {
    if (this.handlers) throw new Error(`channel ${this.id} already has a user`);
    this.handlers = handlers;
    if (options.buffered) this.userBuffered = options.buffered;
    this.resume();
    if (this.lateClose) handlers.close(this.lateClose);
  }

  /**
   * Sends bytes, as far as the peer's credit allows now; the rest is queued in order. Returns false
   * when something is queued: `drain` follows once it has left. Bytes sent after end() or once the
   * channel is gone are dropped (the peer is not listening any more).
   */
  send(bytes: Uint8Array): boolean {
    if (this.isDetached || this.localEnded || bytes.length === 0) return this.queued === 0;
    if (this.queued === 0) {
      const sent = this.sendNow(bytes, 0);
      if (sent === bytes.length) return true;
      this.queue.push(bytes);
      this.queueOffset = sent;
      this.queued = bytes.length - sent;
    } else {
      this.queue.push(bytes);
      this.queued += bytes.length;
    }
    this.waitingDrain = true;
    return false;
  }

  /** Ends our side once everything queued has left (END). */
  end(): void {
    if (this.localEnded || this.isDetached) return;
    this.localEnded = true;
    if (this.queued === 0) this.sendEnd();
    else this.endPending = true;
  }

  /** Stops delivering bytes (they are held, and no credit is granted) until resume(). */
  pause(): void {
    this.paused = true;
  }

  /** Delivers what is held, then grants the credit the window allows. */
  resume(): void {
    if (!this.handlers) return;
    this.paused = false;
    while (!this.paused && this.held.length > 0) this.handlers.data(this.held.shift()!);
    if (!this.paused && this.remoteEnded && this.held.length === 0) this.deliverEnd();
    this.grantCredit();
  }

  /** Aborts the stream, telling the peer why (RESET); the user's close() gets the same reason. */
  reset(code: number = ResetCode.CANCEL, reason = 'reset by application'): void {
    this.resetWith(code, truncateReason(reason), false);
  }

  /** Local end of the stream by its user: the peer gets a RESET unless both sides already ended. No close() callback. */
  destroy(error?: Error): void {
    this.queue.length = 0;
    this.queued = 0;
    if (this.isDetached) return;
    const reason = error ? `stream destroyed: ${error.message}` : 'stream destroyed';
    this.host.sendFrame({ type: 'RESET', streamId: this.id, code: error ? ResetCode.INTERNAL : ResetCode.CANCEL, message: truncateReason(reason) });
    this.detach();
  }

  /**
   * The user's own code failed while handling this channel's bytes (a listener threw): the peer gets a
   * RESET and the user's close() the error. Other channels are not affected.
   */
  fail(error: Error): void {
    if (this.isDetached) return;
    this.host.sendFrame({ type: 'RESET', streamId: this.id, code: ResetCode.INTERNAL, message: truncateReason(`stream failed: ${error.message}`) });
    this.detach();
    this.closeWith(error);
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
    // Fast path: the user keeps up, hand the frame's bytes over without copying.
    if (!this.paused && this.held.length === 0) this.handlers!.data(data);
    else this.held.append(data);
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
    if (!this.paused && this.held.length === 0) this.deliverEnd();
    this.detachIfDone();
  }

  /** @internal */
  onReset(code: number, message: string): void {
    if (this.isDetached) return;
    this.detach();
    this.closeWith(new StreamResetError(code, message, true));
  }

  /** @internal The tunnel is gone: fail without sending anything. */
  abortByTunnel(error: Error): void {
    if (this.isDetached) return;
    this.detach();
    this.closeWith(error);
  }

  // ---- internals ----

  private sendNow(bytes: Uint8Array, offset: number): number {
    let at = offset;
    while (this.sendCredit > 0 && at < bytes.length && !this.isDetached) {
      const n = Math.min(bytes.length - at, this.sendCredit, MAX_FRAME_PAYLOAD);
      this.sendCredit -= n;
      this.sent += n;
      this.host.sendFrame({ type: 'DATA', streamId: this.id, data: bytes.subarray(at, at + n) });
      at += n;
    }
    return at - offset;
  }

  private pump(): void {
    while (this.queue.length > 0 && this.sendCredit > 0 && !this.isDetached) {
      const head = this.queue[0]!;
      const sent = this.sendNow(head, this.queueOffset);
      this.queueOffset += sent;
      this.queued -= sent;
      if (this.queueOffset < head.length) break;
      this.queue.shift();
      this.queueOffset = 0;
    }
    if (this.queued > 0 || this.isDetached) return;
    if (this.endPending) {
      this.endPending = false;
      this.sendEnd();
    }
    if (this.waitingDrain) {
      this.waitingDrain = false;
      this.handlers?.drain();
    }
  }

  private sendEnd(): void {
    if (this.endSent || this.isDetached) return;
    this.endSent = true;
    this.host.sendFrame({ type: 'END', streamId: this.id });
    this.detachIfDone();
  }

  private deliverEnd(): void {
    if (this.endDelivered) return;
    this.endDelivered = true;
    this.handlers!.end();
  }

  private grantCredit(): void {
    if (this.paused || this.remoteEnded || this.isDetached) return;
    const grant = this.localWindow - this.held.length - this.userBuffered() - this.peerCredit;
    if (grant < this.grantThreshold) return;
    this.peerCredit += grant;
    this.host.sendFrame({ type: 'CREDIT', streamId: this.id, increment: grant });
  }

  private violate(kind: ViolationKind, code: number, detail: string): void {
    this.host.violation(kind, this.id, detail);
    this.resetWith(code, detail, false);
  }

  private resetWith(code: number, reason: string, remote: boolean): void {
    if (this.isDetached) return;
    this.host.sendFrame({ type: 'RESET', streamId: this.id, code, message: reason });
    this.detach();
    this.closeWith(new StreamResetError(code, reason, remote));
  }

  /** Tells the user; a close before anyone attached (answered and reset in one batch) waits for attach(). */
  private closeWith(error: Error): void {
    if (this.handlers) this.handlers.close(error);
    else this.lateClose = error;
  }

  private detachIfDone(): void {
    if (this.endSent && this.remoteEnded) this.detach();
  }

  private detach(): void {
    if (this.isDetached) return;
    this.isDetached = true;
    this.host.channelClosed(this);
  }
}
