import type { Node } from 'web-tree-sitter';

/**
 * The value of one shell word when it is fixed by its text alone, after quote removal; `undefined`
 * when the shell would compute it (parameter, command or arithmetic expansion, globbing, brace
 * expansion, tilde) or when the word was cut by a line continuation the grammar does not join.
 */
export function staticWordValue(node: Node): string | undefined {
  switch (node.type) {
    case 'word':
      return unquotedWord(node.text);
    case 'number':
      // `-10`, `0x1f`, `8#17`: literal text (an arithmetic context reads the literal the same way).
      return /^[-+]?[0-9A-Za-z#]+$/.test(node.text) ? node.text : undefined;
    case 'raw_string':
      return node.text.slice(1, -1);
    case 'ansi_c_string': {
      // A NUL ends the word in bash (C strings) but not in zsh: which program it names depends on the
      // login shell (`$'rm\0x'` is `rm` in bash), so such a word is treated as computed.
      const value = decodeAnsiC(node.text.slice(2, -1));
      return value === undefined || value.includes('\0') ? undefined : value;
    }
    case 'string':
    case 'translated_string':
      return doubleQuoted(node);
    case 'concatenation': {
      let value = '';
      for (const part of node.namedChildren) {
        if (!part) return undefined;
        const v = staticWordValue(part);
        if (v === undefined) return undefined;
        value += v;
      }
      // Adjacent pieces the grammar split off an unquoted word may still form a glob or a brace list.
      return node.children.some((c) => c?.type === 'word' && /[{}]/.test(c.text)) ? undefined : value;
    }
    default:
      return undefined;
  }
}

const GLOB_OR_EXPANSION = /[*?[{}]/;

function unquotedWord(text: string): string | undefined {
  let out = '';
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (c === '\\') {
      if (i + 1 >= text.length) return undefined; // a line continuation split this word: fail closed
      const next = text[i + 1]!;
      i++;
      if (next !== '\n') out += next;
      continue;
    }
    if (GLOB_OR_EXPANSION.test(c) || c === '$' || c === '`') return undefined;
    if (c === '~' && i === 0) return undefined;
    out += c;
  }
  return out;
}

function doubleQuoted(node: Node): string | undefined {
  if (node.namedChildren.some((c) => c?.type !== 'string_content')) return undefined;
  const text = node.text.startsWith('$') ? node.text.slice(1) : node.text;
  if (!text.startsWith('"') || !text.endsWith('"') || text.length < 2) return undefined;
  // Inside double quotes a backslash escapes only $ ` " \ and newline (which it removes).
  return text.slice(1, -1).replace(/\\([$`"\\\n])/g, (_m, c: string) => (c === '\n' ? '' : c));
}

const SIMPLE_ESCAPES: Record<string, string> = { a: '\x07', b: '\b', e: '\x1b', E: '\x1b', f: '\f', n: '\n', r: '\r', t: '\t', v: '\v', '\\': '\\', "'": "'", '"': '"', '?': '?' };

/**
 * Bash's `$'...'` (ANSI-C quoting): the escapes are decoded as bash does; undefined for a `\u`/`\U`
 * beyond Unicode (`$'\UFFFFFFFF'`), whose bytes depend on the shell's locale.
 */
export function decodeAnsiC(body: string): string | undefined {
  let invalid = false;
  const value = body.replace(/\\(x[0-9A-Fa-f]{1,2}|u[0-9A-Fa-f]{1,4}|U[0-9A-Fa-f]{1,8}|[0-7]{1,3}|c.|.)/gs, (match, esc: string) => {
    const head = esc[0]!;
    if (head === 'x' || head === 'u' || head === 'U') {
      const code = parseInt(esc.slice(1), 16);
      if (code > 0x10ffff) invalid = true;
      return code > 0x10ffff ? '' : String.fromCodePoint(code);
    }
    if (/[0-7]/.test(head)) return String.fromCharCode(parseInt(esc, 8) & 0xff);
    if (head === 'c' && esc.length === 2) return String.fromCharCode(esc.charCodeAt(1) & 0x1f);
    return SIMPLE_ESCAPES[head] ?? match;
  });
  return invalid ? undefined : value;
}
