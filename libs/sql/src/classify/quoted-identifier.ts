/**
 * A double-quoted identifier as the server reads it in identifier lists and regclass text, starting at
 * the quote at `start`: kept as written, `""` standing for one quote. Undefined when it is not closed.
 * `end` is the index just after the closing quote.
 */
export function readQuotedIdentifier(text: string, start: number): { name: string; end: number } | undefined {
  let name = '';
  let i = start + 1;
  for (;;) {
    if (i >= text.length) return undefined;
    if (text[i] === '"') {
      if (text[i + 1] !== '"') return { name, end: i + 1 };
      i += 1;
    }
    name += text[i];
    i += 1;
  }
}
