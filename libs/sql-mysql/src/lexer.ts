import { SqlClassificationError } from '@gw/sql';

/** One statement of a submitted text, cut where the server would cut it. */
export interface LexedStatement {
  /** The statement's own slice of the submitted text. */
  readonly text: string;
  /**
   * The text as the server executes it: executable comments (`/*! ... *\/`, `/*M! ... *\/`) unwrapped
   * (their content counts, whatever version they name: the stricter reading), plain comments blanked.
   */
  readonly code: string;
  /** `code` with single-quoted strings and numbers replaced by `?`: equal for statements that differ only in such constants. */
  readonly shape: string;
  /** Upper-cased words outside strings and quoted identifiers, in order (for the statement families the parser does not know). */
  readonly words: readonly string[];
}

export interface LexOptions {
  /**
   * Whether a backslash escapes the next character inside a string (the server's default; off under
   * sql_mode NO_BACKSLASH_ESCAPES). It decides where strings end, hence where statements end: the
   * caller tracks the server's status flag and passes it here.
   */
  readonly backslashEscapes: boolean;
}

const isWordChar = (c: string): boolean => /[A-Za-z0-9_$]/.test(c);

/**
 * Splits MySQL/MariaDB text into statements at `;` outside strings, quoted identifiers and comments,
 * the way the server's lexer does. Text the server would refuse to lex (an unterminated string or
 * comment) is refused here too.
 */
export function lexStatements(text: string, options: LexOptions): LexedStatement[] {
  const out: LexedStatement[] = [];
  let start = 0;
  let code = '';
  let shape = '';
  let words: string[] = [];
  let i = 0;
  const n = text.length;
  const push = (end: number): void => {
    const slice = text.slice(start, end);
    if (code.trim().length > 0) out.push({ text: slice.trim(), code: code.trim(), shape: shape.trim(), words });
    code = '';
    shape = '';
    words = [];
  };
  /** Inside an executable comment: its closing `*\/` is blanked, the content kept. */
  let executableDepth = 0;
  while (i < n) {
    const c = text[i]!;
    const next = text[i + 1] ?? '';
    if (c === "'" || c === '"' || c === '`') {
      const end = quoteEnd(text, i, c, options.backslashEscapes && c !== '`');
      const literal = text.slice(i, end);
      // The parser reads backslashes as escapes: under NO_BACKSLASH_ESCAPES a backslash is itself, so it is doubled for it.
      code += options.backslashEscapes || c === '`' ? literal : literal.replace(/\\/g, '\\\\');
      // Only single quotes are surely strings: "..." names an identifier under ANSI_QUOTES.
      shape += c === "'" ? '?' : text.slice(i, end);
      i = end;
      continue;
    }
    if (c === '/' && next === '*') {
      const executable = /^\/\*(M?!)(\d{5,6})?/.exec(text.slice(i, i + 10));
      if (executable) {
        code += ' '.repeat(executable[0].length);
        shape += ' ';
        i += executable[0].length;
        executableDepth += 1;
        continue;
      }
      const close = text.indexOf('*/', i + 2);
      if (close < 0) throw new SqlClassificationError('PARSE_ERROR', 'unterminated comment');
      code += ' ';
      shape += ' ';
      i = close + 2;
      continue;
    }
    if (c === '*' && next === '/' && executableDepth > 0) {
      executableDepth -= 1;
      code += '  ';
      shape += ' ';
      i += 2;
      continue;
    }
    if (c === '#' || (c === '-' && next === '-' && /[\s]/.test(text[i + 2] ?? ' ') )) {
      // Up to the end of the line; "--" only starts a comment when followed by a space or control char.
      if (c === '-' && i + 2 >= n) {
        i = n;
        continue;
      }
      const eol = text.indexOf('\n', i);
      code += ' ';
      shape += ' ';
      i = eol < 0 ? n : eol;
      continue;
    }
    // A ';' inside an executable comment ends the statement too (its content is code): both parts get classified.
    if (c === ';') {
      push(i);
      i += 1;
      start = i;
      continue;
    }
    if (isWordChar(c)) {
      let j = i + 1;
      while (j < n && isWordChar(text[j]!)) j++;
      const word = text.slice(i, j);
      // `@var` and `@@var` stay one word so SET statements can be read.
      const prefix = /@{1,2}$/.exec(code)?.[0] ?? '';
      words.push((prefix + word).toUpperCase());
      code += word;
      shape += /^(\d+|0x[0-9a-f]+)$/i.test(word) ? '?' : word;
      i = j;
      continue;
    }
    code += c;
    shape += /\s/.test(c) ? (shape.endsWith(' ') ? '' : ' ') : c;
    i += 1;
  }
  if (executableDepth > 0) throw new SqlClassificationError('PARSE_ERROR', 'unterminated executable comment');
  push(n);
  return out;
}

/** The offset just past the string or quoted identifier opening at `i` (a doubled quote continues it). */
function quoteEnd(text: string, i: number, quote: string, backslash: boolean): number {
  let j = i + 1;
  while (j < text.length) {
    const c = text[j]!;
    if (backslash && c === '\\') {
      j += 2;
      continue;
    }
    if (c === quote) {
      if (text[j + 1] === quote) {
        j += 2;
        continue;
      }
      return j + 1;
    }
    j += 1;
  }
  throw new SqlClassificationError('PARSE_ERROR', `unterminated ${quote === '`' ? 'quoted identifier' : 'string'}`);
}
