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
  /**
   * What each double-quoted token names under sql_mode ANSI_QUOTES (a session setting the status flags do not
   * show), lower-cased: an identifier there, a string elsewhere. The parser reads a string, so
   * `SELECT CONCAT("ssn", '') FROM c` would reference no column; the classifier counts these as columns too.
   */
  readonly quotedNames: readonly string[];
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
  /**
   * Whether `shape` ends with a space. Kept here rather than asked of the string: `code` and `shape` are built by
   * appending, and asking such a string about its end flattens it each time, quadratic in the text's length.
   */
  let shapeSpace = false;
  const addShape = (part: string): void => {
    shape += part;
    if (part !== '') shapeSpace = part.endsWith(' ');
  };
  let words: string[] = [];
  let quotedNames: string[] = [];
  let i = 0;
  const n = text.length;
  const push = (end: number): void => {
    const slice = text.slice(start, end);
    if (code.trim().length > 0) out.push({ text: slice.trim(), code: code.trim(), shape: shape.trim(), words, quotedNames });
    code = '';
    shape = '';
    shapeSpace = false;
    words = [];
    quotedNames = [];
  };
  /** Inside an executable comment: its closing `*\/` is blanked, the content kept. */
  let executableDepth = 0;
  /**
   * For each open executable comment, where a server that skips it would see it end (see skippedCommentEnd),
   * or -1 for `/*!` without a version, which every server runs.
   */
  const skippedEnds: number[] = [];
  while (i < n) {
    const c = text[i]!;
    const next = text[i + 1] ?? '';
    // The server stops a `#` / `-- ` comment at NUL and reads it as a character elsewhere: refuse the divergence.
    if (c === '\0') throw new SqlClassificationError('PARSE_ERROR', 'statement text contains a NUL character');
    if (c === "'" || c === '"' || c === '`') {
      const end = quoteEnd(text, i, c, options.backslashEscapes && c !== '`');
      // Under sql_mode ANSI_QUOTES (a session setting) "..." is an identifier, where a backslash escapes
      // nothing: `SELECT "a\" FROM (SELECT 1 AS \`a\\\`) d; DROP TABLE t; -- "` is one string to the
      // classifier and a SELECT and a DROP to such a server. Refused when the two readings end apart.
      if (c === '"' && options.backslashEscapes && ansiQuoteEnd(text, i) !== end) {
        throw new SqlClassificationError('PARSE_ERROR', 'a double-quoted string or identifier ends elsewhere under ANSI_QUOTES');
      }
      const literal = text.slice(i, end);
      if (c === '"') quotedNames.push(literal.slice(1, -1).replace(/""/g, '"').toLowerCase());
      // The parser reads backslashes as escapes: under NO_BACKSLASH_ESCAPES a backslash is itself, so it is doubled for it.
      code += options.backslashEscapes || c === '`' ? literal : literal.replace(/\\/g, '\\\\');
      // Only single quotes are surely strings: "..." names an identifier under ANSI_QUOTES.
      addShape(c === "'" ? '?' : text.slice(i, end));
      i = end;
      continue;
    }
    if (c === '/' && next === '*') {
      const executable = /^\/\*(M?!)(\d{5,6})?/.exec(text.slice(i, i + 10));
      if (executable) {
        // The server does not nest them: inside one, `/*!` is dropped and the first `*/` ends the outer comment, so the
        // second `*/` is `*` and the start of a comment to it (`/*!, 2 /*!, 3 */, 4 */* '*/', ' ; DELETE ...; -- '` hides a DELETE).
        if (executableDepth > 0) throw new SqlClassificationError('PARSE_ERROR', 'an executable comment nested in another');
        code += ' '.repeat(executable[0].length);
        addShape(' ');
        i += executable[0].length;
        executableDepth += 1;
        // A version (or MariaDB's `M!`, plain text to MySQL) means some servers skip the comment instead.
        skippedEnds.push(executable[1] === '!' && executable[2] === undefined ? -1 : skippedCommentEnd(text, i));
        continue;
      }
      const close = text.indexOf('*/', i + 2);
      if (close < 0) throw new SqlClassificationError('PARSE_ERROR', 'unterminated comment');
      if (text.slice(i, close).includes('\0')) throw new SqlClassificationError('PARSE_ERROR', 'statement text contains a NUL character');
      code += ' ';
      addShape(' ');
      i = close + 2;
      continue;
    }
    if (c === '*' && next === '/' && executableDepth > 0) {
      const skippedEnd = skippedEnds.pop()!;
      // Read as code, the comment ends here; a server that skips it stops at the first `*\/`. If a quote or a
      // comment inside moved the end (`/*!99999 ' *\/ ; DROP TABLE t; -- ' *\/`), the two readings are
      // different statements and the classifier cannot know which one the server runs.
      if (skippedEnd >= 0 && skippedEnd !== i) {
        throw new SqlClassificationError('PARSE_ERROR', 'a versioned comment ends elsewhere when the server skips it');
      }
      executableDepth -= 1;
      code += '  ';
      addShape(' ');
      i += 2;
      continue;
    }
    if (c === '#' || (c === '-' && next === '-' && startsDashComment(text[i + 2]))) {
      // Up to the end of the line; "--" only starts a comment when followed by a space or control char.
      if (c === '-' && i + 2 >= n) {
        i = n;
        continue;
      }
      const eol = text.indexOf('\n', i);
      if (text.slice(i, eol < 0 ? n : eol).includes('\0')) throw new SqlClassificationError('PARSE_ERROR', 'statement text contains a NUL character');
      code += ' ';
      addShape(' ');
      i = eol < 0 ? n : eol;
      continue;
    }
    // `[x]` quotes an identifier under sql_mode MSSQL (a quote inside it is no string): no MariaDB statement has a
    // bracket outside strings otherwise, so one means the server may be cutting the text differently.
    if (c === '[' || c === ']') throw new SqlClassificationError('PARSE_ERROR', 'a square bracket outside strings (an identifier quote under sql_mode MSSQL)');
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
      // (Read off the text: an `@` is always copied to `code` as it is, so `code` ends with the same ones.)
      const prefix = text[i - 1] !== '@' ? '' : text[i - 2] === '@' ? '@@' : '@';
      words.push((prefix + word).toUpperCase());
      code += word;
      addShape(/^(\d+|0x[0-9a-f]+)$/i.test(word) ? '?' : word);
      i = j;
      continue;
    }
    code += c;
    addShape(/\s/.test(c) ? (shapeSpace ? '' : ' ') : c);
    i += 1;
  }
  if (executableDepth > 0) throw new SqlClassificationError('PARSE_ERROR', 'unterminated executable comment');
  push(n);
  return out;
}

