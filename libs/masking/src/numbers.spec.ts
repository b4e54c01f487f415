import { describe, expect, it } from 'vitest';

import { hintsFromNames, NO_HINTS, type ValueHints } from './hints.js';
import { entityInNumber, numberDigits, type NumberKind } from './numbers.js';
import { MASK_ENTITIES, type MaskEntity } from './types.js';

const ALL = new Set(MASK_ENTITIES);
const SSN: ValueHints = { ssn: true };
const PHONE: ValueHints = { phone: true };

interface Case {
  readonly text: string;
  readonly kind?: NumberKind;
  readonly hints?: ValueHints;
  readonly region?: 'GB';
  readonly entity: MaskEntity | undefined;
}

// Values as Postgres prints them for int2/int4/int8/numeric/float8/money (or as the agent renders a
// binary value before asking).
const CASES: readonly Case[] = [
  // cards cast to numbers, every brand
  { text: '4111111111111111', kind: 'integer', entity: 'card' },
  { text: '-4111111111111111', kind: 'integer', entity: 'card' },
  { text: '378282246310005', kind: 'integer', entity: 'card' },
  { text: '6011000990139424', kind: 'integer', entity: 'card' },
  { text: '2223000048400011', kind: 'integer', entity: 'card' },
  { text: '3566002020360505', kind: 'integer', entity: 'card' },
  { text: '6200000000000005', kind: 'integer', entity: 'card' },
  { text: '36227206271667', kind: 'integer', entity: 'card' },
  { text: '4111111111111111.0', kind: 'numeric', entity: 'card' },
  { text: '4111111111111111.000000', kind: 'numeric', entity: 'card' },
  { text: '-5555555555554444.25', kind: 'numeric', entity: 'card' },
  { text: '4111111111111.111', kind: 'numeric', entity: 'card' }, // card / 1000
  { text: '4111111111111111000', kind: 'numeric', entity: 'card' }, // card * 1000
  { text: '4111111111111111', kind: 'float', entity: 'card' },
  { text: '4.111111111111111e+15', kind: 'float', entity: 'card' },
  { text: '5.555555555554444e+15', kind: 'float', entity: 'card' },
  { text: '$4,111,111,111,111,111.00', kind: 'money', entity: 'card' },
  { text: '-$5,555,555,555,554,444.00', kind: 'money', entity: 'card' },
  { text: '4.111.111.111.111.111,00 €', kind: 'money', entity: 'card' },
  // SSNs with a hint, leading zeros lost to the integer type
  { text: '536221234', kind: 'integer', hints: SSN, entity: 'ssn' },
  { text: '78051121', kind: 'integer', hints: SSN, entity: 'ssn' }, // 078-05-1121
  { text: '1010001', kind: 'integer', hints: SSN, entity: 'ssn' }, // 001-01-0001
  { text: '536221234.0', kind: 'numeric', hints: SSN, entity: 'ssn' },
  // phone numbers with a hint: E.164 without +, national (NANP), a national number that lost its 0
  { text: '14155552671', kind: 'integer', hints: PHONE, entity: 'phone' },
  { text: '442079460958', kind: 'integer', hints: PHONE, entity: 'phone' },
  { text: '4155552671', kind: 'integer', hints: PHONE, entity: 'phone' },
  { text: '7946095800', kind: 'integer', hints: PHONE, region: 'GB', entity: 'phone' }, // 07946 095800 lost its 0
  { text: '7946095800', kind: 'integer', hints: PHONE, entity: undefined }, // the same without a region: not guessed
  { text: '1733443200000', kind: 'integer', hints: PHONE, entity: undefined }, // epoch ms, would be Austrian with a 0
  { text: '1000003', kind: 'integer', hints: PHONE, entity: undefined }, // a count, would be Italian with a 0
  { text: '1.4155552671e+10', kind: 'float', hints: PHONE, entity: 'phone' },
  // stays a number: ids, counts, timestamps, non-Luhn 16 digits, SSN/phone digits without a hint
  { text: '42', kind: 'integer', entity: undefined },
  { text: '1234567812345678', kind: 'integer', entity: undefined },
  { text: '4111111111111112', kind: 'integer', entity: undefined },
  { text: '1733462400', kind: 'integer', entity: undefined },
  { text: '1733462400123', kind: 'integer', entity: undefined },
  { text: '9223372036854775807', kind: 'integer', entity: undefined },
  { text: '536221234', kind: 'integer', entity: undefined },
  { text: '14155552671', kind: 'integer', entity: undefined },
  { text: '0.4111111111111111', kind: 'float', entity: undefined },
  { text: '4.111111111111111', kind: 'float', entity: undefined },
  { text: '41111.11111111111', kind: 'float', entity: undefined },
  { text: '12345.678901234567', kind: 'numeric', entity: undefined },
  { text: '$12,345,678.90', kind: 'money', entity: undefined },
  { text: 'NaN', kind: 'numeric', entity: undefined },
  { text: 'Infinity', kind: 'float', entity: undefined },
  { text: '666221234', kind: 'integer', hints: SSN, entity: undefined },
  { text: '123', kind: 'integer', hints: PHONE, entity: undefined },
];

describe('entityInNumber', () => {
  it.each(CASES)('$text ($kind, $hints) holds $entity', (c) => {
    expect(entityInNumber(c.text, ALL, c.hints ?? NO_HINTS, c.region, c.kind)).toBe(c.entity);
  });

  it('finds only the configured entities', () => {
    expect(entityInNumber('4111111111111111', new Set(['email']), NO_HINTS, undefined, 'integer')).toBeUndefined();
    expect(entityInNumber('536221234', new Set(['card']), SSN, undefined, 'integer')).toBeUndefined();
  });

  it('reads the whole part and the significant digits', () => {
    expect(numberDigits('-004111.2500')).toEqual({ whole: '4111', significant: '41112500'.replace(/0+$/, '') });
    expect(numberDigits('1.5e-3', 'float')).toEqual({ whole: '', significant: '15' });
  });
});

describe('hintsFromNames', () => {
  it.each([
    [['ssn'], SSN],
    [['customerSSN'], SSN],
    [['social_security_number'], SSN],
    [['tax-id'], SSN],
    [['phone'], PHONE],
    [['mobile_phone'], PHONE],
    [['homePhone'], PHONE],
    [['tel'], PHONE],
    [['fax_number'], PHONE],
    [['replace', 'ssn', 'phone'], { ssn: true, phone: true }],
  ] as const)('%j gives %j', (names, hints) => {
    expect(hintsFromNames(names)).toEqual(hints);
  });

  it.each([['id'], ['count'], ['abalance'], ['assignment'], ['title'], ['telemetry_id'], ['destination']])('%s gives no hint', (name) => {
    expect(hintsFromNames([name])).toBe(NO_HINTS);
  });
});
