import { scanSync } from 'libpg-query';

import { SqlClassificationError } from '../errors.js';

const utf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * The text of the statement inside `PREPARE name [(types)] AS statement`: everything after the first
 * `AS` keyword outside parentheses (type lists cannot contain one). Token offsets are UTF-8 byte offsets.
 */
export function preparedStatementText(prepareText: string): string {
  const bytes = Buffer.from(prepareText, 'utf8');
  let depth = 0;
  for (const token of scanSync(prepareText).tokens) {
    const text = utf8.decode(bytes.subarray(token.start, token.end));
    if (text === '(') depth++;
    else if (text === ')') depth--;
    else if (depth === 0 && token.keywordName === 'RESERVED_KEYWORD' && text.toLowerCase() === 'as') {
      return utf8.decode(bytes.subarray(token.end)).trim();
    }
  }
  throw new SqlClassificationError('MALFORMED_TREE', 'PREPARE without AS');
}
