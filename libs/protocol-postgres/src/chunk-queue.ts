/**
 * Queue of received chunks that hands out whole frames. Chunks are never concatenated on arrival: a
 * frame inside one chunk is returned as a zero-copy view, and a frame spread over several chunks is
 * copied exactly once when it is complete. This keeps a 64 MiB row arriving in 64 KiB pieces linear
 * and a chunk holding hundreds of small messages allocation-free.
 */
export class ChunkQueue {
  private chunks: Buffer[] = [];
  /** Index of the first live chunk (avoids O(n) shift() on long queues). */
  private first = 0;
  /** Bytes already consumed from chunks[first]. */
  private offset = 0;
  private size = 0;

  get length(): number {
    return this.size;
  }

  push(chunk: Buffer): void {
    if (chunk.length === 0) return;
    this.chunks.push(chunk);
    this.size += chunk.length;
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
    this.chunks = [];
    this.first = 0;
    this.offset = 0;
    this.size = 0;
  }
}
