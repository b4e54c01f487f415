import { isUtf8 } from 'node:buffer';
import { StreamMasker, type Masker } from '@gw/masking';

/**
 * How long held output waits for more before it is released anyway: a prompt without a line break
 * (`>>> `, `Password: `) must still show. The pieces of one write arrive back to back, far sooner.
 */
export const CHANNEL_HOLD_MS = 250;

/**
 * Masks one direction of an exec or attach channel (Kubernetes) or an SSH exec's output as a stream
 * (see StreamMasker): a value that the API server's WebSocket messages or the SSH channel's data
 * cut in two (`ada@exa` | `mple.com`) is masked whole. Bytes are read
 * as UTF-8 while they are UTF-8, so text keeps its characters and unmasked output its exact bytes; at
 * the first bytes that are not (a tar stream, `kubectl cp`), the rest of the channel is read as Latin-1,
 * one character per byte, so binary data passes byte for byte where nothing is masked. Released text
 * goes to `release` with its bytes; what is held is released after CHANNEL_HOLD_MS without more
 * output, at flush() and at close().
 */
export class ChannelTextMasker {
  private stream: StreamMasker<number>;
  private binary = false;
  /** The bytes of a UTF-8 character cut at the end of the last message. */
  private partial: Buffer = Buffer.alloc(0);
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly masker: Masker,
    private readonly release: (bytes: Buffer, text: string) => void,
    private readonly holdMs = CHANNEL_HOLD_MS,
  ) {
    this.stream = new StreamMasker(masker);
  }

  write(chunk: Buffer): void {
    if (!this.binary) {
      const bytes = this.partial.length > 0 ? Buffer.concat([this.partial, chunk]) : chunk;
      const complete = completeUtf8Length(bytes);
      if (isUtf8(bytes.subarray(0, complete))) {
        this.partial = Buffer.from(bytes.subarray(complete));
        this.emit(this.stream.write(bytes.subarray(0, complete).toString('utf8'), 0));
        this.arm();
        return;
      }
      // Not text: what is held goes out as text, the rest of the channel byte for byte.
      this.emit(this.stream.end());
      this.binary = true;
      this.stream = new StreamMasker(this.masker);
      chunk = bytes;
      this.partial = Buffer.alloc(0);
    }
    this.emit(this.stream.write(chunk.toString('latin1'), 0));
    this.arm();
  }

  /** Releases everything held now. */
  flush(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.emit(this.stream.end());
    if (this.partial.length > 0) {
      // A character cut short at the very end: its bytes as they are.
      this.release(this.partial, this.partial.toString('latin1'));
      this.partial = Buffer.alloc(0);
    }
  }

  close(): void {
    this.flush();
  }

  private emit(pieces: readonly (readonly [number, string])[]): void {
    if (pieces.length === 0) return;
    const text = pieces.map((p) => p[1]).join('');
    if (text !== '') this.release(Buffer.from(text, this.binary ? 'latin1' : 'utf8'), text);
  }

  private arm(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = this.stream.heldSince() === undefined && this.partial.length === 0 ? undefined : setTimeout(() => this.flush(), this.holdMs);
    this.timer?.unref();
  }
}

/** The length of `bytes` without a UTF-8 character cut short at its end (at most 3 bytes left out). */
export function completeUtf8Length(bytes: Buffer): number {
  for (let back = 1; back <= Math.min(3, bytes.length); back++) {
    const b = bytes[bytes.length - back]!;
    if ((b & 0xc0) === 0x80) continue; // a continuation byte: look further back for the lead
    const need = b >= 0xf0 ? 4 : b >= 0xe0 ? 3 : b >= 0xc0 ? 2 : 1;
    return need > back ? bytes.length - back : bytes.length;
  }
  return bytes.length;
}
