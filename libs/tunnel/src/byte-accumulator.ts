import { MAX_FRAME_PAYLOAD } from './limits.js';

const BLOCK_SIZE = MAX_FRAME_PAYLOAD;

/**
 * Holds received bytes while the consumer is not reading. Bytes are copied into fixed blocks so that
 * a peer sending thousands of one-byte frames costs one block per 64 KiB, not one object per frame.
 */
export class ByteAccumulator {
  private readonly blocks: Buffer[] = [];
  private tailUsed = 0;
  private total = 0;

  get length(): number {
    return this.total;
  }

  append(data: Uint8Array): void {
    let offset = 0;
    while (offset < data.length) {
      let tail = this.blocks.at(-1);
      if (tail === undefined || this.tailUsed === BLOCK_SIZE) {
        tail = Buffer.allocUnsafe(BLOCK_SIZE);
        this.blocks.push(tail);
        this.tailUsed = 0;
      }
      const n = Math.min(BLOCK_SIZE - this.tailUsed, data.length - offset);
      tail.set(data.subarray(offset, offset + n), this.tailUsed);
      this.tailUsed += n;
      offset += n;
    }
    this.total += data.length;
  }

  /** Remove and return the oldest block (only its filled part), or undefined when empty. */
  shift(): Buffer | undefined {
    const block = this.blocks.shift();
    if (block === undefined) return undefined;
    let out = block;
    if (this.blocks.length === 0) {
      // The last block is partly filled. A small remainder is copied out so that a few bytes
      // do not pin a whole block in the consumer's hands.
      out = this.tailUsed < BLOCK_SIZE / 4 ? Buffer.from(block.subarray(0, this.tailUsed)) : block.subarray(0, this.tailUsed);
      this.tailUsed = BLOCK_SIZE;
    }
    this.total -= out.length;
    return out;
  }
}