/**
 * Whether `--` followed by this character starts a comment: the server wants an ASCII space or control
 * character (its ctype tables; end of text counts). JavaScript's `\s` would also take U+00A0, U+3000,
 * U+FEFF and other Unicode spaces, which the server reads as part of an identifier: `SELECT 1 --\u00a0...;
 * DROP TABLE t` would hide a statement the server runs.
 */
function startsDashComment(c: string | undefined): boolean {
  if (c === undefined) return true;
  const code = c.charCodeAt(0);
  return code <= 0x20 || code === 0x7f;
}

/**
 * Where a server that skips the executable comment whose content starts at `from` sees it end: at the
 * first `*\/`, quotes meaning nothing. MySQL lets one nested `/* *\/` comment in there and MariaDB may
 * not: a nested comment opener makes the end unknowable, refused.
 */
function skippedCommentEnd(text: string, from: number): number {
  const end = text.indexOf('*/', from);
  if (end < 0) throw new SqlClassificationError('PARSE_ERROR', 'unterminated executable comment');
  if (text.slice(from, end).includes('/*')) throw new SqlClassificationError('PARSE_ERROR', 'a comment nested in a versioned comment');
  return end;
}

/** Where the `"` token opening at `i` ends when a backslash escapes nothing (-1: it does not end). */
function ansiQuoteEnd(text: string, i: number): number {
  try {
    return quoteEnd(text, i, '"', false);
  } catch {
    return -1;
  }
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
