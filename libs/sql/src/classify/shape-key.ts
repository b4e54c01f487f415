import { normalizeSql } from '../parser/load.js';

const DIGIT_0 = 48;
const DIGIT_9 = 57;

function isDigit(c: number): boolean {
  return c >= DIGIT_0 && c <= DIGIT_9;
}

/** Characters that can continue an identifier or a number token (`_`, `$`, `.`, letters, digits, non-ASCII). */
function continuesToken(c: number): boolean {
  return (
    isDigit(c) ||
    (c >= 65 && c <= 90) || // A-Z
    (c >= 97 && c <= 122) || // a-z
    c === 95 || // _
    c === 36 || // $
    c === 46 || // .
    c >= 128
  );
}

/**
 * A cheap shape key for the commonest inline-value texts: ones without quotes of either kind, comments,
 * `$` or backslashes, whose only constants are plain integers. There every run of digits that no
 * letter, digit, `_`, `$`, `.` or non-ASCII character touches is an integer constant token for the
 * PostgreSQL lexer (no string, identifier or comment can contain it, and it cannot be part of an
 * identifier, a decimal, an exponent or a hex/octal/binary literal): each is replaced by `0`. A text
 * with any other kind of constant returns undefined (use the parser's normalization). Two texts with
 * the same key differ only in the values of integer constants (including ORDER BY positions and type
 * modifiers, which the parser's normalization keeps and classification does not read).
 */
export function integerShapeKey(text: string): string | undefined {
  let out = '';
  let copied = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 39 || c === 34 || c === 36 || c === 92) return undefined; // ' " $ \
    if ((c === 45 && text.charCodeAt(i + 1) === 45) || (c === 47 && text.charCodeAt(i + 1) === 42)) return undefined; // -- /*
    if (!isDigit(c)) continue;
    const start = i;
    let end = i + 1;
    while (end < text.length && isDigit(text.charCodeAt(end))) end++;
    i = end - 1;
    const before = start > 0 ? text.charCodeAt(start - 1) : 32;
    const after = end < text.length ? text.charCodeAt(end) : 32;
    // The tail of an identifier (`t1`, `x_2`): not a constant, left as it is.
    if (continuesToken(before) && before !== 46) continue;
    // A decimal, an exponent, a hex/octal/binary literal, `1_000`: not a plain integer; let the parser normalize.
    if (before === 46 || continuesToken(after)) return undefined;
    out += `${text.slice(copied, start)}0`;
    copied = end;
  }
  return out + text.slice(copied);
}

/**
 * The key under which a text's classification may serve other texts of the same shape, or undefined
 * where the shape cache must not be used: texts with `$` (a `$1` already in the text would normalize
 * like a constant; dollar quoting) and texts the normalizer refuses (the full parse reports the error).
 * The two kinds of key never collide (different first character).
 */
export function shapeKeyOf(text: string): string | undefined {
  if (text.includes('$') || text.trim() === '') return undefined;
  const integers = integerShapeKey(text);
  if (integers !== undefined) return `i${integers}`;
  try {
    return `n${normalizeSql(text)}`;
  } catch {
    return undefined;
  }
}
