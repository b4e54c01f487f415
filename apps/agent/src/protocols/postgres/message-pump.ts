/** Where the bytes come from: paused while the pump cannot take more (a hold, a full output). */
export interface PumpSource {
  pause(): void;
  resume(): void;
}

/** An output that says when it can take more after a write returned false (a Writable, or a test double). */
export interface DrainSignal {
  once(event: 'drain', listener: () => void): unknown;
}

/**
 * Feeds chunks (push) through a protocol parser to a handler, one message at a time. A handler that
 * returns a promise (a catalog lookup, an approval hold) pauses the source until it settles; messages
 * behind it stay queued in the parser, so order is kept and nothing is buffered beyond the chunk that
 * was already read. No sockets: the caller pushes what its source delivers.
 */
export class MessagePump<M> {
  private readonly chunks: Buffer[] = [];
  private running = false;
  private holds = 0;
  private stopped = false;
  private readonly drainWaits = new WeakSet<DrainSignal>();

  constructor(
    private readonly source: PumpSource,
    private readonly parse: (chunk: Buffer) => Iterable<M>,
    private readonly handle: (message: M) => void | Promise<void>,
    private readonly onError: (error: unknown) => void,
    /** Corked while one chunk's messages are handled, so their output leaves as one write. */
    private readonly output?: { cork(): void; uncork(): void },
  ) {}

  /** A chunk from the source. */
  push(chunk: Buffer): void {
    if (this.stopped) return;
    this.chunks.push(chunk);
    this.run();
  }

  /** Pause the source for a reason of the caller's (backpressure); balanced by release(). */
  hold(): void {
    if (this.holds++ === 0) this.source.pause();
  }
  release(): void {
    if (this.holds > 0 && --this.holds === 0 && !this.stopped) this.source.resume();
  }

  /**
   * Pauses the source until `output` drains: call when a write to it returned false. One hold per
   * output however many writes fill it before it drains (a chunk of many messages, e.g. a COPY).
   */
  waitForDrain(output: DrainSignal): void {
    if (this.drainWaits.has(output)) return;
    this.drainWaits.add(output);
    this.hold();
    output.once('drain', () => {
      this.drainWaits.delete(output);
      this.release();
    });
  }

  /** Processes messages already queued in the parser (bytes read before the pump existed). */
  kick(): void {
    this.chunks.push(Buffer.alloc(0));
    this.run();
  }

  stop(): void {
    this.stopped = true;
    this.chunks.length = 0;
  }

  private run(): void {
    if (this.running || this.stopped) return;
    this.running = true;
    this.loop().then(
      () => {
        this.running = false;
        // Chunks can arrive synchronously after the loop's last check but before this microtask.
        if (this.chunks.length > 0) this.run();
      },
      (error: unknown) => {
        this.running = false;
        this.stop();
        this.onError(error);
      },
    );
  }

  private async loop(): Promise<void> {
    while (this.chunks.length > 0 && !this.stopped) {
      const chunk = this.chunks.shift()!;
      this.output?.cork();
      try {
        for (const message of this.parse(chunk)) {
          if (this.stopped) return;
          const pending = this.handle(message);
          if (pending) {
            this.hold();
            try {
              await pending;
            } finally {
              this.release();
            }
          }
        }
      } finally {
        this.output?.uncork();
      }
    }
  }
}
