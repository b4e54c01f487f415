import { StringDecoder } from 'node:string_decoder';
import { StreamMasker, type Masker } from '@gw/masking';
import type { SessionRecorder } from '../../recording/recording-shipper.js';

/** One asciicast-style frame: seconds since the channel started, kind, data. */
export type IoFrame = [number, 'o' | 'e' | 'i' | 'r', string];

type Direction = 'o' | 'e' | 'i';
const DIRECTIONS: readonly Direction[] = ['o', 'e', 'i'];

/** Frames are written as one `ssh.io` event when this much text is buffered or this much time passed. */
const FLUSH_BYTES = 16 * 1024;
const FLUSH_MS = 50;

/**
 * Records a channel's terminal or exec I/O as `ssh.io` events of timed frames (output, stderr, input,
 * resize). Batching keeps a busy terminal from costing one spool fsync per chunk; each frame keeps its
 * own timestamp, so the replay keeps the original timing. Text is decoded as UTF-8 per direction so a
 * character split across chunks stays whole. Beyond `limitBytes` of output, the bytes are counted,
 * not kept, and `ssh.io.truncated` says how many.
 *
 * With a masker (the channel's masking obligations), each direction's text goes through a
 * StreamMasker: a value split across chunks is masked whole, and the recording holds back a
 * direction's current line (at most STREAM_CARRY_CHARS) until it is complete. Frames are written in
 * time order: a flush stops at the oldest frame still held back. Only the recording is masked; the
 * client and the target see the real bytes.
 */
export class IoRecorder {
  private readonly started = process.hrtime.bigint();
  private readonly decoders = { o: new StringDecoder('utf8'), e: new StringDecoder('utf8'), i: new StringDecoder('utf8') };
  private readonly streams: Record<Direction, StreamMasker<number>> | undefined;
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
    masker?: Masker,
  ) {
    this.streams = masker?.scansEntities
      ? { o: new StreamMasker(masker), e: new StreamMasker(masker), i: new StreamMasker(masker) }
      : undefined;
  }

  private now(): number {
    return Math.round(Number(process.hrtime.bigint() - this.started) / 1000) / 1e6;
  }

  data(kind: Direction, chunk: Buffer): void {
    if (this.closed) return;
    if (this.recordedBytes + chunk.length > this.limitBytes) {
      this.droppedBytes += chunk.length;
      return;
    }
    this.recordedBytes += chunk.length;
    const text = this.decoders[kind].write(chunk);
    if (text !== '') this.push(kind, this.now(), text, chunk.length);
  }

  resize(cols: number, rows: number): void {
    if (this.closed) return;
    this.frames.push([this.now(), 'r', `${cols}x${rows}`]);
    this.buffered(8);
  }

  /** Writes what is buffered and stops recording this channel. */
  close(): void {
    if (this.closed) return;
    for (const kind of DIRECTIONS) {
      const rest = this.decoders[kind].end();
      if (rest !== '') this.push(kind, this.now(), rest, 0);
      for (const [t, text] of this.streams?.[kind].end() ?? []) this.frames.push([t, kind, text]);
    }
    this.flush(true);
    this.closed = true;
    if (this.droppedBytes > 0) this.recorder.record('ssh.io.truncated', { channel: this.channel, droppedBytes: this.droppedBytes, limitBytes: this.limitBytes });
  }

  private push(kind: Direction, time: number, text: string, bytes: number): void {
    const stream = this.streams?.[kind];
    if (!stream) this.frames.push([time, kind, text]);
    else for (const [t, masked] of stream.write(text, time)) this.frames.push([t, kind, masked]);
    this.buffered(bytes);
  }

  private buffered(bytes: number): void {
    this.bufferedBytes += bytes;
    if (this.bufferedBytes >= FLUSH_BYTES) this.flush(true);
    else if (!this.timer) {
      this.timer = setTimeout(() => this.flush(false), FLUSH_MS);
      this.timer.unref();
    }
  }

  /**
   * Writes the buffered frames in time order. Unless `all`, frames from the oldest text still held
   * back by a masker on are kept for a later flush, so that events never go back in time.
   */
  private flush(all: boolean): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    if (this.frames.length === 0) return;
    let ready = this.frames;
    let kept: IoFrame[] = [];
    if (this.streams) {
      ready = [...this.frames].sort((a, b) => a[0] - b[0]);
      if (!all) {
        const held = DIRECTIONS.map((d) => this.streams?.[d].heldSince() ?? Infinity);
        const barrier = Math.min(...held);
        const split = ready.findIndex(([t]) => t >= barrier);
        if (split >= 0) {
          kept = ready.slice(split);
          ready = ready.slice(0, split);
        }
      }
    }
    this.frames = kept;
    this.bufferedBytes = kept.reduce((n, [, , d]) => n + d.length, 0);
    if (ready.length > 0) this.recorder.record('ssh.io', { channel: this.channel, frames: ready });
  }
}
