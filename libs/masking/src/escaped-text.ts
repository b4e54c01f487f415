/**
 * Text with escaped characters: `ada%40example.com` (a URL's query string, `mailto:`), `ada&#64;example.com`
 * (an address hidden from harvesters in a page), `jos\u00e9@example.es` (JSON written in ASCII only,
 * Python's `json.dumps` default). Read as it is, the first two hold no address, and the third holds
 * `u00e9@example.es`, whose mask (`jos\*****@…`) shows the rest of the name and is an invalid JSON
 * escape. The recognizers read the decoded text instead; the mask goes back over the original
 * characters, and an escaped character that the mask keeps (the `@`, a dot) keeps its escape.
 */

// Percent-encoded bytes (a run, so that UTF-8 sequences decode whole), HTML numeric character
// references (also without their `;`: browsers decode `ada&#64example.com` as an address) and the two
// named ones an address needs, and JSON `\uXXXX` (not after a backslash: `\\u`
// is an escaped backslash followed by a `u`).
const ESCAPE = /(?:%[0-9A-Fa-f]{2})+|&#(?:\d{1,7}|[xX][0-9A-Fa-f]{1,6});?|&(?:commat|period);|(?<!\\)\\u[0-9A-Fa-f]{4}/g;
const NAMED: Readonly<Record<string, string>> = { '&commat;': '@', '&period;': '.' };

export interface EscapedText {
  /** The text with its escapes decoded. */
  readonly text: string;
  /** The original range of a decoded range, and whether an escape lies in it. */
  original(start: number, end: number): { start: number; end: number; escaped: boolean };
  /**
   * The original characters of the decoded range `[start, end)` masked as `mask` (the mask of the decoded
   * characters): where the mask keeps a character, the original spelling stays (`%40`, `&#64;`); a mask
   * of another length (`hash`) replaces the range whole.
   */
  restore(start: number, end: number, mask: string): string;
}

/** Whether `text` may hold an escape: a few indexOf, cheaper than the pattern (`&` alone is common in URLs). */
function mayHaveEscape(text: string): boolean {
  return text.includes('%') || text.includes('\\u') || text.includes('&#') || text.includes('&commat;') || text.includes('&period;');
}

/** The decoded view of `text`, or undefined when it has no escape (the common case, at the cost of a few indexOf). */
export function decodeEscapes(text: string): EscapedText | undefined {
  if (!mayHaveEscape(text)) return undefined;
  let decoded = '';
  // For each UTF-16 unit of `decoded`: the original range of the character or escape it came from.
  const starts: number[] = [];
  const ends: number[] = [];
  let cursor = 0;
  let found = false;
  const literal = (to: number): void => {
    for (let i = cursor; i < to; i++) {
      starts.push(i);
      ends.push(i + 1);
    }
    decoded += text.slice(cursor, to);
  };
  const unit = (value: string, from: number, to: number): void => {
    for (let k = 0; k < value.length; k++) {
      starts.push(from);
      ends.push(to);
    }
    decoded += value;
  };
  ESCAPE.lastIndex = 0;
  for (let m = ESCAPE.exec(text); m !== null; m = ESCAPE.exec(text)) {
    const escape = m[0];
    literal(m.index);
    cursor = m.index + escape.length;
    found = true;
    if (escape.startsWith('%')) percentRun(escape, m.index, unit);
    else if (escape.startsWith('&')) unit(NAMED[escape] ?? characterReference(escape), m.index, cursor);
    else unit(String.fromCharCode(parseInt(escape.slice(2), 16)), m.index, cursor);
  }
  ESCAPE.lastIndex = 0;
  if (!found) return undefined;
  literal(text.length);
  return {
    text: decoded,
    original(start, end) {
      const from = starts[start] ?? text.length;
      const to = ends[end - 1] ?? from;
      let escaped = false;
      for (let i = start; i < end && !escaped; i++) escaped = (ends[i] ?? 0) - (starts[i] ?? 0) > 1;
      return { start: from, end: to, escaped };
    },
    restore(start, end, mask) {
      if (mask.length !== end - start) return mask;
      let out = '';
      let i = start;
      while (i < end) {
        // One original character or escape: the decoded units it became.
        let j = i + 1;
        while (j < end && starts[j] === starts[i]) j++;
        const masked = mask.slice(i - start, j - start);
        out += masked === decoded.slice(i, j) ? text.slice(starts[i], ends[i]) : masked;
        i = j;
      }
      return out;
    },
  };
}

/** `&#64;` / `&#x40;` / `&#64` as its character; an out-of-range number stays as written. */
function characterReference(escape: string): string {
  const hex = escape[2] === 'x' || escape[2] === 'X';
  const code = parseInt(escape.slice(hex ? 3 : 2, escape.endsWith(';') ? -1 : undefined), hex ? 16 : 10);
  return code > 0 && code <= 0x10ffff && (code < 0xd800 || code > 0xdfff) ? String.fromCodePoint(code) : escape;
}

/**
 * A run of percent-encoded bytes, one character at a time: as UTF-8 when the bytes are valid UTF-8
 * (`%C3%A9` is `é`), else each byte as itself (Latin-1).
 */
function percentRun(run: string, offset: number, unit: (value: string, from: number, to: number) => void): void {
  const bytes = Buffer.from(run.replace(/%/g, ''), 'hex');
  const utf8 = bytes.toString('utf8');
  if (!utf8.includes('\ufffd')) {
    let at = offset;
    for (const ch of utf8) {
      const length = Buffer.byteLength(ch, 'utf8') * 3;
      unit(ch, at, at + length);
      at += length;
    }
    return;
  }
  bytes.forEach((byte, i) => unit(String.fromCharCode(byte), offset + i * 3, offset + i * 3 + 3));
}
