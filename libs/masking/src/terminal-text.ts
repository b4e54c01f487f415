import type { MaskEntity } from './types.js';

/**
 * Terminal control sequences (ECMA-48): CSI (`ESC [` or 0x9B, parameters, intermediates, final byte),
 * OSC (`ESC ]` up to BEL or ST), DCS/SOS/PM/APC strings (`ESC P|X|^|_` up to ST), and two- or
 * three-byte escapes (`ESC ( B`, `ESC 7`). String bodies are bounded so that the pattern stays linear.
 */
// eslint-disable-next-line no-control-regex -- matching control characters is the point
const CONTROL_SEQUENCE = /\x1b\[[0-?]*[ -/]*[@-~]|\x9b[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b\x9c]{0,4096}(?:\x07|\x1b\\|\x9c)|\x1b[PX^_][^\x1b\x9c]{0,4096}(?:\x1b\\|\x9c)|\x1b[ -/]{0,2}[0-~]/g;

/** What a terminal shows of a text (control sequences left out), with the way back to the text's offsets. */
export interface TerminalView {
  /** The text without its control sequences. */
  readonly visible: string;
  /** Control sequences as [start, end) offsets of the original text, in order. */
  readonly sequences: readonly (readonly [number, number])[];
  /** Offset in the original text of the visible character at `index` (or of the end, for `visible.length`). */
  originalOffset(index: number): number;
}

/** Whether `text` may hold a control sequence (an ESC or an 8-bit CSI): most texts have neither. */
export function mayHaveControlSequence(text: string): boolean {
  return text.includes('\x1b') || text.includes('\x9b');
}

/**
 * Leaves control sequences out of a terminal's text, so that a value the terminal shows in one piece is
 * read in one piece: `grep --color` wraps the match (`\x1b[01;31m\x1b[Kada\x1b[m\x1b[K@example.com`),
 * a prompt colour sticks to the next word (`\x1b[31mSSN: ...`).
 */
export function terminalView(text: string): TerminalView {
  if (!mayHaveControlSequence(text)) return { visible: text, sequences: [], originalOffset: (i) => i };
  const sequences: [number, number][] = [];
  let visible = '';
  const offsets: number[] = [];
  let cursor = 0;
  for (const match of text.matchAll(CONTROL_SEQUENCE)) {
    for (let i = cursor; i < match.index; i++) offsets.push(i);
    visible += text.slice(cursor, match.index);
    cursor = match.index + match[0].length;
    sequences.push([match.index, cursor]);
  }
  for (let i = cursor; i < text.length; i++) offsets.push(i);
  visible += text.slice(cursor);
  return { visible, sequences, originalOffset: (i) => (i < offsets.length ? (offsets[i] ?? text.length) : text.length) };
}

/**
 * The masked form of `original` (a value as it stands in the terminal's text, control sequences
 * included) given the mask of its visible characters: the control sequences stay where they are when
 * the mask has the visible text's length, else they follow the mask, so colours and modes still end.
 * `maskSequence` masks what a control sequence carries (see maskControlString).
 */
export function keepControlSequences(original: string, mask: string, maskSequence: (sequence: string) => string = (s) => s): string {
  const view = terminalView(original);
  if (view.sequences.length === 0) return mask;
  if (mask.length !== view.visible.length) return mask + view.sequences.map(([s, e]) => maskSequence(original.slice(s, e))).join('');
  let out = '';
  let next = 0;
  let cursor = 0;
  for (const [s, e] of view.sequences) {
    out += mask.slice(next, next + (s - cursor));
    next += s - cursor;
    out += maskSequence(original.slice(s, e));
    cursor = e;
  }
  return out + mask.slice(next);
}

/** One masked occurrence in a text (the shape of the masker's MaskedSpan). */
export interface TextSpan {
  readonly start: number;
  readonly end: number;
  readonly entity: MaskEntity;
  readonly replacement: string;
}

/**
 * A control string (OSC, DCS, SOS, PM, APC) with its body masked: the terminal does not print the body,
 * but shows it all the same (an OSC 0/2 window title such as `alice@example.com: ~`, an OSC 8
 * hyperlink's `mailto:` target) and it reaches the client as it is. Undefined when nothing was masked
 * (or the sequence is no terminated control string).
 */
function maskControlString(sequence: string, spansOf: (text: string) => readonly TextSpan[]): { text: string; entity: MaskEntity } | undefined {
  if (sequence.length < 3 || sequence[0] !== '\x1b' || !']PX^_'.includes(sequence[1] ?? '')) return undefined;
  const end = sequence.endsWith('\x1b\\') ? sequence.length - 2 : sequence.length - 1;
  const body = sequence.slice(2, end);
  const spans = spansOf(body);
  const first = spans[0];
  if (first === undefined) return undefined;
  let out = sequence.slice(0, 2);
  let cursor = 0;
  for (const span of spans) {
    out += body.slice(cursor, span.start) + span.replacement;
    cursor = span.end;
  }
  return { text: out + body.slice(cursor) + sequence.slice(end), entity: first.entity };
}

/**
 * The masked occurrences in a terminal's text, in its offsets (sorted, no overlaps), or undefined when
 * it has no control sequence: values are found in what the terminal shows (`spansOf(view.visible)`),
 * so that a colour or an erase inside a value (`grep --color`: `\x1b[01;31m\x1b[Kada\x1b[m\x1b[K@example.com`)
 * neither hides it nor gets masked itself; the sequences inside a value stay in place, and the bodies
 * of control strings (a window title, a hyperlink target) are masked too.
 */
export function terminalSpans(text: string, spansOf: (text: string) => readonly TextSpan[], view: TerminalView = terminalView(text)): TextSpan[] | undefined {
  if (view.sequences.length === 0) return undefined;
  const maskSequence = (sequence: string): string => maskControlString(sequence, spansOf)?.text ?? sequence;
  const values: TextSpan[] = [];
  for (const s of spansOf(view.visible)) {
    const start = view.originalOffset(s.start);
    const end = view.originalOffset(s.end - 1) + 1;
    values.push({ start, end, entity: s.entity, replacement: keepControlSequences(text.slice(start, end), s.replacement, maskSequence) });
  }
  const spans = [...values];
  let v = 0;
  for (const [start, end] of view.sequences) {
    while (v < values.length && (values[v]?.end ?? 0) <= start) v++;
    // Inside a value: masked with it (keepControlSequences above).
    if (v < values.length && (values[v]?.start ?? 0) <= start) continue;
    const masked = maskControlString(text.slice(start, end), spansOf);
    if (masked !== undefined) spans.push({ start, end, entity: masked.entity, replacement: masked.text });
  }
  return spans.sort((a, b) => a.start - b.start);
}
