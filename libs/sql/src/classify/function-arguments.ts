import { SqlClassificationError } from '../errors.js';
import { readQuotedIdentifier } from './quoted-identifier.js';

type Body = Record<string, unknown>;

function isObject(value: unknown): value is Body {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The value of a string constant argument (`'x'`, `E'x'`, `$$x$$`), or of one cast to one of `castTo`. */
export function literalArgument(arg: unknown, castTo: ReadonlySet<string>): string | undefined {
  if (!isObject(arg)) return undefined;
  const aConst = arg['A_Const'];
  if (isObject(aConst)) {
    const sval = aConst['sval'];
    return isObject(sval) && typeof sval['sval'] === 'string' ? sval['sval'] : undefined;
  }
  const cast = arg['TypeCast'];
  if (!isObject(cast)) return undefined;
  const typeName = cast['typeName'];
  const names = isObject(typeName) && Array.isArray(typeName['names']) ? typeName['names'] : [];
  const parts = names.map((n: unknown) => (isObject(n) && isObject(n['String']) ? n['String']['sval'] : undefined));
  const type = parts[parts.length - 1];
  // Only PostgreSQL's own type, as the server names it: `::evil.text` or `::"TEXT"` is another type, whose
  // cast to text may compute any value.
  if (parts.length > 2 || (parts.length === 2 && parts[0] !== 'pg_catalog')) return undefined;
  // Array casts and typmods (`::text[]`, `::varchar(5)`, which truncates) change the value: not literal.
  if (typeof type !== 'string' || !castTo.has(type)) return undefined;
  if (isObject(typeName) && (typeName['arrayBounds'] !== undefined || typeName['typmods'] !== undefined)) return undefined;
  const inner = cast['arg'];
  if (!isObject(inner) || !isObject(inner['A_Const'])) return undefined;
  return literalArgument(inner, castTo);
}

/**
 * The relation a regclass literal names, as the server's regclass input reads it: dot-separated
 * identifiers, double-quoted ones kept as written (`""` is a quote), others lower-cased; spaces around
 * them allowed. Anything else (an OID, trailing text) is refused: the table read could not be named.
 */
export function regclassName(text: string): string {
  const parts: string[] = [];
  let i = 0;
  const skipSpaces = () => {
    while (i < text.length && /\s/.test(text[i] ?? '')) i += 1;
  };
  for (;;) {
    skipSpaces();
    if (text[i] === '"') {
      const quoted = readQuotedIdentifier(text, i);
      if (quoted === undefined) throw refused(`unterminated quoted name in '${text}'`);
      if (quoted.name === '') throw refused(`empty quoted name in '${text}'`);
      parts.push(quoted.name);
      i = quoted.end;
    } else {
      const match = /^[A-Za-z_\u0080-\uffff][A-Za-z0-9_$\u0080-\uffff]*/.exec(text.slice(i));
      if (match === null) throw refused(`'${text}' is not a table name`);
      // Like the server's downcase_identifier: ASCII letters only.
      parts.push(match[0].replace(/[A-Z]/g, (c) => c.toLowerCase()));
      i += match[0].length;
    }
    skipSpaces();
    if (i >= text.length) break;
    if (text[i] !== '.') throw refused(`'${text}' is not a table name`);
    i += 1;
  }
  if (parts.length > 3) throw refused(`'${text}' has too many dotted parts for a table name`);
  return parts.join('.');
}

function refused(message: string): SqlClassificationError {
  return new SqlClassificationError('DYNAMIC_SQL', message);
}
