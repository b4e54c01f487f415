/**
 * What the recognizers read: the text in NFKC (fullwidth `＠４１１１`, ligatures, superscripts and other
 * compatibility forms become their plain letters and digits), decimal digits of any script as ASCII
 * digits, ideographic full stops as `.` (IDNA treats them as dots), typographic dashes as `-`, and default-ignorable characters
 * (zero-width spaces and joiners, soft hyphens) dropped — each of them would otherwise split or
 * disguise a value so that no pattern sees it. Each code point is normalized on its own, so every
 * character of the scanned text maps back to the original characters it came from, and a mask covers
 * exactly those.
 */
export interface ScanText {
  readonly text: string;
  /** Original offset of a match's start (`start` in the scanned text). */
  originalStart(start: number): number;
  /** Original offset just past a match that ends (exclusively) at `end` in the scanned text. */
  originalEnd(end: number): number;
}

const IGNORABLE = /\p{Default_Ignorable_Code_Point}/u;
const DECIMAL_DIGIT = /\p{Nd}/u;
const FULL_STOPS: ReadonlySet<string> = new Set(['\u3002', '\uff61']);
/**
 * Dashes that word processors, PDFs and typeset text put where `-` was typed (U+2010 to U+2015, the
 * minus sign; NFKC leaves them as they are): a card, phone number or IBAN grouped by them is grouped
 * by `-`.
 */
const DASH = /[\u2010-\u2015\u2212]/u;
/** Longest run of adjacent digit blocks walked back to find a digit's zero (blocks come in tens). */
const MAX_DIGIT_RUN = 60;

/** ASCII text, the common case, is scanned as it is at no cost. */
export function scanTextOf(text: string): ScanText {
  if (isAscii(text)) return { text, originalStart: (i) => i, originalEnd: (i) => i };
  return normalizeWithOffsets(text);
}

function isAscii(text: string): boolean {
  for (let i = 0; i < text.length; i++) if (text.charCodeAt(i) > 0x7f) return false;
  return true;
}

function normalizeWithOffsets(text: string): ScanText {
  let out = '';
  // For each code unit of `out`: where its source character starts and ends in `text`.
  const starts: number[] = [];
  const ends: number[] = [];
  let i = 0;
  for (const ch of text) {
    const next = i + ch.length;
    const mapped = ch.charCodeAt(0) <= 0x7f ? ch : mapCharacter(ch);
    for (let k = 0; k < mapped.length; k++) {
      starts.push(i);
      ends.push(next);
    }
    out += mapped;
    i = next;
  }
  return {
    text: out,
    originalStart: (s) => (s < starts.length ? (starts[s] ?? text.length) : text.length),
    originalEnd: (e) => (e > 0 ? (ends[e - 1] ?? 0) : 0),
  };
}

function mapCharacter(ch: string): string {
  if (IGNORABLE.test(ch)) return '';
  if (FULL_STOPS.has(ch)) return '.';
  let out = '';
  for (const c of ch.normalize('NFKC')) out += c.charCodeAt(0) <= 0x7f ? c : DECIMAL_DIGIT.test(c) ? asciiDigit(c) : DASH.test(c) ? '-' : c;
  return out;
}

/** Unicode encodes every script's decimal digits as runs of ten, 0 to 9: the value is the offset in its run. */
function asciiDigit(c: string): string {
  const cp = c.codePointAt(0) ?? 0;
  let zero = cp;
  while (cp - zero < MAX_DIGIT_RUN && DECIMAL_DIGIT.test(String.fromCodePoint(zero - 1))) zero--;
  return String((cp - zero) % 10);
}
