import { ChunkQueue } from './chunk-queue.js';
import { ProtocolError } from './errors.js';
import type { FrontendMessage, Parsed } from './frontend-messages.js';
import { FRONTEND_MESSAGES } from './frontend-table.js';
import { resolveLimits, type ProtocolLimits } from './limits.js';
import { nextTypedMessage } from './message-table.js';
import { nextStartupPacket } from './startup.js';

/**
 * Where a frontend stream is:
 * - startup: untyped packets (SSLRequest, GSSENCRequest, CancelRequest, StartupMessage);
 * - messages: typed frames, after a StartupMessage;
 * - closed: after a CancelRequest nothing else may follow.
 */
export type FrontendPhase = 'startup' | 'messages' | 'closed';

export interface FrontendParserOptions {
  readonly limits?: Partial<ProtocolLimits>;
  /** Start in the typed-message phase (a relay that joins after the startup was handled). */
  readonly startupDone?: boolean;
}

/**
 * Streaming parser for client -> server bytes. Feed it whatever the socket delivers; it yields every
 * complete message and keeps the rest. The first ProtocolError is final: the stream cannot be
 * resynchronised, so every later call rethrows it (fail closed).
 */
export class FrontendParser {
  readonly limits: ProtocolLimits;
  private readonly queue = new ChunkQueue();
  private currentPhase: FrontendPhase;
  private failure: Error | undefined;

  constructor(options: FrontendParserOptions = {}) {
    this.limits = resolveLimits(options.limits);
    this.currentPhase = options.startupDone === true ? 'messages' : 'startup';
  }

  get phase(): FrontendPhase {
    return this.currentPhase;
  }

  /** Bytes received but not yet part of a complete message (bounded by the limits plus one chunk). */
  get bufferedBytes(): number {
    return this.queue.length;
  }

  /**
   * Queues the chunk at once (not lazily: the bytes are kept in arrival order even if the returned
   * iterator is never used) and returns an iterator over the complete messages now available. Messages
   * not iterated stay queued and come out of the next parse() call, so a consumer can stop early to
   * apply backpressure.
   */
  parse(chunk: Buffer): Generator<Parsed<FrontendMessage>, void, undefined> {
    if (this.failure !== undefined) throw this.failure;
    this.queue.push(chunk);
    return this.drain();
  }

  private *drain(): Generator<Parsed<FrontendMessage>, void, undefined> {
    for (;;) {
      if (this.failure !== undefined) throw this.failure;
      let message;
      try {
        message = this.next();
      } catch (err) {
        this.fail(err);
      }
      if (message === undefined) return;
      yield message;
    }
  }

  /** Convenience for callers that want an array rather than a generator. */
  parseAll(chunk: Buffer): Parsed<FrontendMessage>[] {
    return [...this.parse(chunk)];
  }

  /**
   * Stops parsing and returns the bytes received but not yet parsed (whole messages not iterated yet,
   * then any partial one): for a relay that takes the rest of the stream over as bytes. The parser is
   * closed afterwards.
   */
  takeRest(): Buffer {
    if (this.failure !== undefined) throw this.failure;
    const rest = this.queue.length === 0 ? Buffer.alloc(0) : this.queue.take(this.queue.length);
    this.currentPhase = 'closed';
    return rest;
  }

  /** Call when the peer closed the stream: a partial message left over is a truncated stream. */
  end(): void {
    if (this.failure !== undefined) throw this.failure;
    if (this.queue.length > 0) {
      this.fail(new ProtocolError('unexpected_eof', `frontend stream ended inside a message (${this.queue.length} bytes pending)`));
    }
  }

  private next(): Parsed<FrontendMessage> | undefined {
    switch (this.currentPhase) {
      case 'startup': {
        const packet = nextStartupPacket(this.queue, this.limits);
        if (packet?.kind === 'StartupMessage') this.currentPhase = 'messages';
        if (packet?.kind === 'CancelRequest') this.currentPhase = 'closed';
        // A client must wait for the answer to SSLRequest/GSSENCRequest; bytes pipelined behind it would
        // be taken as if they came through the encrypted channel (CVE-2021-23214). Refuse them.
        if ((packet?.kind === 'SSLRequest' || packet?.kind === 'GSSENCRequest') && this.queue.length > 0) {
          throw new ProtocolError('unexpected_data', `data pipelined after ${packet.kind}`);
        }
        return packet;
      }
      case 'messages':
        return nextTypedMessage(this.queue, FRONTEND_MESSAGES, this.limits, 'frontend');
      case 'closed':
        if (this.queue.length > 0) throw new ProtocolError('unexpected_data', 'data after a CancelRequest');
        return undefined;
    }
  }

  /** Poisons the parser: the stream cannot be resynchronised after a framing error (fail closed). */
  private fail(err: unknown): never {
    // A non-ProtocolError would be a bug in a decoder; it poisons the stream too but is not disguised.
    this.failure = err instanceof Error ? err : new Error(String(err));
    this.queue.clear();
    throw this.failure;
  }

}
