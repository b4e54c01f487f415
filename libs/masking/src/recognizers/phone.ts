import { findPhoneNumbersInText, parsePhoneNumberFromString, type CountryCode } from 'libphonenumber-js/max';

import type { EntityMatch, Recognizer } from '../types.js';

/** Characters that show a number was written as a phone number, not an id: `+`, brackets, separators. */
const PHONE_FORMATTING = /[+() .-]/;
/** Longest text handed to libphonenumber in one call; longer texts are scanned in overlapping windows. */
const WINDOW = 4096;
const OVERLAP = 64;

/** libphonenumber reads `,digits` after a number as a pause/extension; in CSV it is the next field. */
const FIELD_SEPARATOR = /[,;]/;

function findInWindow(text: string, offset: number, region: CountryCode | undefined, out: EntityMatch[]): void {
  for (const found of findPhoneNumbersInText(text, region ? { defaultCountry: region } : {})) {
    let raw = text.slice(found.startsAt, found.endsAt);
    let number = found.number;
    const cut = raw.search(FIELD_SEPARATOR);
    if (cut > 0) {
      raw = raw.slice(0, cut).trimEnd();
      const reparsed = parsePhoneNumberFromString(raw, region);
      if (reparsed === undefined) continue;
      number = reparsed;
    }
    // A bare digit string (order id, account number) is valid for some region far too often: only a
    // number written like a phone number counts.
    if (!PHONE_FORMATTING.test(raw) || !number.isValid()) continue;
    const start = offset + found.startsAt;
    out.push({ entity: 'phone', start, end: start + raw.length, normalized: number.number });
  }
}

export const phoneRecognizer: Recognizer = {
  entity: 'phone',
  mayMatch: (_text, hints) => hints.digits >= 7,
  find(text, options) {
    const region = options.defaultRegion;
    const found: EntityMatch[] = [];
    if (text.length <= WINDOW) {
      findInWindow(text, 0, region, found);
      return found;
    }
    // Bounded windows keep libphonenumber's cost proportional to the text; the overlap catches numbers
    // on a window edge, and duplicates from the overlap are dropped.
    const seen = new Set<number>();
    for (let start = 0; start < text.length; start += WINDOW - OVERLAP) {
      const part: EntityMatch[] = [];
      findInWindow(text.slice(start, start + WINDOW), start, region, part);
      for (const m of part) {
        if (seen.has(m.start)) continue;
        seen.add(m.start);
        found.push(m);
      }
    }
    return found;
  },
};
