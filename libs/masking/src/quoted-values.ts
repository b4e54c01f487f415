/*
 * A server's message quotes values: `invalid input syntax for type integer: "1234.50x"`, `Key
 * (note)=(98765.43) already exists.`, `Failing row contains (1, Ada, ...)`, MySQL's `Truncated
 * incorrect DOUBLE value: '98765.43x'`. Entity recognizers find an e-mail or a card there by its shape,
 * but a value masked by its column (a salary, a name) has no shape to find: when the statement the
 * message answers references such a column, every value the message quotes is masked.
 */

/** Where a quoted value starts, and the character that ends it. */
const OPENERS: readonly { open: string; close: string }[] = [
  { open: "'", close: "'" },
  { open: '"', close: '"' },
  // Postgres details: `Key (a, b)=(1, x)`, `Failing row contains (1, x, null)`.
  { open: '=(', close: ')' },
  { open: 'contains (', close: ')' },
];

/** Every letter and digit becomes `*`; punctuation and spacing stay, so the message keeps its shape. */
const hide = (value: string): string => value.replace(/[\p{L}\p{N}]/gu, '*');

/**
 * `text` with the content of every quoted value masked (`'...'`, `"..."`, a doubled quote inside
 * counting as one, and Postgres' `=(...)` and `contains (...)` lists, nested parentheses included).
 * An unterminated quote masks to the end: the server cut the value or the message.
 */
export function maskQuotedValues(text: string): string {
  let out = '';
  let i = 0;
  while (i < text.length) {
    const opener = OPENERS.find((o) => text.startsWith(o.open, i));
    if (!opener) {
      out += text[i];
      i += 1;
      continue;
    }
    out += opener.open;
    i += opener.open.length;
    const end = opener.close === ')' ? closingParen(text, i) : closingQuote(text, i, opener.close);
    out += hide(text.slice(i, end));
    i = end;
    if (i < text.length) {
      out += opener.close;
      i += opener.close.length;
    }
  }
  return out;
}

function closingQuote(text: string, from: number, quote: string): number {
  let i = from;
  while (i < text.length) {
    if (text[i] === quote) {
      if (text[i + 1] === quote) {
        i += 2;
        continue;
      }
      return i;
    }
    i += 1;
  }
  return text.length;
}

function closingParen(text: string, from: number): number {
  let depth = 0;
  for (let i = from; i < text.length; i += 1) {
    if (text[i] === '(') depth += 1;
    else if (text[i] === ')') {
      if (depth === 0) return i;
      depth -= 1;
    }
  }
  return text.length;
}
