import { EventEmitter } from 'node:events';
import type { TunnelChannel } from './channel.js';
import { ResetCode } from './codes.js';
import type { StreamOpenHeader } from './open-header.js';

/**
 * A tunnel channel with the few socket-like calls a protocol wing makes (`on('data')`, `write`,
 * `cork`/`uncork`, `pause`/`resume`, `end`, `destroy`, `'drain'`), without Node's stream machinery:
 * a chunk from the peer is one `'data'` event, a write is one `send`. For code that relays or parses
 * bytes itself (the Postgres and MySQL wings, the TCP relay); `TunnelStream` stays for libraries that
 * need a real Duplex (ssh2, `pipeline`).
 *
 * Events, as a Node socket would emit them: `'data'` (Buffer), `'end'` (the peer ended), `'drain'`
 * (a write that returned false has left), `'error'` then `'close'` (reset by the peer or the tunnel
 * lost, or `destroy(error)`), and `'close'` alone once both sides ended or on `destroy()`.
 *
 * Like a socket it starts paused and flows once a `'data'` listener is added, unless `pause()` was
 * called; bytes that arrive meanwhile wait in the channel (no credit is granted for them).
 */
export class ChannelSocket extends EventEmitter {
  private attached = false;
  private explicitlyPaused = false;
  private corks = 0;
  private corked: Uint8Array[] = [];
  private ended = false;
  private remoteEnded = false;
  private closed = false;

  constructor(readonly channel: TunnelChannel) {
    super();
  }

  get id(): number {
    return this.channel.id;
  }
  get header(): StreamOpenHeader {
    return this.channel.header;
  }
  get destroyed(): boolean {
    return this.closed;
  }
  get writableEnded(): boolean {
    return this.ended;
  }
  /** The peer ended its side (END received and delivered). */
  get readableEnded(): boolean {
    return this.remoteEnded;
  }
  /** Bytes written that still wait for the peer's credit. */
  get pendingOutbound(): number {
    return this.channel.queuedBytes;
  }
  get bytesSent(): number {
    return this.channel.bytesSent;
  }
  get bytesReceived(): number {
    return this.channel.bytesReceived;
  }

  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- the signature EventEmitter.on declares
  override on(event: string | symbol, listener: (...args: any[]) => void): this {
    super.on(event, listener);
    if (event === 'data' && !this.explicitlyPaused) this.resume();
    return this;
  }

  /** Sends bytes (held while corked); false when they wait for the peer's credit: `'drain'` follows. */
  write(bytes: Uint8Array): boolean {
    if (this.closed || this.ended) return false;
    if (this.corks > 0) {
      this.corked.push(bytes);
      return true;
    }
    return this.channel.send(bytes);
  }

  /** Writes until uncork() leave as one DATA run (one frame when they fit), not a frame each. */
  cork(): void {
    this.corks += 1;
  }

  uncork(): void {
    if (this.corks === 0 || --this.corks > 0 || this.corked.length === 0) return;
    const chunks = this.corked;
    this.corked = [];
    if (!this.closed && !this.ended) this.channel.send(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks));
  }

  pause(): void {
    this.explicitlyPaused = true;
    if (this.attached) this.channel.pause();
  }

  resume(): void {
    this.explicitlyPaused = false;
    if (this.closed) return;
    if (!this.attached) return this.attach();
    this.channel.resume();
  }

  /** Ends our side once everything written has left (optionally writing `bytes` first). */
  end(bytes?: Uint8Array): void {
    if (this.closed || this.ended) return;
    if (bytes) this.write(bytes);
    this.corks = 1;
    this.uncork();
    this.ended = true;
    this.channel.end();
    this.closeIfDone();
  }

  /** Aborts the stream, telling the peer why (RESET); emits `'error'` and `'close'` with that reason. */
  reset(code: number = ResetCode.CANCEL, reason = 'reset by application'): void {
    if (!this.attached) this.attach();
    this.channel.reset(code, reason);
  }

  /** Closes at once (the peer gets a RESET unless both sides had ended). */
  destroy(error?: Error): void {
    if (this.closed) return;
    this.closed = true;
    this.channel.destroy(error);
    if (error) this.emit('error', error);
    this.emit('close');
  }

  private attach(): void {
    this.attached = true;
    this.channel.attach({
      data: (bytes) => this.emit('data', Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)),
      end: () => {
        this.remoteEnded = true;
        this.emit('end');
        this.closeIfDone();
      },
      drain: () => this.emit('drain'),
      close: (error) => {
        if (this.closed) return;
        this.closed = true;
        this.emit('error', error);
        this.emit('close');
      },
    });
  }

  private closeIfDone(): void {
    if (!this.ended || !this.remoteEnded || this.closed) return;
    this.closed = true;
    this.emit('close');
  }
}
