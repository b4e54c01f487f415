import type { CountryCode } from 'libphonenumber-js';

import type { ValueHints } from './hints.js';
import { isCardNumber } from './recognizers/card.js';
import { parsePhoneCandidate } from './recognizers/phone.js';
import { ssnValid } from './recognizers/ssn.js';
import type { MaskEntity } from './types.js';

/**
 * Numbers as a database returns them: `-4111111111111111`, `4111111111111111.0`, `4.111111111111111e+15`,
 * `$4,111,111,111,111,111.00` (money), `NaN`. A card, SSN or phone number cast to a number type
 * (`replace(card_number,' ','')::bigint`) loses its separators and its leading zeros but keeps its
 * digits: these are read here from the number's text.
 */
export type NumberKind = 'integer' | 'numeric' | 'float' | 'money';

const EXPONENT_FORM = /^[-+]?(\d+)(?:\.(\d*))?[eE]([-+]?\d+)$/;
const PLAIN_FORM = /^[-+]?(\d*)(?:\.(\d*))?$/;
/** money's text has a currency sign, thousands separators and (usually) two decimals, in the locale's style. */
const MONEY_CENTS = /[.,](\d{2})\D*$/;
const MAX_DIGITS = 64;
const SSN_DIGITS = 9;
const MIN_SSN_DIGITS = 7;
const MIN_PHONE_DIGITS = 7;
const MAX_PHONE_DIGITS = 15;
/** Fewer digits than this: no card (the only entity a number holds without a hint). */
const MIN_CARD_DIGITS = 13;
/** `card / 10^k` is looked for only in decimals whose whole part keeps at least this many digits. */
const MIN_SCALED_WHOLE_DIGITS = 6;

/** The number's whole part and all its significant digits, as digit strings without leading zeros. */
export function numberDigits(text: string, kind: NumberKind = 'numeric'): { whole: string; significant: string } | undefined {
  if (text.length > MAX_DIGITS + 8) return undefined;
  let whole: string;
  let fraction: string;
  if (kind === 'money') {
    // Thousands separators and cents: cents are the last two digits after a point or comma.
    const all = text.replace(/\D/g, '');
    const cents = MONEY_CENTS.exec(text)?.[1];
    whole = cents === undefined ? all : all.slice(0, all.length - cents.length);
    fraction = cents ?? '';
  } else {
    const exponent = EXPONENT_FORM.exec(text);
    if (exponent) {
      const [, lead = '', frac = '', exp = '0'] = exponent;
      const digits = lead + frac;
      const point = lead.length + Number(exp);
      if (point > MAX_DIGITS) return { whole: '', significant: trimZeros(digits) };
      whole = point <= 0 ? '' : digits.slice(0, point).padEnd(point, '0');
      fraction = point <= 0 ? '0'.repeat(-point) + digits : digits.slice(point);
    } else {
      const plain = PLAIN_FORM.exec(text);
      if (!plain) return undefined; // NaN, Infinity
      whole = plain[1] ?? '';
      fraction = plain[2] ?? '';
    }
  }
  return { whole: whole.replace(/^0+/, ''), significant: trimZeros(whole + fraction) };
}

function trimZeros(digits: string): string {
  return digits.replace(/^0+/, '').replace(/0+$/, '');
}

/**
 * Which configured entity a number holds, or undefined. Cards always (Luhn and issuer range on the whole
 * part, and on the significant digits, so `card / 10^k` and `card * 10^k` are found too); SSNs and
 * phone numbers only with a name hint, since any 9 or 10 digits would do otherwise: an SSN from 7-9
 * digits (leading zeros lost), a phone number as E.164 without its `+`, a national number (NANP, or
 * in the configured region), or one that lost its trunk `0` in the configured region. Bounded by digit count first, so ordinary small numbers cost one comparison.
 */
export function entityInNumber(
  text: string,
  entities: ReadonlySet<MaskEntity>,
  hints: ValueHints,
  region: CountryCode | undefined,
  kind: NumberKind = 'numeric',
): MaskEntity | undefined {
  const digits = numberDigits(text, kind);
  if (digits === undefined) return undefined;
  const { whole, significant } = digits;
  if (entities.has('card') && cardInNumber(whole, significant, kind)) return 'card';
  if (hints.ssn === true && entities.has('ssn') && whole.length >= MIN_SSN_DIGITS && whole.length <= SSN_DIGITS) {
    const ssn = whole.padStart(SSN_DIGITS, '0');
    if (ssnValid(ssn.slice(0, 3), ssn.slice(3, 5), ssn.slice(5))) return 'ssn';
  }
  if (hints.phone === true && entities.has('phone') && whole.length >= MIN_PHONE_DIGITS && whole.length <= MAX_PHONE_DIGITS) {
    // A national number that lost its trunk 0 is only read back in the configured region: guessed
    // across regions, almost any count or timestamp is some country's number.
    if (parsePhoneCandidate(whole, region, true) ?? (region ? parsePhoneCandidate(`0${whole}`, region, false) : undefined)) return 'phone';
  }
  return undefined;
}

/**
 * The whole part; the whole part without trailing zeros (`card * 1000`); and for exact decimals with a
 * whole part of 6 digits or more, all significant digits (`card / 1000`). Floats are left out of the
 * last test: a computed float8 has 15-17 significant digits, a card's length, and a tenth of them pass
 * Luhn; a float8 holds cards exactly only below 2^53 anyway.
 */
function cardInNumber(whole: string, significant: string, kind: NumberKind): boolean {
  if (whole.length < MIN_CARD_DIGITS && significant.length < MIN_CARD_DIGITS) return false;
  if (isCardNumber(whole) || isCardNumber(whole.replace(/0+$/, ''))) return true;
  return kind !== 'float' && whole.length >= MIN_SCALED_WHOLE_DIGITS && isCardNumber(significant);
}

