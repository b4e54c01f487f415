import type { Masker, NumberKind, ValueHints } from '@gw/masking';

/**
 * Values of number types, which masking once left alone: `replace(card_number,' ','')::bigint` or
 * `ssn::int` returned the digits in full. Each is read as the text Postgres would print (binary values
 * are decoded first) and asked whether it holds a card, or with a name hint an SSN or phone number.
 *
 * A number that holds one is delivered as SQL NULL, in every style and both formats: a number type
 * cannot carry `*` or a hash tag, digits standing in for the value (zeros, nines) would be data an
 * application computes with without knowing, and NULL is what a number derived from a ruled column
 * already becomes. NULL is valid for every type on the wire (length -1), so binary int8 or numeric
 * never needs a forged encoding.
 */

const INT2 = 21;
const INT4 = 23;
const INT8 = 20;
const OID = 26;
const FLOAT4 = 700;
const FLOAT8 = 701;
const MONEY = 790;
const NUMERIC = 1700;

export const NUMBER_TYPES: ReadonlySet<number> = new Set([INT2, INT4, INT8, OID, FLOAT4, FLOAT8, MONEY, NUMERIC]);

/** A value masking cannot read; the session ends rather than pass it unmasked. */
export class UnreadableNumberError extends Error {}

const KIND: Readonly<Record<number, NumberKind>> = {
  [INT2]: 'integer',
  [INT4]: 'integer',
  [INT8]: 'integer',
  [OID]: 'integer',
  [FLOAT4]: 'float',
  [FLOAT8]: 'float',
  [MONEY]: 'money',
  [NUMERIC]: 'numeric',
};

const NO_HINT_KEYS = (hints: ValueHints): boolean => hints.ssn !== true && hints.phone !== true;

/**
 * Whether a value of this type can hold anything, decided from the type alone: int2 has at most 5 digits
 * (nothing has fewer than 7), int4 and oid at most 10 (a card needs 13: only a hinted SSN or phone
 * number fits). This keeps `pgbench -S` (an int4 per row) at one set lookup per value.
 */
export function numberMayHoldEntity(typeOid: number, hints: ValueHints): boolean {
  if (typeOid === INT2) return false;
  if (typeOid === INT4 || typeOid === OID) return !NO_HINT_KEYS(hints);
  return true;
}

/** The value as Postgres prints it (for money: digits with the cents after a point). */
export function numberText(value: Buffer, typeOid: number, format: 0 | 1): string {
  if (format === 0) return value.toString('latin1');
  const expect = (length: number): void => {
    if (value.length !== length) throw new UnreadableNumberError(`a binary value of type oid ${typeOid} has ${value.length} bytes, not ${length}`);
  };
  switch (typeOid) {
    case INT2:
      expect(2);
      return String(value.readInt16BE(0));
    case INT4:
      expect(4);
      return String(value.readInt32BE(0));
    case OID:
      expect(4);
      return String(value.readUInt32BE(0));
    case INT8:
      expect(8);
      return String(value.readBigInt64BE(0));
    case FLOAT4:
      expect(4);
      return String(value.readFloatBE(0));
    case FLOAT8:
      expect(8);
      return String(value.readDoubleBE(0));
    case MONEY: {
      expect(8);
      const cents = value.readBigInt64BE(0);
      const abs = cents < 0n ? -cents : cents;
      return `${cents < 0n ? '-' : ''}${abs / 100n}.${String(abs % 100n).padStart(2, '0')}`;
    }
    case NUMERIC:
      return numericText(value);
    default:
      throw new UnreadableNumberError(`type oid ${typeOid} is not a number type`);
  }
}

const NUMERIC_POS = 0x0000;
const NUMERIC_NEG = 0x4000;
const NUMERIC_SPECIAL = new Set([0xc000, 0xd000, 0xf000]); // NaN, +Infinity, -Infinity
const NBASE_DIGITS = 4;

/**
 * numeric_send: int16 ndigits, int16 weight (of the first base-10000 digit), uint16 sign, uint16 dscale,
 * then ndigits int16 digits of 0..9999. Returned as a plain decimal string.
 */
export function numericText(value: Buffer): string {
  if (value.length < 8) throw new UnreadableNumberError('a binary numeric shorter than its header');
  const ndigits = value.readInt16BE(0);
  const weight = value.readInt16BE(2);
  const sign = value.readUInt16BE(4);
  if (ndigits < 0 || value.length !== 8 + ndigits * 2) throw new UnreadableNumberError('a binary numeric whose length does not match its digit count');
  if (NUMERIC_SPECIAL.has(sign)) return 'NaN';
  if (sign !== NUMERIC_POS && sign !== NUMERIC_NEG) throw new UnreadableNumberError('a binary numeric with an unknown sign');
  const digit = (i: number): string => {
    const d = i >= 0 && i < ndigits ? value.readInt16BE(8 + i * 2) : 0;
    if (d < 0 || d > 9999) throw new UnreadableNumberError('a binary numeric digit out of range');
    return String(d).padStart(NBASE_DIGITS, '0');
  };
  let whole = '';
  for (let i = 0; i <= weight; i++) whole += digit(i);
  let fraction = '';
  // Base-10000 digit i has weight `weight - i`; a weight below -1 means leading zero digits (i < 0).
  for (let i = weight + 1; i < ndigits; i++) fraction += digit(i);
  whole = whole.replace(/^0+/, '') || '0';
  return `${sign === NUMERIC_NEG ? '-' : ''}${whole}${fraction ? `.${fraction}` : ''}`;
}

/** Whether a number value holds a configured entity (it is then delivered as NULL). */
export function numberHoldsEntity(value: Buffer, typeOid: number, format: 0 | 1, hints: ValueHints, masker: Masker): boolean {
  if (!numberMayHoldEntity(typeOid, hints)) return false;
  const kind = KIND[typeOid] ?? 'numeric';
  return masker.entityInNumber(numberText(value, typeOid, format), hints, kind) !== undefined;
}

/** Element tokens of an array's text form: quoted (money: `"$1,234.00"`) or bare. */
const ARRAY_ELEMENT = /"(?:[^"\\]|\\.)*"|[^{},\s"]+/g;

/** A number array's text form with every element that holds an entity replaced by NULL; undefined when none does. */
export function maskNumberArrayText(text: string, elementType: number, hints: ValueHints, masker: Masker): string | undefined {
  let changed = false;
  const kind = KIND[elementType] ?? 'numeric';
  const out = text.replace(ARRAY_ELEMENT, (token) => {
    const element = token.startsWith('"') ? token.slice(1, -1).replace(/\\(.)/g, '$1') : token;
    if (element === 'NULL' || masker.entityInNumber(element, hints, kind) === undefined) return token;
    changed = true;
    return 'NULL';
  });
  return changed ? out : undefined;
}

/** Arrays of number types (to their element type): their text form `{1,2,{3}}` is masked element by element (NULL), so it still parses. */
export const NUMBER_ARRAY_ELEMENT: Readonly<Record<number, number>> = {
  1005: INT2,
  1007: INT4,
  1016: INT8,
  1028: OID,
  1021: FLOAT4,
  1022: FLOAT8,
  791: MONEY,
  1231: NUMERIC,
};
