import type { Masker } from './masker.js';
import { maskFull } from './styles.js';
import { terminalSpans, terminalView } from './terminal-text.js';

/**
 * Characters of a stream held back at most (outside a private-key block): longer than any value the
 * recognizers take on one line (an e-mail is at most 64 + 1 + 9 × 64 characters; cards, IBANs, SSNs
 * and phone numbers far shorter; most JWTs fit too).
 */
export const STREAM_CARRY_CHARS = 4096;
/** Already released text kept to read what precedes new text (`SSN: ` before 9 bare digits, look-behinds). */
const CONTEXT_CHARS = 64;
/** A PEM private key spans lines: its block is held from `-----BEGIN` to `-----END` up to this size. */
const PEM_HOLD_CHARS = 20 * 1024;
const PEM_BEGIN = /-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----/g;

/** A piece of masked text with the tag (e.g. the time) of the input piece it came from. */
export type MaskedPiece<Tag> = readonly [tag: Tag, text: string];

interface Piece<Tag> {
  readonly tag: Tag;
  length: number;
}

/**
 * Masks a text stream that arrives in pieces (terminal output, keystrokes, a piped script), so that a
 * value split across pieces is masked whole. Text is released once nothing after it can complete a
 * value that starts before it: at a line break (no recognizer matches across one, except a PEM block,
 * held whole), or when more than STREAM_CARRY_CHARS follow it. A value that straddles the release point
 * is held with what follows. Values are read as a terminal shows them, without control sequences,
 * which stay in place around the mask. Released text keeps the tag of the piece each character came in; a masked
 * value whose replacement has another length (`hash`) goes wholly to the piece where it starts.
 */
export class StreamMasker<Tag> {
  private pending = '';
  private pieces: Piece<Tag>[] = [];
  private context = '';

  constructor(
    private readonly masker: Masker,
    private readonly carry = STREAM_CARRY_CHARS,
  ) {}

  /** Adds a piece; returns what can be released now, masked. */
  write(text: string, tag: Tag): MaskedPiece<Tag>[] {
    if (text === '') return [];
    this.pending += text;
    this.pieces.push({ tag, length: text.length });
    return this.release(false);
  }

  /** Releases everything held (the stream ended). */
  end(): MaskedPiece<Tag>[] {
    return this.release(true);
  }

  /** The tag of the oldest piece still (partly) held, if any. */
  heldSince(): Tag | undefined {
    return this.pieces[0]?.tag;
  }

  private release(final: boolean): MaskedPiece<Tag>[] {
    const text = this.pending;
    if (text === '') return [];
    const offset = this.context.length;
    const scanned = this.context + text;
    // Values are looked for in what a terminal shows: control sequences inside or next to a value
    // (colours, `grep --color`) would hide it from the recognizers.
    // The bodies of control strings (window titles, hyperlink targets) are masked too.
    const view = terminalView(scanned);
    const spans = (terminalSpans(scanned, (t) => this.masker.maskedSpans(t), view) ?? this.masker.maskedSpans(scanned))
      .map((s) => ({ start: s.start - offset, end: s.end - offset, replacement: s.replacement }))
      .filter((s) => s.end > 0);
    let cut = final ? text.length : this.releasePoint(scanned, offset);
    // Never release half a control sequence: the rest would read as text next time.
    for (const [start, end] of view.sequences) if (start - offset < cut && cut < end - offset) cut = Math.max(0, start - offset);
    for (const span of spans) if (span.start < cut && cut < span.end) cut = Math.max(0, span.start);
    if (cut === 0) return [];

    const out = this.pieces.map(() => '');
    const starts: number[] = [];
    let at = 0;
    for (const piece of this.pieces) {
      starts.push(at);
      at += piece.length;
    }
    // The last piece starting at or before `pos` (binary search: a typed line is one piece per key).
    const pieceAt = (pos: number): number => {
      let lo = 0;
      let hi = starts.length - 1;
      while (lo < hi) {
        const mid = (lo + hi + 1) >> 1;
        if ((starts[mid] ?? 0) <= pos) lo = mid;
        else hi = mid - 1;
      }
      return lo;
    };
    // Text aligned to the stream's positions: each character goes to the piece it came in.
    const place = (pos: number, str: string): void => {
      let i = 0;
      while (i < str.length) {
        const index = pieceAt(pos + i);
        const room = (starts[index] ?? 0) + (this.pieces[index]?.length ?? 0) - (pos + i);
        const take = Math.max(1, Math.min(room, str.length - i));
        out[index] += str.slice(i, i + take);
        i += take;
      }
    };
    let cursor = 0;
    for (const span of spans) {
      if (span.start >= cut) break;
      const start = Math.max(0, span.start);
      place(cursor, text.slice(cursor, start));
      if (span.start >= 0 && span.replacement.length === span.end - span.start) place(start, span.replacement);
      // A value whose start was released earlier (only a block longer than the hold can do that):
      // what is left of it is masked fully.
      else out[pieceAt(start)] += span.start >= 0 ? span.replacement : maskFull(text.slice(0, span.end));
      cursor = span.end;
    }
    if (cursor < cut) place(cursor, text.slice(cursor, cut));

    const released: MaskedPiece<Tag>[] = [];
    const kept: Piece<Tag>[] = [];
    this.pieces.forEach((piece, i) => {
      const start = starts[i] ?? 0;
      const end = start + piece.length;
      if (start < cut && out[i] !== '') released.push([piece.tag, out[i] ?? '']);
      if (end > cut) kept.push({ tag: piece.tag, length: end - Math.max(start, cut) });
    });
    this.pieces = kept;
    this.context = (this.context + text.slice(0, cut)).slice(-CONTEXT_CHARS);
    this.pending = text.slice(cut);
    return released;
  }

  /** Where released text ends in `pending`: after the last line break, or so that `carry` characters stay. */
  private releasePoint(scanned: string, offset: number): number {
    const text = this.pending;
    const lastBreak = Math.max(text.lastIndexOf('\n'), text.lastIndexOf('\r'));
    let cut = Math.max(text.length - this.carry, lastBreak + 1, 0);
    const pem = openPemBlock(scanned);
    if (pem !== undefined && scanned.length - pem <= PEM_HOLD_CHARS) cut = Math.min(cut, Math.max(0, pem - offset));
    return cut;
  }
}

/** Where the last PEM private-key block without its END line starts, if any. */
function openPemBlock(text: string): number | undefined {
  if (!text.includes('-----BEGIN ')) return undefined;
  let last: number | undefined;
  for (const match of text.matchAll(PEM_BEGIN)) last = match.index;
  if (last === undefined) return undefined;
  return text.includes('-----END ', last) ? undefined : last;
}
