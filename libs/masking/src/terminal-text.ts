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

/**
 * Leaves control sequences out of a terminal's text, so that a value the terminal shows in one piece is
 * read in one piece: `grep --color` wraps the match (`\x1b[01;31m\x1b[Kada\x1b[m\x1b[K@example.com`),
 * a prompt colour sticks to the next word (`\x1b[31mSSN: ...`).
 */
export function terminalView(text: string): TerminalView {
  if (!text.includes('\x1b') && !text.includes('\x9b')) return { visible: text, sequences: [], originalOffset: (i) => i };
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
 */
export function keepControlSequences(original: string, mask: string): string {
  const view = terminalView(original);
  if (view.sequences.length === 0) return mask;
  if (mask.length !== view.visible.length) return mask + view.sequences.map(([s, e]) => original.slice(s, e)).join('');
  let out = '';
  let next = 0;
  let cursor = 0;
  for (const [s, e] of view.sequences) {
    out += mask.slice(next, next + (s - cursor));
    next += s - cursor;
    out += original.slice(s, e);
    cursor = e;
  }
  return out + mask.slice(next);
}
