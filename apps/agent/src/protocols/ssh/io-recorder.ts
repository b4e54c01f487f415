import { StringDecoder } from 'node:string_decoder';
import type { SessionRecorder } from '../../recording/recording-shipper.js';

/** One asciicast-style frame: seconds since the channel started, kind, data. */
export type IoFrame = [number, 'o' | 'e' | 'i' | 'r', string];

/** Frames are written as one `ssh.io` event when this much text is buffered or this much time passed. */
const FLUSH_BYTES = 16 * 1024;
const FLUSH_MS = 50;

/**
 * Records a channel's terminal or exec I/O as `ssh.io` events of timed frames (output, stderr, input,
 * resize). Batching keeps a busy terminal from costing one spool fsync per chunk; each frame keeps its
 * own timestamp, so the replay keeps the original timing. Text is decoded as UTF-8 per direction so a
 * character split across chunks stays whole. Beyond `limitBytes` of output, the bytes are counted,
 * not kept, and `ssh.io.truncated` says how many.
 */
export class IoRecorder {
  private readonly started = process.hrtime.bigint();
  private readonly decoders = { o: new StringDecoder('utf8'), e: new StringDecoder('utf8'), i: new StringDecoder('utf8') };
  private frames: IoFrame[] = [];
  private bufferedBytes = 0;
  private timer: NodeJS.Timeout | undefined;
  private recordedBytes = 0;
  private droppedBytes = 0;
  private closed = false;

  constructor(
    private readonly recorder: SessionRecorder,
    private readonly channel: number,
    private readonly limitBytes: number,
  ) {}

  private now(): number {
    return Math.round(Number(process.hrtime.bigint() - this.started) / 1000) / 1e6;
  }

  data(kind: 'o' | 'e' | 'i', chunk: Buffer): void {
    if (this.closed) return;
    if (this.recordedBytes + chunk.length > this.limitBytes) {
      this.droppedBytes += chunk.length;
      return;
    }
    this.recordedBytes += chunk.length;
    const text = this.decoders[kind].write(chunk);
    if (text !== '') this.push([this.now(), kind, text], chunk.length);
  }

  resize(cols: number, rows: number): void {
    if (!this.closed) this.push([this.now(), 'r', `${cols}x${rows}`], 8);
  }

  /** Writes what is buffered and stops recording this channel. */
  close(): void {
    if (this.closed) return;
    for (const kind of ['o', 'e', 'i'] as const) {
      const rest = this.decoders[kind].end();
      if (rest !== '') this.frames.push([this.now(), kind, rest]);
    }
    this.flush();
    this.closed = true;
    if (this.droppedBytes > 0) this.recorder.record('ssh.io.truncated', { channel: this.channel, droppedBytes: this.droppedBytes, limitBytes: this.limitBytes });
  }

  private push(frame: IoFrame, bytes: number): void {
    this.frames.push(frame);
    this.bufferedBytes += bytes;
    if (this.bufferedBytes >= FLUSH_BYTES) this.flush();
    else if (!this.timer) {
      this.timer = setTimeout(() => this.flush(), FLUSH_MS);
      this.timer.unref();
    }
  }

  private flush(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    if (this.frames.length === 0) return;
    this.recorder.record('ssh.io', { channel: this.channel, frames: this.frames });
    this.frames = [];
    this.bufferedBytes = 0;
  }
}
