import type { BackendMessage } from './backend-messages.js';
import { BACKEND_MESSAGES } from './backend-table.js';
import { ChunkQueue } from './chunk-queue.js';
import { ProtocolError } from './errors.js';
import type { Parsed } from './frontend-messages.js';
import { resolveLimits, type ProtocolLimits } from './limits.js';
import { nextTypedMessage } from './message-table.js';

export interface BackendParserOptions {
  readonly limits?: Partial<ProtocolLimits>;
}

/**
 * Streaming parser for server -> client bytes. Like FrontendParser, the first ProtocolError is final.
 * After the client sends an SSLRequest or GSSENCRequest, call expectEncryptionResponse(): the server's
 * answer is a single unframed byte, unless it is an ErrorResponse (very old servers).
 */
export class BackendParser {
  readonly limits: ProtocolLimits;
  private readonly queue = new ChunkQueue();
  private failure: Error | undefined;
  private awaitingEncryptionResponse = false;

  constructor(options: BackendParserOptions = {}) {
    this.limits = resolveLimits(options.limits);
  }

  get bufferedBytes(): number {
    return this.queue.length;
  }

  expectEncryptionResponse(): void {
    this.awaitingEncryptionResponse = true;
  }

  /**
   * Queues the chunk at once (not lazily: the bytes are kept in arrival order even if the returned
   * iterator is never used) and returns an iterator over the complete messages now available. Messages
   * not iterated stay queued and come out of the next parse() call, so a consumer can stop early to
   * apply backpressure.
   */
  parse(chunk: Buffer): Generator<Parsed<BackendMessage>, void, undefined> {
    if (this.failure !== undefined) throw this.failure;
    this.queue.push(chunk);
    return this.drain();
  }

  private *drain(): Generator<Parsed<BackendMessage>, void, undefined> {
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

  /**
   * Returns the bytes received but not yet parsed (messages not iterated yet, then any partial one),
   * for a relay that passes the rest of the stream on as bytes once it has seen what it needed.
   */
  takeRest(): Buffer {
    if (this.failure !== undefined) throw this.failure;
    return this.queue.length === 0 ? Buffer.alloc(0) : this.queue.take(this.queue.length);
  }

  parseAll(chunk: Buffer): Parsed<BackendMessage>[] {
    return [...this.parse(chunk)];
  }

  end(): void {
    if (this.failure !== undefined) throw this.failure;
    if (this.queue.length > 0) {
      this.fail(new ProtocolError('unexpected_eof', `backend stream ended inside a message (${this.queue.length} bytes pending)`));
    }
  }

  private next(): Parsed<BackendMessage> | undefined {
    if (this.awaitingEncryptionResponse && this.queue.length > 0) {
      const b = this.queue.byteAt(0);
      if (b === 0x53 || b === 0x47 || b === 0x4e) {
        this.awaitingEncryptionResponse = false;
        const raw = this.queue.take(1);
        // Bytes behind an 'S'/'G' answer were sent before the TLS/GSS handshake, so no handshake
        // protects them: a man in the middle could inject them (CVE-2021-23222). Refuse.
        if (b !== 0x4e && this.queue.length > 0) {
          throw new ProtocolError('unexpected_data', 'unencrypted data after the encryption response');
        }
        return { kind: 'EncryptionResponse', answer: String.fromCharCode(b) as 'S' | 'G' | 'N', raw };
      }
      if (b !== 0x45) throw new ProtocolError('invalid_value', `encryption response: unexpected byte ${b}`);
      this.awaitingEncryptionResponse = false;
    }
    return nextTypedMessage(this.queue, BACKEND_MESSAGES, this.limits, 'backend');
  }

  /** Poisons the parser: the stream cannot be resynchronised after a framing error (fail closed). */
  private fail(err: unknown): never {
    // A non-ProtocolError would be a bug in a decoder; it poisons the stream too but is not disguised.
    this.failure = err instanceof Error ? err : new Error(String(err));
    this.queue.clear();
    throw this.failure;
  }

}
