import { FrameError } from './errors.js';
import { FRAME_TYPE_BYTE } from './frame.js';
import { hopMark, hopTraceOn } from './hop-trace.js';
import { FRAME_HEADER_SIZE, MAX_FRAME_PAYLOAD } from './limits.js';

/*
 * A frame batch is several encoded frames back to back in one transport message. Frames are
 * self-delimiting (the header carries the payload length), so a batch needs no envelope of its own:
 * the split only reads each header's length and hands every frame, whole, to the normal decoder.
 *
 * Why: a proxied request/response protocol produces a few small frames per round trip per stream
 * (DATA, sometimes CREDIT), and with many streams the transport's per-message cost (socket.io packet
 * encoding, a WebSocket message, a socket write) dominates. One message per event-loop turn carries
 * all the frames that turn produced.
 */

/** Default upper bound of one batch; well under the 2 MiB socket.io message cap of the apps. */
export const DEFAULT_MAX_BATCH_BYTES = 1024 * 1024;

/**
 * Splits a batch into its frames (views, no copies). Throws FrameError when the bytes do not split
 * exactly into frames of legal size: a truncated header, a declared payload beyond the 64 KiB limit
 * or beyond the end of the batch, or an empty batch.
 */
export function splitFrameBatch(batch: Uint8Array): Uint8Array[] {
  if (batch.length === 0) throw new FrameError('TOO_SHORT', 'empty frame batch');
  const view = new DataView(batch.buffer, batch.byteOffset, batch.byteLength);
  const frames: Uint8Array[] = [];
  let offset = 0;
  while (offset < batch.length) {
    if (batch.length - offset < FRAME_HEADER_SIZE) {
      throw new FrameError('TOO_SHORT', `frame batch ends inside a frame header at byte ${offset}`);
    }
    const declared = view.getUint32(offset + 6);
    if (declared > MAX_FRAME_PAYLOAD) {
      throw new FrameError('TOO_LARGE', `batched frame declares ${declared} payload bytes, more than ${MAX_FRAME_PAYLOAD}`);
    }
    const end = offset + FRAME_HEADER_SIZE + declared;
    if (end > batch.length) throw new FrameError('TOO_SHORT', `batched frame at byte ${offset} runs past the end of the batch`);
    frames.push(batch.subarray(offset, end));
    offset = end;
  }
  return frames;
}

/** Coalescers holding frames not sent yet, for flushPendingFrameBatches. */
const pendingCoalescers = new Set<FrameCoalescer>();

/**
 * Sends every queued batch now instead of on its setImmediate. For work that ends inside a
 * setImmediate callback of its own (the agent's journal flush releases held answers there): frames
 * queued then would otherwise wait one more event-loop iteration, since an immediate queued from an
 * immediate runs in the next one.
 */
export function flushPendingFrameBatches(): void {
  for (const coalescer of [...pendingCoalescers]) coalescer.flushNow();
}

/**
 * Collects the frames sent during one event-loop turn and hands them to the transport as one batch
 * (on setImmediate, or earlier when the batch would grow past `maxBytes`). Order is kept.
 */
export class FrameCoalescer {
  private frames: Uint8Array[] = [];
  private bytes = 0;
  private scheduled: NodeJS.Immediate | undefined;
  private readonly maxBytes: number;

  private readonly onError: ((error: unknown) => void) | undefined;
  private readonly hopPoint: string | undefined;

  constructor(
    private readonly sendBatch: (batch: Uint8Array) => void,
    /**
     * `onError` receives what the transport throws during a scheduled flush (e.g. close the tunnel);
     * `hopPoint` names this coalescer's flush in the benchmark's hop trace.
     */
    options: { maxBytes?: number; onError?: (error: unknown) => void; hopPoint?: string } = {},
  ) {
    this.maxBytes = options.maxBytes ?? DEFAULT_MAX_BATCH_BYTES;
    this.onError = options.onError;
    this.hopPoint = options.hopPoint;
    if (this.maxBytes < FRAME_HEADER_SIZE + MAX_FRAME_PAYLOAD) {
      throw new RangeError('a frame batch must be able to hold one full frame');
    }
  }

  /** Queues one encoded frame (the TunnelEndpoint `send` option). */
  readonly send = (frame: Uint8Array): void => {
    if (this.bytes + frame.length > this.maxBytes) this.flush();
    this.frames.push(frame);
    this.bytes += frame.length;
    if (!this.scheduled) {
      this.scheduled = setImmediate(this.flushScheduled);
      pendingCoalescers.add(this);
    }
  };

  /** As the scheduled flush: errors of the transport go to `onError`. */
  flushNow(): void {
    this.flushScheduled();
  }

  private readonly flushScheduled = (): void => {
    try {
      this.flush();
    } catch (error) {
      if (!this.onError) throw error;
      this.onError(error);
    }
  };

  /** Sends what is queued now. Errors of the transport propagate to the caller. */
  readonly flush = (): void => {
    if (this.scheduled) clearImmediate(this.scheduled);
    this.scheduled = undefined;
    pendingCoalescers.delete(this);
    if (this.frames.length === 0) return;
    const frames = this.frames;
    const bytes = this.bytes;
    this.frames = [];
    this.bytes = 0;
    this.sendBatch(frames.length === 1 ? frames[0]! : Buffer.concat(frames, bytes));
    if (this.hopPoint !== undefined && hopTraceOn()) this.markFlushed(frames, this.hopPoint);
  };

  private markFlushed(frames: readonly Uint8Array[], point: string): void {
    for (const frame of frames) {
      if (frame[1] !== FRAME_TYPE_BYTE.DATA) continue;
      hopMark(point, new DataView(frame.buffer, frame.byteOffset, frame.byteLength).getUint32(2));
    }
  }

  /** Drops what is queued (the transport is gone). */
  discard(): void {
    if (this.scheduled) clearImmediate(this.scheduled);
    this.scheduled = undefined;
    pendingCoalescers.delete(this);
    this.frames = [];
    this.bytes = 0;
  }
}
