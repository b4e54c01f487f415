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

  /**
   * Handles queued chunks synchronously, as long as every handler does: a statement that needs no
   * catalog lookup or approval costs no promise, microtask or async frame (two per statement, one
   * per direction, were measurable in the agent's CPU per statement). The first handler that returns
   * a promise moves the rest of that chunk, and the chunks behind it, to continueAfter().
   */
  private run(): void {
    if (this.running || this.stopped) return;
    this.running = true;
    try {
      while (this.chunks.length > 0 && !this.stopped) {
        const chunk = this.chunks.shift()!;
        this.output?.cork();
        let pending: Promise<void> | undefined;
        let messages: Iterator<M>;
        try {
          messages = this.parse(chunk)[Symbol.iterator]();
          pending = this.handleUntilAsync(messages);
        } finally {
          if (!pending) this.output?.uncork();
        }
        if (pending) {
          this.continueAfter(pending, messages).then(
            () => {
              this.running = false;
              if (this.chunks.length > 0) this.run();
            },
            (error: unknown) => this.failed(error),
          );
          return;
        }
      }
      this.running = false;
    } catch (error) {
      // Reported after the current call returns, as a rejected handler is: the caller (a socket's
      // data event) is not re-entered by the session's teardown.
      this.running = false;
      this.stop();
      queueMicrotask(() => this.onError(error));
    }
  }

  /** Handles messages until one handler returns a promise (returned) or the chunk is done (undefined). */
  private handleUntilAsync(messages: Iterator<M>): Promise<void> | undefined {
    for (let next = messages.next(); next.done !== true; next = messages.next()) {
      if (this.stopped) return undefined;
      const pending = this.handle(next.value);
      if (pending) return pending;
    }
    return undefined;
  }

  /** The source is held while a handler's promise settles; the chunk's output stays corked until its end. */
  private async continueAfter(pending: Promise<void>, messages: Iterator<M>): Promise<void> {
    try {
      for (let current: Promise<void> | undefined = pending; current; current = this.handleUntilAsync(messages)) {
        this.hold();
        try {
          await current;
        } finally {
          this.release();
        }
        if (this.stopped) return;
      }
    } finally {
      this.output?.uncork();
    }
  }

  private failed(error: unknown): void {
    this.running = false;
    this.stop();
    this.onError(error);
  }
}
