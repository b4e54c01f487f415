import { getCountrySpecifications, isValidIBAN } from 'ibantools';

import type { EntityMatch, Recognizer } from '../types.js';
import { allMatches } from './all-matches.js';

/** Country code + check digits at a word start (any case: `lower(iban)`); the rest is read char by char below. */
const START = /(?<![A-Za-z0-9])[A-Za-z]{2}\d{2}/g;
const SPECS = getCountrySpecifications();

function isAlnum(c: string | undefined): boolean {
  return c !== undefined && /[A-Za-z0-9]/.test(c);
}

/**
 * Between two characters of an IBAN: up to MAX_BLANKS spaces and tabs (the printed form groups by 4; text
 * aligned by hand or pasted from a table has `DE89  3704 …`, `GB82\tWEST …`), or a single dash, dot,
 * slash, underscore or `+` (a space in a query string or form body: `iban=DE89+3704+…`).
 */
const BLANKS: ReadonlySet<string> = new Set([' ', '\t']);
const MAX_BLANKS = 3;
const SEPARATORS: ReadonlySet<string> = new Set(['-', '.', '/', '_', '+']);

/** The length of the separator at `i`, 0 if there is none. */
function separatorAt(text: string, i: number): number {
  let n = 0;
  while (n < MAX_BLANKS && BLANKS.has(text[i + n] ?? '')) n++;
  if (n > 0) return n;
  return SEPARATORS.has(text[i] ?? '') ? 1 : 0;
}

/**
 * Reads exactly the country's IBAN length in letters/digits from `start`, allowing a separator between
 * them. Returns the end index, or undefined. The mod-97 check afterwards keeps the few extra spellings
 * this allows from matching anything but an IBAN.
 */
function readIban(text: string, start: number, length: number): { end: number; compact: string } | undefined {
  let compact = '';
  let i = start;
  while (i < text.length && compact.length < length) {
    const c = text[i];
    if (isAlnum(c)) {
      compact += (c ?? '').toUpperCase();
      i++;
      continue;
    }
    const separator = compact.length > 0 ? separatorAt(text, i) : 0;
    if (separator === 0 || !isAlnum(text[i + separator])) break;
    i += separator;
  }
  // The IBAN must end at a token boundary: `DE89...3000X` is not an IBAN followed by X.
  if (compact.length !== length || isAlnum(text[i])) return undefined;
  return { end: i, compact };
}

export const ibanRecognizer: Recognizer = {
  entity: 'iban',
  mayMatch: (_text, hints) => hints.digits >= 4,
  find(text) {
    const found: EntityMatch[] = [];
    for (const m of allMatches(START, text)) {
      const length = SPECS[m[0].slice(0, 2).toUpperCase()]?.chars;
      if (typeof length !== 'number') continue;
      const iban = readIban(text, m.index, length);
      if (iban !== undefined && isValidIBAN(iban.compact)) {
        found.push({ entity: 'iban', start: m.index, end: iban.end, normalized: iban.compact });
      }
    }
    return found;
  },
};
