/**
 * Queue of received chunks that hands out whole frames. Chunks are never concatenated on arrival: a
 * frame inside one chunk is returned as a zero-copy view, and a frame spread over several chunks is
 * copied exactly once when it is complete. This keeps a 64 MiB row arriving in 64 KiB pieces linear
 * and a chunk holding hundreds of small messages allocation-free.
 *
 * Tiny chunks (a peer trickling bytes) are the exception: they are appended to an accumulator
 * buffer, so the queue never holds millions of one-byte views while a large frame is pending.
 */
const SMALL_CHUNK = 1024;
const ACCUMULATOR_SIZE = 64 * 1024;

export class ChunkQueue {
  private chunks: Buffer[] = [];
  /** Index of the first live chunk (avoids O(n) shift() on long queues). */
  private first = 0;
  /** Bytes already consumed from chunks[first]. */
  private offset = 0;
  private size = 0;
  /** Buffer that tiny chunks are copied into; bytes below accumulatorUsed are never rewritten. */
  private accumulator: Buffer | undefined;
  private accumulatorUsed = 0;
  /** The queued view of the accumulator (the last queued chunk while it is still queued). */
  private accumulatorView: Buffer | undefined;
  private accumulatorViewStart = 0;

  get length(): number {
    return this.size;
  }

  /** Number of queued buffers (bounded by the accumulator even when the peer trickles bytes). */
  get chunkCount(): number {
    return this.chunks.length - this.first;
  }

  push(chunk: Buffer): void {
    if (chunk.length === 0) return;
    this.size += chunk.length;
    if (chunk.length >= SMALL_CHUNK) {
      this.chunks.push(chunk);
      return;
    }
    if (this.accumulator === undefined || this.accumulatorUsed + chunk.length > this.accumulator.length) {
      this.accumulator = Buffer.allocUnsafe(ACCUMULATOR_SIZE);
      this.accumulatorUsed = 0;
      this.accumulatorView = undefined;
    }
    chunk.copy(this.accumulator, this.accumulatorUsed);
    this.accumulatorUsed += chunk.length;
    const last = this.chunks.length - 1;
    if (this.accumulatorView !== undefined && last >= this.first && this.chunks[last] === this.accumulatorView) {
      // Grow the queued view in place; its start (and so any offset into it) is unchanged.
      this.accumulatorView = this.accumulator.subarray(this.accumulatorViewStart, this.accumulatorUsed);
      this.chunks[last] = this.accumulatorView;
    } else {
      this.accumulatorViewStart = this.accumulatorUsed - chunk.length;
      this.accumulatorView = this.accumulator.subarray(this.accumulatorViewStart, this.accumulatorUsed);
      this.chunks.push(this.accumulatorView);
    }
  }

  /** Byte at position i from the front; caller guarantees i < length. */
  byteAt(i: number): number {
    let idx = this.first;
    let at = this.offset + i;
    for (;;) {
      const c = this.chunks[idx]!;
      if (at < c.length) return c[at]!;
      at -= c.length;
      idx++;
    }
  }

  /** Big-endian Int32 at position i from the front; caller guarantees i + 4 <= length. */
  int32At(i: number): number {
    const c = this.chunks[this.first]!;
    const at = this.offset + i;
    if (at + 4 <= c.length) return c.readInt32BE(at);
    return ((this.byteAt(i) << 24) | (this.byteAt(i + 1) << 16) | (this.byteAt(i + 2) << 8) | this.byteAt(i + 3)) | 0;
  }

  /** Removes and returns the first n bytes (n <= length). */
  take(n: number): Buffer {
    const head = this.chunks[this.first]!;
    let out: Buffer;
    if (this.offset + n <= head.length) {
      out = head.subarray(this.offset, this.offset + n);
      this.offset += n;
    } else {
      out = Buffer.allocUnsafe(n);
      let written = 0;
      while (written < n) {
        const c = this.chunks[this.first]!;
        const piece = Math.min(c.length - this.offset, n - written);
        c.copy(out, written, this.offset, this.offset + piece);
        written += piece;
        this.offset += piece;
        if (this.offset === c.length) this.dropHead();
      }
    }
    if (this.offset === head.length && this.chunks[this.first] === head) this.dropHead();
    this.size -= n;
    return out;
  }

  private dropHead(): void {
    this.chunks[this.first] = undefined as unknown as Buffer;
    this.first++;
    this.offset = 0;
    if (this.first === this.chunks.length) {
      this.chunks = [];
      this.first = 0;
    } else if (this.first > 1024 && this.first * 2 > this.chunks.length) {
      this.chunks = this.chunks.slice(this.first);
      this.first = 0;
    }
  }

  clear(): void {
    this.accumulator = undefined;
    this.accumulatorView = undefined;
    this.chunks = [];
    this.first = 0;
    this.offset = 0;
    this.size = 0;
  }
}
