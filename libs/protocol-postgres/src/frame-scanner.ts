import { ProtocolError } from './errors.js';
import { resolveLimits, type ProtocolLimits } from './limits.js';
import type { MessageTable } from './message-table.js';

/**
 * Checks the framing of a typed message stream without decoding it: every message's type byte is
 * one the table knows and its length word passes the same bounds the full parser applies (at least
 * 4, the exact size of fixed-size messages, the per-type and global limits), checked as soon as the
 * header is complete, before any body byte arrives. Bodies are skipped, never buffered, so bytes can
 * be relayed as they come while a malformed frame still stops the stream at once.
 *
 * For a relay that must not pay for understanding messages another hop decodes (the control plane in
 * front of the agent). Like the parsers, the first error is final.
 */
export class FrameScanner {
  private readonly limits: ProtocolLimits;
  /** Bytes of the current message's body still to skip. */
  private bodyLeft = 0;
  /** The current header's bytes so far (type byte and length word), while it is incomplete. */
  private readonly header = Buffer.alloc(5);
  private headerBytes = 0;
  private failure: ProtocolError | undefined;
  private messages = 0;

  constructor(
    private readonly table: MessageTable<unknown>,
    private readonly side: string,
    limits: Partial<ProtocolLimits> = {},
  ) {
    this.limits = resolveLimits(limits);
  }

  /** Complete messages seen so far. */
  get complete(): number {
    return this.messages;
  }

  /** True between messages (nothing of a message is pending). */
  get atBoundary(): boolean {
    return this.bodyLeft === 0 && this.headerBytes === 0;
  }

  /** Checks the frames in `chunk`; throws ProtocolError at the first malformed header. */
  scan(chunk: Uint8Array): void {
    if (this.failure !== undefined) throw this.failure;
    let at = 0;
    while (at < chunk.length) {
      if (this.bodyLeft > 0) {
        const skip = Math.min(this.bodyLeft, chunk.length - at);
        this.bodyLeft -= skip;
        at += skip;
        if (this.bodyLeft === 0) this.messages += 1;
        continue;
      }
      if (this.headerBytes === 0 && chunk.length - at >= 5) {
        // The common case: the whole header is in this chunk.
        this.startBody(chunk[at]!, ((chunk[at + 1]! << 24) | (chunk[at + 2]! << 16) | (chunk[at + 3]! << 8) | chunk[at + 4]!) >>> 0);
        at += 5;
        continue;
      }
      this.header[this.headerBytes++] = chunk[at++]!;
      if (this.headerBytes === 1) this.checkType(this.header[0]!);
      if (this.headerBytes === 5) {
        this.headerBytes = 0;
        this.startBody(this.header[0]!, this.header.readUInt32BE(1));
      }
    }
  }

  private checkType(type: number): void {
    if (!this.table.has(type)) this.fail('unknown_message', `${this.side}: unknown message type ${describeType(type)}`);
  }

  private startBody(type: number, length: number): void {
    this.checkType(type);
    const spec = this.table.get(type)!;
    // A length word above 2^31-1 is negative on the wire.
    if (length > 0x7fff_ffff || length < 4) this.fail('bad_length', `${this.side} ${spec.name}: length ${length | 0} is below 4`);
    if (spec.exactLength !== undefined && length !== spec.exactLength) {
      this.fail('bad_length', `${this.side} ${spec.name}: length must be ${spec.exactLength}, got ${length}`);
    }
    const limit = Math.min(spec.copy === true ? this.limits.maxCopyData : this.limits.maxMessage, spec.maxLength ?? Infinity);
    if (length > limit) this.fail('limit_exceeded', `${this.side} ${spec.name}: length ${length} exceeds the limit of ${limit}`);
    this.bodyLeft = length - 4;
    if (this.bodyLeft === 0) this.messages += 1;
  }

  private fail(code: ConstructorParameters<typeof ProtocolError>[0], message: string): never {
    this.failure = new ProtocolError(code, message);
    throw this.failure;
  }
}

function describeType(type: number): string {
  return type >= 0x20 && type < 0x7f ? `'${String.fromCharCode(type)}' (${type})` : `byte ${type}`;
}
