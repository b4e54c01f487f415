import type { MysqlSessionStart } from '@gw/contracts';
import type { MysqlClassifier } from '@gw/sql-mysql';

/**
 * Collation ids (the handshake's one-byte character set) whose character set the server reads the
 * gateway's text in exactly as the classifier does: ASCII quotes and backslashes are never part of
 * another character. utf8mb4, utf8mb3, latin1, ascii, binary; 0 means the gateway's default (utf8mb4).
 * In GBK, Big5, SJIS, CP932 or GB18030 the UTF-8 bytes of `中\` end with a two-byte character whose second
 * byte is the backslash, so `SELECT '中\' ; DROP TABLE t; -- '` is one SELECT to the classifier and a
 * SELECT and a DROP to the server. `SET NAMES` to such a set is admin; the handshake cannot be held for
 * approval, so it is refused.
 */
const SAME_READING_COLLATIONS: ReadonlySet<number> = new Set([
  0,
  // utf8mb4
  45, 46, 255, ...range(224, 247),
  // utf8mb3
  33, 83, 223, ...range(192, 215),
  // latin1
  5, 8, 15, 31, 47, 48, 49, 94,
  // ascii, binary
  11, 65, 63,
]);

function range(from: number, to: number): number[] {
  return Array.from({ length: to - from + 1 }, (_, i) => from + i);
}

/**
 * What the client's login asks for that the gateway cannot let through before any statement is decided:
 * a character set the classifier would misread, or a default schema that `USE` would need an
 * administrator's policy for (`mysql`: its tables would then be named without their schema).
 * Returns the MySQL error to answer the login with, or undefined.
 */
export function startRefusal(start: Pick<MysqlSessionStart, 'charset' | 'schema'>, classifier: MysqlClassifier): { code: number; message: string } | undefined {
  if (!SAME_READING_COLLATIONS.has(start.charset)) {
    return { code: 1115, message: `character set number ${start.charset} is not supported through the gateway; connect with utf8mb4` };
  }
  if (start.schema !== null && start.schema !== '') {
    const [use] = classifier.classify(`USE \`${start.schema.replace(/`/g, '``')}\``);
    if (use === undefined || use.actions.includes('sql:admin')) {
      return { code: 1044, message: `a default schema "${start.schema}" cannot be given at connect through the gateway; connect without one and USE it` };
    }
  }
  return undefined;
}
