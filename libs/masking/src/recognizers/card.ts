import type { EntityMatch, Recognizer } from '../types.js';
import { allMatches } from './all-matches.js';

// A run of digit groups joined by short separators: spaces, dashes, dots, slashes, underscores, in
// any mix (`4111.1111_1111/1111`, `4111 - 1111 - 1111 - 1111`), a single '+' (a space in a query string
// or form body: `pan=4111+1111+1111+1111`), or commas in thousands grouping (`$4,111,111,111,111,111.00`,
// the money type). Separators and digits never overlap, so the run splits one way only and matching is
// linear. Commas otherwise end a run: CSV puts them around fields. A '+' only joins digits it touches,
// so the '+' of a phone number after a number (`12 +44 20 …`) joins nothing.
const RUN = /(?<!\d)\d+(?:(?:[ \-./_]{1,3}|\+|,(?=\d{3}(?!\d)))\d+)*(?!\d)/g;
const GROUP = /\d+/g;
// A number in exponent notation (float8 output `4.111111111111111e+15`, JSON numbers, a three-digit
// exponent as C runtimes on Windows print it: `4.111111111111111E+015`): its digits are the card's digits.
const EXPONENT = /(?<![\w.])(\d)(?:\.(\d{1,20}))?[eE]\+?0?(\d{1,2})(?![\d.])/g;
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

/** The card lengths (bit n set: n digits) that the issuer ranges allow for a number starting with `digits`. */
function issuerLengths(digits: string): number {
  // The number's first one to four digits, read once (each range compares one of them).
  const heads = [0, Number(digits.slice(0, 1)), Number(digits.slice(0, 2)), Number(digits.slice(0, 3)), Number(digits.slice(0, 4))];
  let lengths = 0;
  for (const range of IIN_RANGES) {
    const head = heads[range.prefix]!;
    if (head >= range.from && head <= range.to) for (const length of range.lengths) lengths |= 1 << length;
  }
  return lengths;
}

export function knownIin(digits: string): boolean {
  return (issuerLengths(digits) & (1 << digits.length)) !== 0;
}

/** A validated card number: a known issuer range and length, and the Luhn checksum. */
export function isCardNumber(digits: string): boolean {
  return digits.length >= MIN_DIGITS && digits.length <= MAX_DIGITS && knownIin(digits) && luhnValid(digits);
}

/**
 * Card numbers inside one run: any span of whole groups with 13-19 digits (so `4111 1111 1111 1111 2024`
 * still finds the card, and so does `4111111111111111.00`). A run without separators must be a card on
 * its own: a substring of a longer number is never a card. A span never starts right after a dot that
 * follows a digit: that is a decimal fraction (`0.4111111111111111` is what random() returns).
 *
 * Cost: a run of many short groups (`4 4 4 4 …`: a long list of small numbers, or a value crafted to
 * stall the agent that masks it) is read once per starting group, and a start costs a lookup of the
 * issuer ranges and a Luhn check per length they allow, on slices of the run's digits (no copies).
 */
function cardsInRun(run: string, offset: number, out: EntityMatch[], backwards: boolean): void {
  const groups = [...allMatches(GROUP, run)].map((g) => ({ start: g.index, end: g.index + g[0].length }));
  // The run's digits without separators, and where each group's digits start in them.
  const digits = groups.map((g) => run.slice(g.start, g.end)).join('');
  const at: number[] = [0];
  for (const g of groups) at.push(at[at.length - 1]! + g.end - g.start);
  let i = 0;
  while (i < groups.length) {
    const matchedTo = afterDecimalPoint(run, groups[i - 1], groups[i]!) ? -1 : longestCardFrom(run, groups, digits, at, i, offset, out, backwards);
    i = matchedTo >= 0 ? matchedTo + 1 : i + 1;
  }
}

/** Whether the group follows a dot (and nothing else) after the previous group: a decimal fraction. */
function afterDecimalPoint(run: string, previous: { end: number } | undefined, group: { start: number }): boolean {
  return previous !== undefined && run.slice(previous.end, group.start).trim() === '.';
}

/**
 * The longest span of whole groups from `groups[i]` that is a card (longest first: prefer the whole
 * number over a shorter prefix that happens to pass Luhn): pushed to `out`, and the index of its last
 * group returned; -1 when there is none.
 */
function longestCardFrom(
  run: string,
  groups: readonly { start: number; end: number }[],
  digits: string,
  at: readonly number[],
  i: number,
  offset: number,
  out: EntityMatch[],
  backwards: boolean,
): number {
  const from = at[i]!;
  // Every issuer range starts with 2, 3, 4, 5 or 6.
  const lead = digits.charCodeAt(from);
  if (lead < 0x32 || lead > 0x36) return -1;
  const lengths = issuerLengths(digits.slice(from, from + 4));
  if (lengths === 0) return -1;
  let last = i;
  while (last + 1 < groups.length && at[last + 2]! - from <= MAX_DIGITS) last++;
  for (let j = last; j >= i; j--) {
    const length = at[j + 1]! - from;
    if (length < MIN_DIGITS) break;
    if ((lengths & (1 << length)) === 0) continue;
    const number = digits.slice(from, from + length);
    if (!luhnValid(number)) continue;
    // Read backwards, a zero-padded id (see RecognizerOptions.backwards).
    if (backwards && number.endsWith('0000')) continue;
    const start = groups[i]!.start;
    const end = groups[j]!.end;
    // One dot and nothing else between the groups is a decimal point, not card formatting.
    if (isDecimal(run.slice(start, end))) continue;
    out.push({ entity: 'card', start: offset + start, end: offset + end, normalized: number });
    return j;
  }
  return -1;
}

export const cardRecognizer: Recognizer = {
  entity: 'card',
  mayMatch: (_text, hints) => hints.digits >= 13,
  find(text, options) {
    const found: EntityMatch[] = [];
    for (const m of allMatches(RUN, text)) {
      if (m[0].length < MIN_DIGITS) continue;
      cardsInRun(m[0], m.index, found, options.backwards === true);
    }
    for (const m of allMatches(EXPONENT, text)) {
      const [, lead = '', fraction = '', exponent = ''] = m;
      const number = integerDigits(lead + fraction, Number(exponent));
      if (number !== undefined && isCardNumber(number)) found.push({ entity: 'card', start: m.index, end: m.index + m[0].length, normalized: number });
    }
    return found;
  },
};

function isDecimal(raw: string): boolean {
  const dot = raw.indexOf('.');
  return dot >= 0 && raw.indexOf('.', dot + 1) < 0 && /^[\d.]+$/.test(raw);
}

/** `d.ddd` times 10^exponent as an integer's digits, or undefined when it is not a whole number. */
function integerDigits(digits: string, exponent: number): string | undefined {
  const wholeLength = exponent + 1;
  if (digits.length > wholeLength) return digits.slice(wholeLength).replace(/0+$/, '') === '' ? digits.slice(0, wholeLength) : undefined;
  return digits.padEnd(wholeLength, '0');
}
