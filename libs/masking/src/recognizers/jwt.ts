import type { EntityMatch, Recognizer } from '../types.js';
import { allMatches } from './all-matches.js';

// A JOSE header is a JSON object, so its first byte is '{' and its base64url starts with 'e'. The second
// character is 'y' when a '"' or a space follows the brace (`{"alg"` → `eyJ…`, `{ "alg"` → `eyAi…`) and
// 'w' when a tab or line break does (`{\n` → `ewog…`): `e[wy]` is the cheap test, decoding the header
// decides. A JWS has three parts (header.payload.signature; the signature is empty in an unsecured JWT,
// `alg: none`, and the payload in a detached one), a JWE five (header.key.iv.ciphertext.tag; the key is
// empty for `alg: dir`). The part classes exclude '.', so the parts split one way only (linear matching).
const TOKEN = /(?<![A-Za-z0-9_-])e[wy][A-Za-z0-9_-]{12,}(?:\.[A-Za-z0-9_-]*){2,4}/g;
/** Headers are small; refuse to decode anything bigger. */
const MAX_HEADER = 4096;

/** A JWS header has an `alg`, a JWE header an `alg` and an `enc` (RFC 7515, 7516). */
type HeaderKind = 'jws' | 'jwe' | undefined;

function headerKind(part: string): HeaderKind {
  if (part.length > MAX_HEADER) return undefined;
  try {
    const header: unknown = JSON.parse(Buffer.from(part, 'base64url').toString('utf8'));
    if (typeof header !== 'object' || header === null) return undefined;
    const { alg, enc } = header as { alg?: unknown; enc?: unknown };
    if (typeof alg !== 'string') return undefined;
    return typeof enc === 'string' ? 'jwe' : 'jws';
  } catch {
    return undefined;
  }
}

export const jwtRecognizer: Recognizer = {
  entity: 'jwt',
  mayMatch: (text, hints) => hints.hasDot && (text.includes('ey') || text.includes('ew')),
  find(text) {
    const found: EntityMatch[] = [];
    for (const m of allMatches(TOKEN, text)) {
      const parts = m[0].split('.');
      const kind = headerKind(parts[0] ?? '');
      if (kind === undefined) continue;
      // A JWS is its first three parts (a sentence's final '.' or a file suffix is not part of it); a JWE
      // all five, or what there is of it when it is cut short.
      const token = parts.slice(0, kind === 'jwe' ? 5 : 3).join('.');
      found.push({ entity: 'jwt', start: m.index, end: m.index + token.length, normalized: token });
    }
    return found;
  },
};
