import { TunnelEndpoint } from './endpoint.js';
import type { TunnelEndpointOptions } from './endpoint-options.js';
import { FrameCoalescer } from './frame-batch.js';

/** What the link needs of a socket.io socket (server or client side). */
export interface FrameSocket {
  emit(event: string, ...args: unknown[]): unknown;
  on(event: string, listener: (payload: unknown) => void): unknown;
  off(event: string, listener: (payload: unknown) => void): unknown;
}

export interface SocketIoTunnelLinkOptions extends Omit<TunnelEndpointOptions, 'send'> {
  /** Event names: one frame, and frames back to back (see frame-batch.ts). */
  events: { frame: string; frames: string };
  /** The peer said it accepts frame batches: send one event per event-loop turn from the start. */
  batches?: boolean;
}

/** socket.io hands binary payloads over as Buffer (Node) or ArrayBuffer; anything else is not a frame. */
function asBytes(payload: unknown): Uint8Array | undefined {
  if (payload instanceof Uint8Array) return payload;
  if (payload instanceof ArrayBuffer) return new Uint8Array(payload);
  return undefined;
}

/**
 * The one place where a tunnel endpoint meets socket.io, for both ends: frames go out as one `fs`
 * event per event-loop turn once the peer accepts batches (one `f` per frame before that), and come
 * in from both events. A payload that is not binary is a broken peer: the tunnel closes.
 */
export class SocketIoTunnelLink {
  readonly endpoint: TunnelEndpoint;
  private coalescer: FrameCoalescer | undefined;
  private readonly onFrame = (payload: unknown): void => this.receive(payload, false);
  private readonly onFrames = (payload: unknown): void => this.receive(payload, true);

  constructor(
    private readonly socket: FrameSocket,
    private readonly options: SocketIoTunnelLinkOptions,
  ) {
    const { events, batches, onClose, ...endpointOptions } = options;
    this.endpoint = new TunnelEndpoint({
      ...endpointOptions,
      send: (frame) => {
        if (this.coalescer) this.coalescer.send(frame);
        else socket.emit(events.frame, frame);
      },
      onClose: (error) => {
        this.coalescer?.discard();
        onClose?.(error);
      },
    });
    if (batches) this.enableBatches();
    socket.on(events.frame, this.onFrame);
    socket.on(events.frames, this.onFrames);
  }

  /** From now on, the frames of one event-loop turn leave as one `frames` event. */
  enableBatches(): void {
    if (this.coalescer) return;
    const side = this.options.role === 'control-plane' ? 'cp' : 'agent';
    this.coalescer = new FrameCoalescer((batch) => this.socket.emit(this.options.events.frames, batch), {
      onError: (error) => this.endpoint.close(`transport send failed: ${error instanceof Error ? error.message : String(error)}`),
      hopPoint: `${side}.flush`,
    });
  }

  /** Closes the tunnel and stops listening to the socket (which may carry a new link later). */
  close(reason: string): void {
    this.socket.off(this.options.events.frame, this.onFrame);
    this.socket.off(this.options.events.frames, this.onFrames);
    this.endpoint.close(reason);
    this.coalescer?.discard();
  }

  private receive(payload: unknown, batch: boolean): void {
    const bytes = asBytes(payload);
    if (!bytes) {
      this.endpoint.close(`non-binary tunnel ${batch ? 'frame batch' : 'frame'} from the peer`);
      return;
    }
    if (batch) this.endpoint.receiveBatch(bytes);
    else this.endpoint.receive(bytes);
  }
}
