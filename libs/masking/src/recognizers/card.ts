import type { EntityMatch, Recognizer } from '../types.js';
import { digitsOf } from './text-hints.js';
import { allMatches } from './all-matches.js';

// A run of digit groups joined by single spaces or dashes, not part of a decimal or dotted string.
// A separator is required between groups, so the run splits one way only: matching is linear.
// Commas are not excluded around the run: CSV puts them there ("7,4111111111111111,USD"), and
// thousands groups (3 digits) are far too short to be a card on their own.
const RUN = /(?<![\d.])\d+(?:[ -]\d+)*(?![\d]|\.\d)/g;
const GROUP = /\d+/g;
const MIN_DIGITS = 13;
const MAX_DIGITS = 19;

/** Luhn (mod 10) checksum. */
export function luhnValid(digits: string): boolean {
  let sum = 0;
  let double = false;
  for (let i = digits.length - 1; i >= 0; i--) {
    let d = digits.charCodeAt(i) - 48;
    if (double) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
    double = !double;
  }
  return sum % 10 === 0;
}

interface IinRange {
  readonly from: number;
  readonly to: number;
  /** Number of leading digits compared. */
  readonly prefix: number;
  readonly lengths: readonly number[];
}

const r = (from: number, to: number, lengths: readonly number[]): IinRange => ({
  from,
  to,
  prefix: String(from).length,
  lengths,
});

/** Issuer identification ranges of the major networks (public scheme documentation). */
const IIN_RANGES: readonly IinRange[] = [
  r(4, 4, [13, 16, 19]), // Visa
  r(51, 55, [16]), // Mastercard
  r(2221, 2720, [16]), // Mastercard 2-series
  r(34, 34, [15]), // American Express
  r(37, 37, [15]),
  r(6011, 6011, [16, 17, 18, 19]), // Discover
  r(644, 649, [16, 17, 18, 19]),
  r(65, 65, [16, 17, 18, 19]),
  r(3528, 3589, [16, 17, 18, 19]), // JCB
  r(300, 305, [14, 15, 16, 17, 18, 19]), // Diners Club
  r(36, 36, [14, 15, 16, 17, 18, 19]),
  r(38, 39, [16, 17, 18, 19]),
  r(62, 62, [16, 17, 18, 19]), // UnionPay
  r(50, 50, [13, 14, 15, 16, 17, 18, 19]), // Maestro
  r(56, 58, [13, 14, 15, 16, 17, 18, 19]),
  r(6304, 6304, [16, 17, 18, 19]),
  r(6759, 6759, [13, 16, 18, 19]),
  r(2200, 2204, [16, 17, 18, 19]), // Mir
];

export function knownIin(digits: string): boolean {
  return IIN_RANGES.some((range) => {
    const head = Number(digits.slice(0, range.prefix));
    return head >= range.from && head <= range.to && range.lengths.includes(digits.length);
  });
}

/** Separators must be consistent: all spaces or all dashes, never mixed (`4111-1111 1111-1111` is noise). */
function consistentSeparators(raw: string): boolean {
  return !(raw.includes(' ') && raw.includes('-'));
}

/**
 * Card numbers inside one run: any span of whole groups with 13-19 digits (so `4111 1111 1111 1111 2024`
 * still finds the card). A run without separators must be a card on its own: a substring of a longer
 * number is never a card.
 */
function cardsInRun(run: string, offset: number, out: EntityMatch[]): void {
  const groups = [...allMatches(GROUP, run)].map((g) => ({ start: g.index, end: g.index + g[0].length }));
  let i = 0;
  while (i < groups.length) {
    let matchedTo = -1;
    let digits = 0;
    // Longest span first: prefer the whole number over a shorter prefix that happens to pass Luhn.
    const spans: { end: number; digits: number }[] = [];
    for (let j = i; j < groups.length; j++) {
      const g = groups[j];
      if (g === undefined) break;
      digits += g.end - g.start;
      if (digits > MAX_DIGITS) break;
      if (digits >= MIN_DIGITS) spans.push({ end: j, digits });
    }
    for (const span of spans.reverse()) {
      const first = groups[i];
      const last = groups[span.end];
      if (first === undefined || last === undefined) continue;
      const raw = run.slice(first.start, last.end);
      const number = digitsOf(raw);
      if (consistentSeparators(raw) && knownIin(number) && luhnValid(number)) {
        out.push({ entity: 'card', start: offset + first.start, end: offset + last.end, normalized: number });
        matchedTo = span.end;
        break;
      }
    }
    i = matchedTo >= 0 ? matchedTo + 1 : i + 1;
  }
}
export const cardRecognizer: Recognizer = {
  entity: 'card',
  mayMatch: (_text, hints) => hints.digits >= 13,
  find(text) {
    const found: EntityMatch[] = [];
    for (const m of allMatches(RUN, text)) {
      if (m[0].length < MIN_DIGITS) continue;
      cardsInRun(m[0], m.index, found);
    }
    return found;
  },
};
