/** Where released bytes go, and the source to pause while too much is held. */
export interface ReleaseTarget {
  /** Writes bytes to the client (the target handles the client's own backpressure). */
  write(bytes: Buffer): void;
  /** Bracket a run of releases so that they leave as one write. */
  cork(): void;
  uncork(): void;
  /** Too many bytes are held: stop reading the source until `resume`. */
  pause(): void;
  resume(): void;
  /** A record could not be made durable: the held bytes are dropped; the caller must fail closed. */
  failed(error: unknown): void;
}

/** Bytes held beyond this pause the source (the database answer) until the journal catches up. */
export const DEFAULT_MAX_HELD_BYTES = 1024 * 1024;

interface Barrier {
  settled: boolean;
}

/**
 * An ordered output to a client in which a record's durability is a barrier: bytes written after
 * `barrier(durable)` are held, in order, until that record (and every earlier barrier's) is on disk;
 * bytes written while no barrier is pending go straight through. Memory is bounded: beyond
 * `maxHeldBytes` the source is paused, and resumed once the held bytes are released. When a barrier
 * fails, nothing held is ever released (fail closed) and the target is told once.
 */
export class DurableReleaseQueue {
  private readonly queue: (Buffer | Barrier)[] = [];
  private heldBytes = 0;
  private paused = false;
  private broken = false;
  private readonly drainedWaiters: (() => void)[] = [];
  /** Between beginBatch and endBatch: what would go straight through, kept to leave as one write. */
  private batch: Buffer[] | undefined;

  constructor(
    private readonly target: ReleaseTarget,
    private readonly maxHeldBytes = DEFAULT_MAX_HELD_BYTES,
  ) {}

  /** Bytes currently held back (tests, stats). */
  get held(): number {
    return this.heldBytes;
  }

  /**
   * Brackets the output of one chunk of the database's answer. Bytes of the chunk written before a
   * barrier of the same chunk wait with it (nothing of the chunk reached the client yet), so a small
   * result (rows and its end) leaves as one write once durable, not as two: each write costs a tunnel
   * frame and a client packet. Rows of a result that spans chunks still flow chunk by chunk.
   */
  beginBatch(): void {
    this.batch ??= [];
  }

  endBatch(): void {
    const batch = this.batch;
    this.batch = undefined;
    if (!batch || batch.length === 0 || this.broken) return;
    this.target.write(batch.length === 1 ? batch[0]! : Buffer.concat(batch));
  }

  /** Bytes written from now on wait until `durable` resolves (and every earlier barrier has). */
  barrier(durable: Promise<void>): void {
    if (this.broken) return;
    const barrier: Barrier = { settled: false };
    this.queue.push(barrier);
    if (this.batch && this.batch.length > 0) {
      for (const bytes of this.batch.splice(0)) this.hold(bytes);
    }
    durable.then(
      () => {
        barrier.settled = true;
        this.release();
      },
      (error: unknown) => this.fail(error),
    );
  }

  write(bytes: Buffer): void {
    if (this.broken) return;
    if (this.queue.length > 0) return this.hold(bytes);
    if (this.batch) this.batch.push(bytes);
    else this.target.write(bytes);
  }

  private hold(bytes: Buffer): void {
    this.queue.push(bytes);
    this.heldBytes += bytes.length;
    if (!this.paused && this.heldBytes > this.maxHeldBytes) {
      this.paused = true;
      this.target.pause();
    }
  }

  /**
   * Resolves once everything written so far has been released (every barrier settled), or at once
   * when nothing is held; also when a barrier fails (then nothing more is released). For a session
   * that ends: what the database said last (e.g. its FATAL) still reaches the client, in order.
   */
  drained(): Promise<void> {
    if (this.queue.length === 0 || this.broken) return Promise.resolve();
    return new Promise((resolve) => this.drainedWaiters.push(resolve));
  }

  /** Stops releasing anything; held bytes are dropped. */
  close(): void {
    this.broken = true;
    this.batch = undefined;
    this.queue.length = 0;
    this.heldBytes = 0;
    this.notifyDrained();
  }

  private notifyDrained(): void {
    for (const resolve of this.drainedWaiters.splice(0)) resolve();
  }

  private release(): void {
    if (this.broken) return;
    // What was held leaves joined: each write is a tunnel frame and a write to the client's socket, and
    // an answer is held as many small pieces (a MySQL result is one packet per column and row).
    const joined = new ReleasedBytes((bytes) => this.target.write(bytes));
    this.target.cork();
    try {
      while (this.queue.length > 0) {
        const head = this.queue[0]!;
        if (!Buffer.isBuffer(head)) {
          // Journal flushes complete in order; a later barrier that settled first still waits here.
          if (!head.settled) break;
          this.queue.shift();
          continue;
        }
        this.queue.shift();
        this.heldBytes -= head.length;
        joined.add(head);
      }
      joined.flush();
    } finally {
      this.target.uncork();
    }
    if (this.paused && this.heldBytes <= this.maxHeldBytes / 2) {
      this.paused = false;
      this.target.resume();
    }
    if (this.queue.length === 0) this.notifyDrained();
  }

  private fail(error: unknown): void {
    if (this.broken) return;
    this.close();
    this.target.failed(error);
  }
}

/** Joins consecutive released pieces into writes of up to RELEASE_WRITE_BYTES. */
const RELEASE_WRITE_BYTES = 64 * 1024;

class ReleasedBytes {
  private pieces: Buffer[] = [];
  private bytes = 0;

  constructor(private readonly write: (bytes: Buffer) => void) {}

  add(piece: Buffer): void {
    if (this.bytes > 0 && this.bytes + piece.length > RELEASE_WRITE_BYTES) this.flush();
    this.pieces.push(piece);
    this.bytes += piece.length;
  }

  flush(): void {
    if (this.pieces.length === 0) return;
    const pieces = this.pieces;
    this.pieces = [];
    this.bytes = 0;
    this.write(pieces.length === 1 ? pieces[0]! : Buffer.concat(pieces));
  }
}
