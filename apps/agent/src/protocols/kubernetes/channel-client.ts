import { EventEmitter } from 'node:events';
import { WebSocket, type RawData } from 'ws';

/** Bytes queued towards a client past which the relay stops reading the API server, and below which it reads again. */
export const CLIENT_HIGH_WATER = 1024 * 1024;
export const CLIENT_LOW_WATER = 256 * 1024;

/**
 * The client's end of exec, attach or port-forward as the relay sees it: messages whose first
 * byte is the channel (the WebSocket channel protocol, v4.channel.k8s.io and v5). A WebSocket
 * client is one as it is; a SPDY client's streams are turned into the same messages.
 *
 * Events: `message` (data: Buffer, isBinary: boolean), `close` (code: number, reason: string), `error` (Error),
 * `drain` (what was queued towards the client went out, after `congested` was true).
 */
export interface ChannelClient extends EventEmitter {
  /** The protocol the client speaks (recorded). */
  readonly protocol: string;
  readonly isOpen: boolean;
  send(message: Buffer, isBinary?: boolean): void;
  close(code: number, reason?: string): void;
  terminate(): void;
  /** The relay listens now: messages held until here (a SPDY client's early stdin or data) flow. */
  start(): void;
  /** More than CLIENT_HIGH_WATER waits to go out to the client: stop feeding it until `drain`. */
  readonly congested: boolean;
  /** Backpressure from the API server's side: stop reading the client, and start again. */
  pauseReading(): void;
  resumeReading(): void;
}

/** A WebSocket client as a ChannelClient. */
export class WebSocketChannelClient extends EventEmitter implements ChannelClient {
  private wasCongested = false;

  constructor(private readonly ws: WebSocket) {
    super();
    ws.on('message', (data: RawData, isBinary: boolean) => {
      this.emit('message', Buffer.isBuffer(data) ? data : Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data), isBinary);
    });
    ws.on('close', (code: number, reason: Buffer) => this.emit('close', code, reason.toString()));
    ws.on('error', (error: Error) => this.emit('error', error));
  }

  get protocol(): string {
    return this.ws.protocol;
  }

  get isOpen(): boolean {
    return this.ws.readyState === WebSocket.OPEN;
  }

  get congested(): boolean {
    if (this.ws.bufferedAmount > CLIENT_HIGH_WATER) this.wasCongested = true;
    return this.wasCongested;
  }

  send(message: Buffer, isBinary = true): void {
    this.ws.send(message, { binary: isBinary }, () => {
      if (this.wasCongested && this.ws.bufferedAmount < CLIENT_LOW_WATER) {
        this.wasCongested = false;
        this.emit('drain');
      }
    });
  }

  pauseReading(): void {
    this.ws.pause();
  }

  resumeReading(): void {
    this.ws.resume();
  }

  close(code: number, reason?: string): void {
    this.ws.close(code, reason);
  }

  terminate(): void {
    this.ws.terminate();
  }

  start(): void {
    // Messages flow as they come (a paused WebSocket would not notice the client leaving during a hold).
  }
}
