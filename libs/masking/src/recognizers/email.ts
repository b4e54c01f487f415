import type { EntityMatch, Recognizer } from '../types.js';
import { allMatches } from './all-matches.js';

// Local part and labels have fixed maximum lengths (RFC 5321), which keeps every attempt bounded; the
// label class excludes '.', so the domain cannot be split two ways (no backtracking blow-up).
const EMAIL = /(?<![A-Za-z0-9._%+-])[A-Za-z0-9._%+-]{1,64}@[A-Za-z0-9-]{1,63}(?:\.[A-Za-z0-9-]{1,63}){1,8}/g;

function validLocal(local: string): boolean {
  return !local.startsWith('.') && !local.endsWith('.') && !local.includes('..');
}

function validDomain(domain: string): boolean {
  const labels = domain.split('.');
  const tld = labels[labels.length - 1] ?? '';
  return (
    domain.length <= 253 &&
    /^[A-Za-z]{2,63}$/.test(tld) &&
    labels.every((l) => l.length > 0 && !l.startsWith('-') && !l.endsWith('-'))
  );
}

export const emailRecognizer: Recognizer = {
  entity: 'email',
  mayMatch: (_text, hints) => hints.hasAt && hints.hasDot,
  find(text) {
    const found: EntityMatch[] = [];
    for (const m of allMatches(EMAIL, text)) {
      let value = m[0];
      // A sentence-ending '-' or similar is not part of the address.
      while (value.endsWith('-')) value = value.slice(0, -1);
      const at = value.indexOf('@');
      const local = value.slice(0, at);
      const domain = value.slice(at + 1);
      if (!validLocal(local) || !validDomain(domain)) continue;
      found.push({ entity: 'email', start: m.index, end: m.index + value.length, normalized: value.toLowerCase() });
    }
    return found;
  },
};
