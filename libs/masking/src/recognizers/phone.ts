import { findPhoneNumbersInText, parsePhoneNumberFromString, type CountryCode } from 'libphonenumber-js/max';

import type { EntityMatch, Recognizer } from '../types.js';
import { allMatches } from './all-matches.js';

/**
 * Spans that could be a written phone number: an optional `+` or `(`, then digits and the separators
 * people write between them, ending on a digit. Commas and semicolons are not separators here (in CSV
 * they end a field). libphonenumber runs only on these short spans, never on the whole text: that keeps
 * the cost proportional to the number of candidates, not to the text length times the matcher's cost.
 */
const CANDIDATE = /(?<![\w+])\+?\(?\d[\d ()./-]{5,30}\d/g;
/** Characters that show a number was written as a phone number, not an id: `+`, brackets, separators. */
const PHONE_FORMATTING = /[+() .-]/;
const MIN_DIGITS = 7;
/** E.164 allows at most 15 digits: a longer candidate may hold several numbers and needs the matcher. */
const MAX_SINGLE_NUMBER_DIGITS = 15;
/** Dates written with separators look like short phone numbers to libphonenumber. */
const DATE = /^(?:\d{4}[-/.]\d{1,2}[-/.]\d{1,2}|\d{1,2}[-/.]\d{1,2}[-/.]\d{2,4})$/;

function digitCount(text: string): number {
  let n = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c >= 48 && c <= 57) n++;
  }
  return n;
}

/** The common case, about 5x cheaper than the matcher: the candidate is one number, or none. */
function parseWholeCandidate(candidate: string, offset: number, region: CountryCode | undefined, out: EntityMatch[]): void {
  const number = parsePhoneNumberFromString(candidate, region);
  if (number?.isValid()) out.push({ entity: 'phone', start: offset, end: offset + candidate.length, normalized: number.number });
}

function findInCandidate(candidate: string, offset: number, region: CountryCode | undefined, out: EntityMatch[]): void {
  for (const found of findPhoneNumbersInText(candidate, region ? { defaultCountry: region } : {})) {
    const raw = candidate.slice(found.startsAt, found.endsAt);
    // A bare digit string (order id, account number) is valid for some region far too often: only a
    // number written like a phone number counts.
    if (!PHONE_FORMATTING.test(raw) || !found.number.isValid()) continue;
    out.push({ entity: 'phone', start: offset + found.startsAt, end: offset + found.endsAt, normalized: found.number.number });
  }
}

export const phoneRecognizer: Recognizer = {
  entity: 'phone',
  mayMatch: (_text, hints) => hints.digits >= MIN_DIGITS,
  find(text, options) {
    const found: EntityMatch[] = [];
    for (const m of allMatches(CANDIDATE, text)) {
      const candidate = m[0];
      const digits = digitCount(candidate);
      if (!PHONE_FORMATTING.test(candidate) || digits < MIN_DIGITS || DATE.test(candidate)) continue;
      // A national number (no '+') means nothing without a region to read it in.
      if (!candidate.startsWith('+') && options.defaultRegion === undefined) continue;
      if (digits <= MAX_SINGLE_NUMBER_DIGITS) parseWholeCandidate(candidate, m.index, options.defaultRegion, found);
      else findInCandidate(candidate, m.index, options.defaultRegion, found);
    }
    return found;
  },
};
