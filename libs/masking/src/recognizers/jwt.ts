import type { EntityMatch, Recognizer } from '../types.js';
import { allMatches } from './all-matches.js';

// A JOSE header is a JSON object, so its base64url starts with "eyJ" ('{"'). The part classes exclude
// '.', so the three parts split one way only (linear matching). The signature may be empty (alg none).
const JWT = /(?<![A-Za-z0-9_-])eyJ[A-Za-z0-9_-]{2,}\.[A-Za-z0-9_-]{2,}\.[A-Za-z0-9_-]*/g;
/** Headers are small; refuse to decode anything bigger. */
const MAX_HEADER = 4096;

function headerHasAlg(part: string): boolean {
  if (part.length > MAX_HEADER) return false;
  try {
    const header: unknown = JSON.parse(Buffer.from(part, 'base64url').toString('utf8'));
    return typeof header === 'object' && header !== null && typeof (header as { alg?: unknown }).alg === 'string';
  } catch {
    return false;
  }
}

export const jwtRecognizer: Recognizer = {
  entity: 'jwt',
  mayMatch: (text) => text.includes('eyJ'),
  find(text) {
    const found: EntityMatch[] = [];
    for (const m of allMatches(JWT, text)) {
      const header = m[0].slice(0, m[0].indexOf('.'));
      if (headerHasAlg(header)) found.push({ entity: 'jwt', start: m.index, end: m.index + m[0].length, normalized: m[0] });
    }
    return found;
  },
};
