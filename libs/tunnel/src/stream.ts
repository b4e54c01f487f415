import { Duplex } from 'node:stream';
import type { TunnelChannel } from './channel.js';
import { ResetCode, StreamResetError } from './codes.js';
import { MAX_FRAME_PAYLOAD } from './limits.js';
import type { StreamOpenHeader } from './open-header.js';

/**
 * A tunnel channel as a Node Duplex, for the libraries that need a stream (ssh2, pipes to sockets).
 * The channel does the flow control; this adds Node's backpressure on top:
 * - a write's callback waits until the channel has sent the bytes (credit), so `write()` returns
 *   false while the peer is not reading;
 * - `push()` returning false pauses the channel (no credit is granted) until Node asks to read.
 */
export class TunnelStream extends Duplex {
  private pendingCallback: ((error?: Error | null) => void) | undefined;
  /** Node asked for bytes (_read) and none were pushed since. */
  private readRequested = false;

  constructor(readonly channel: TunnelChannel) {
    super({ allowHalfOpen: true, readableHighWaterMark: MAX_FRAME_PAYLOAD, writableHighWaterMark: MAX_FRAME_PAYLOAD });
    channel.attach(
      {
        data: (bytes) => {
          this.readRequested = false;
          if (!this.push(bytes)) channel.pause();
          // Not flowing and not asked for more: later bytes are held (and coalesced) in the channel
          // until Node reads, instead of one buffered object per frame here.
          else if (this.readableLength > 0 && !this.readRequested) channel.pause();
        },
        end: () => this.push(null),
        drain: () => {
          const callback = this.pendingCallback;
          this.pendingCallback = undefined;
          callback?.();
        },
        close: (error) => this.destroy(error),
      },
      { buffered: () => this.readableLength },
    );
  }

  get id(): number {
    return this.channel.id;
  }
  get header(): StreamOpenHeader {
    return this.channel.header;
  }
  /** Bytes received and not yet read by the consumer. Never exceeds the local window. */
  get bufferedInbound(): number {
    return this.readableLength + this.channel.heldBytes;
  }
  /** Bytes accepted by write() that still wait for credit. */
  get pendingOutbound(): number {
    return this.channel.queuedBytes;
  }
  get availableSendCredit(): number {
    return this.channel.availableSendCredit;
  }
  get bytesSent(): number {
    return this.channel.bytesSent;
  }
  get bytesReceived(): number {
    return this.channel.bytesReceived;
  }

  /** Abort the stream, telling the peer why (RESET). The local Duplex errors with the same reason. */
  reset(code: number = ResetCode.CANCEL, reason = 'reset by application'): void {
    this.channel.reset(code, reason);
  }

  override _read(): void {
    this.readRequested = true;
    this.channel.resume();
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    if (this.channel.detached) {
      callback(new StreamResetError(ResetCode.CANCEL, 'stream already closed', false));
      return;
    }
    if (this.channel.send(chunk)) callback();
    else this.pendingCallback = callback;
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
    this.channel.end();
    callback();
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    this.channel.destroy(error ?? undefined);
    this.pendingCallback = undefined;
    callback(error);
  }
}
