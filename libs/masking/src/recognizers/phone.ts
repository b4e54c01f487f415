import { findPhoneNumbersInText, parsePhoneNumberFromString, type CountryCode, type PhoneNumber } from 'libphonenumber-js/max';

import type { EntityMatch, Recognizer } from '../types.js';
import { allMatches } from './all-matches.js';

/**
 * Spans that could be a written phone number: an optional `+` or `(`, then digits and the separators
 * people write between them, ending on a digit. Commas and semicolons are not separators here (in CSV
 * they end a field). libphonenumber runs only on these short spans, never on the whole text: that keeps
 * the cost proportional to the number of candidates, not to the text length times the matcher's cost.
 * A candidate does not start inside a hyphenated token (the digit groups of a UUID
 * `a3bb189e-8bf9-3888-9912-…`) nor after `digit:` (the seconds and fraction of a time `12:30:45.123456`).
 */
const CANDIDATE = /(?<![\w+]|\w-|\d:)\+?\(?\d[\d ()./-]{5,30}\d/g;
/** Characters that show a number was written as a phone number, not an id: `+`, brackets, separators. */
const PHONE_FORMATTING = /[+() .-]/;
/**
 * A trunk-`0` area code and the subscriber number joined by a slash, as German and Austrian numbers
 * were long written (`030/1234567`, `0171/1234567`): formatting too, in that one shape.
 */
const AREA_CODE_SLASH = /^0\d{1,5}\/\d{3,}$/;
const MIN_DIGITS = 7;
/** E.164 allows at most 15 digits: a longer candidate may hold several numbers and needs the matcher. */
const MAX_SINGLE_NUMBER_DIGITS = 15;
/** Dates written with separators look like short phone numbers to libphonenumber. */
const DATE = /^(?:\d{4}[-/.]\d{1,2}[-/.]\d{1,2}|\d{1,2}[-/.]\d{1,2}[-/.]\d{2,4})$/;
/**
 * A date at the start of a longer candidate: a timestamp (`2024-01-15 12:30:45`, timestamptz output)
 * reads as `2024-01-15 12`, ten digits, a valid NANP number. The date is not part of a phone number.
 */
const DATE_PREFIX = /^(?:\d{4}[-/.](?:0?[1-9]|1[0-2])[-/.](?:0?[1-9]|[12]\d|3[01])|(?:0?[1-9]|[12]\d|3[01])[-/.](?:0?[1-9]|1[0-2])[-/.]\d{4})(?!\d)/;
/** A hyphenated ISBN-10 (`0-306-40615-2`): four groups, ten characters, the last a check digit or X. */
const ISBN10 = /^\d{1,5}-\d{1,7}-\d{1,7}-[\dX]$/;
/**
 * Words that announce a phone number; looked for in the CONTEXT_WINDOW characters before bare digits.
 * A word ends at anything but a letter, so key names count too (`customer_tel=`, `fax2:`).
 */
const CONTEXT = /(?:phone|(?<![a-z])tel(?![a-z])|(?<![a-z])telephone|mobile|(?<![a-z])cell|(?<![a-z])fax(?![a-z])|msisdn|whatsapp)/i;
const CONTEXT_WINDOW = 40;
/** `00` is the international call prefix almost everywhere (`0044 20 7946 0958`, `00 44 20 …` = `+44 20 7946 0958`). */
const INTERNATIONAL_00 = /^\(?00[ .-]?(?=[1-9])/;
const INTERNATIONAL_011 = /^\(?011[ .-]?(?=[1-9])/;
/**
 * Besides the configured region's national numbers (if any), a national number is read in the two shapes
 * that say where they are from: ten NANP digits (area code not starting with 0 or 1, optionally after a
 * `1`) as US/Canada, and a trunk `0` prefix in the countries that use one. Other bare national forms need
 * `defaultRegion`.
 */
const NANP = /^(?:\+?1[ .-]?)?\(?[2-9]\d{2}\)?[ .-]{0,2}\d{3}[ .-]?\d{4}$/;
const TRUNK_ZERO = /^\(?0/;
const TRUNK_ZERO_REGIONS: readonly CountryCode[] = ['GB', 'DE', 'FR', 'ES', 'NL', 'BE', 'CH', 'AT', 'SE', 'AU', 'NZ', 'IN', 'JP', 'BR', 'ZA', 'IE', 'PL'];

function digitCount(text: string): number {
  let n = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c >= 48 && c <= 57) n++;
  }
  return n;
}

/** ISBN-10 check: the digits weighted 10..1 (X = 10) sum to a multiple of 11. */
function isIsbn10(candidate: string): boolean {
  const chars = candidate.replace(/-/g, '');
  if (chars.length !== 10 || !ISBN10.test(candidate)) return false;
  let sum = 0;
  for (let i = 0; i < 10; i++) sum += (10 - i) * (chars[i] === 'X' ? 10 : Number(chars[i]));
  return sum % 11 === 0;
}

function valid(text: string, region?: CountryCode): PhoneNumber | undefined {
  const number = parsePhoneNumberFromString(text, region);
  return number?.isValid() ? number : undefined;
}

/**
 * Whether a national number is written without the trunk `0` its country writes it with: `2019-2024`,
 * `48.858844`, `94105-1234` read in DE are 0201 92024, 04885 8844, 0941 051234 (German numbers are of
 * any length), but nobody writes a German, French or British number without its `0`: these are year
 * ranges, coordinates, ZIP+4 codes, ids. Only a hint (the value's name or a word like `phone` before it)
 * says otherwise.
 */
function lostTrunkPrefix(candidate: string, number: PhoneNumber): boolean {
  return TRUNK_ZERO.test(number.format('NATIONAL')) && !TRUNK_ZERO.test(candidate);
}

/**
 * One candidate read as a single phone number, or undefined: international (`+`, `00`), in the
 * configured region, in the regions its shape names, and with a hint also as E.164 without its `+`.
 */
export function parsePhoneCandidate(candidate: string, region: CountryCode | undefined, hinted: boolean): PhoneNumber | undefined {
  if (candidate.startsWith('+')) return valid(candidate);
  if (INTERNATIONAL_00.test(candidate)) {
    const international = valid(candidate.replace(INTERNATIONAL_00, '+'));
    if (international) return international;
  }
  if (region) {
    const national = valid(candidate, region);
    if (national && (hinted || !lostTrunkPrefix(candidate, national))) return national;
  }
  // The shapes that say where a number is from count with a region too: a gateway configured for DE
  // still sees US and British customers' numbers.
  if (NANP.test(candidate)) {
    const nanp = valid(candidate, 'US');
    if (nanp) return nanp;
  } else if (TRUNK_ZERO.test(candidate)) {
    for (const r of TRUNK_ZERO_REGIONS) {
      const national = r === region ? undefined : valid(candidate, r);
      if (national) return national;
    }
  }
  // `011` is the international call prefix of the NANP countries (`011 44 20 7946 0958`).
  if (INTERNATIONAL_011.test(candidate)) {
    const international = valid(candidate.replace(INTERNATIONAL_011, '+'));
    if (international) return international;
  }
  return hinted && /^\d+$/.test(candidate) ? valid(`+${candidate}`) : undefined;
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
      let candidate = m[0];
      let start = m.index;
      // A timestamp's date is no part of a phone number: what follows it may still be one.
      const date = DATE_PREFIX.exec(candidate);
      if (date !== null) {
        const rest = /\+?\(?\d[\d ()./-]*$/.exec(candidate.slice(date[0].length).replace(/^[ ./-]+/, ''));
        if (rest === null) continue;
        start += candidate.length - rest[0].length;
        candidate = rest[0];
      }
      const digits = digitCount(candidate);
      if (digits < MIN_DIGITS || DATE.test(candidate)) continue;
      // A book number, not a phone number (`0-306-40615-2` is a valid number in France).
      if (isIsbn10(candidate)) continue;
      // An extension (`ext. 12`, `x12`) ends the candidate at its letters: the number before it is
      // masked, the extension alone identifies no one.
      // A bare digit string is a phone number only where the value's name or the words before it say so.
      const hinted = options.hints?.phone === true || CONTEXT.test(text.slice(Math.max(0, start - CONTEXT_WINDOW), start));
      if (!PHONE_FORMATTING.test(candidate) && !AREA_CODE_SLASH.test(candidate) && !hinted) continue;
      if (digits > MAX_SINGLE_NUMBER_DIGITS) {
        // Several numbers in one span: the matcher (costly) reads them, in the configured region or as
        // international numbers; without a region it runs only where the span starts like one.
        if (options.defaultRegion !== undefined || /^(?:\+|\(?00)/.test(candidate)) findInCandidate(candidate, start, options.defaultRegion, found);
        continue;
      }
      const number = parsePhoneCandidate(candidate, options.defaultRegion, hinted);
      if (number) found.push({ entity: 'phone', start, end: start + candidate.length, normalized: number.number });
    }
    return found;
  },
};
