import { Masker, type ValueHints } from '@gw/masking';
import { BackendParser } from '@gw/protocol-postgres';
import { describe, expect, it } from 'vitest';

import { nullInvalidJsonScalars } from './json-scalars.js';
import { numericText, numberText, UnreadableNumberError } from './numeric-values.js';
import { maskDataRow, maskFields, UnmaskableValueError, type MaskField } from './row-masking.js';

const masker = new Masker(
  {
    entities: [
      { entity: 'email', style: 'partial' },
      { entity: 'card', style: 'full' },
      { entity: 'ssn', style: 'full' },
      { entity: 'phone', style: 'partial' },
      { entity: 'iban', style: 'partial' },
    ],
    columns: [{ table: '*', column: 'birth_date', style: 'partial' }],
  },
  { key: '0123456789abcdef0123' },
);

const INT2 = 21;
const INT4 = 23;
const INT8 = 20;
const FLOAT8 = 701;
const FLOAT4 = 700;
const NUMERIC = 1700;
const MONEY = 790;
const INT8_ARRAY = 1016;
const NUMERIC_ARRAY = 1231;
const MONEY_ARRAY = 791;
const JSON_TYPE = 114;
const JSONB = 3802;
const DATE = 1082;

function int(bytes: number, value: bigint | number): Buffer {
  const b = Buffer.alloc(bytes);
  if (bytes === 2) b.writeInt16BE(Number(value));
  else if (bytes === 4) b.writeInt32BE(Number(value));
  else b.writeBigInt64BE(BigInt(value));
  return b;
}

function float8(value: number): Buffer {
  const b = Buffer.alloc(8);
  b.writeDoubleBE(value);
  return b;
}

/** numeric_send of a plain decimal string (test helper: base-10000 digits around the point). */
function numeric(text: string): Buffer {
  const negative = text.startsWith('-');
  const [whole = '0', fraction = ''] = text.replace('-', '').split('.');
  const wholeGroups = whole.padStart(Math.ceil(whole.length / 4) * 4, '0').match(/\d{4}/g) ?? [];
  const fractionGroups = fraction.padEnd(Math.ceil(fraction.length / 4) * 4, '0').match(/\d{4}/g) ?? [];
  const digits = [...wholeGroups, ...fractionGroups].map(Number);
  const b = Buffer.alloc(8 + digits.length * 2);
  b.writeInt16BE(digits.length, 0);
  b.writeInt16BE(wholeGroups.length - 1, 2);
  b.writeUInt16BE(negative ? 0x4000 : 0, 4);
  b.writeInt16BE(fraction.length, 6);
  digits.forEach((d, i) => b.writeInt16BE(d, 8 + i * 2));
  return b;
}

/** array_send of a one-dimensional int8 array. */
function int8Array(values: (bigint | null)[]): Buffer {
  const parts = [int(4, 1), int(4, values.includes(null) ? 1 : 0), int(4, INT8), int(4, values.length), int(4, 1)];
  for (const v of values) parts.push(...(v === null ? [int(4, -1)] : [int(4, 8), int(8, v)]));
  return Buffer.concat(parts);
}

const field = (typeOid: number, format: 0 | 1, column: string, hints?: ValueHints): MaskField => ({
  typeOid,
  format,
  column: { table: 'public.t', column },
  computed: false,
  ...(hints ? { hints } : {}),
});
const text = (s: string): Buffer => Buffer.from(s, 'utf8');

function maskOne(value: Buffer, f: MaskField): Buffer | null {
  const frame = maskDataRow([value], [f], masker);
  if (frame === undefined) return value;
  const [row] = new BackendParser().parseAll(frame);
  if (row?.kind !== 'DataRow') throw new Error('expected a DataRow');
  return row.values[0] ?? null;
}

interface Case {
  readonly name: string;
  readonly value: Buffer;
  readonly field: MaskField;
  /** 'null' = delivered as SQL NULL; 'same' = byte for byte unchanged; `{ text }` = the new text. */
  readonly expect: 'null' | 'same' | { readonly text: string };
}

const SSN: ValueHints = { ssn: true };
const PHONE: ValueHints = { phone: true };

const CASES: readonly Case[] = [
  // cards as numbers, text and binary
  { name: 'int8 text card', value: text('4111111111111111'), field: field(INT8, 0, 'n'), expect: 'null' },
  { name: 'int8 binary card', value: int(8, 4111111111111111n), field: field(INT8, 1, 'n'), expect: 'null' },
  { name: 'int8 binary negative card', value: int(8, -5555555555554444n), field: field(INT8, 1, 'n'), expect: 'null' },
  { name: 'int8 binary Amex', value: int(8, 378282246310005n), field: field(INT8, 1, 'n'), expect: 'null' },
  { name: 'int8 binary Diners 14 digits', value: int(8, 36227206271667n), field: field(INT8, 1, 'n'), expect: 'null' },
  { name: 'numeric text card .0', value: text('4111111111111111.0'), field: field(NUMERIC, 0, 'n'), expect: 'null' },
  { name: 'numeric binary card', value: numeric('4111111111111111'), field: field(NUMERIC, 1, 'n'), expect: 'null' },
  { name: 'numeric binary card .00', value: numeric('6011000990139424.00'), field: field(NUMERIC, 1, 'n'), expect: 'null' },
  { name: 'numeric binary 19-digit card', value: numeric('6212345678901234569'), field: field(NUMERIC, 1, 'n'), expect: 'null' },
  { name: 'numeric binary card / 1000', value: numeric('4111111111111.111'), field: field(NUMERIC, 1, 'n'), expect: 'null' },
  { name: 'float8 text card', value: text('4.111111111111111e+15'), field: field(FLOAT8, 0, 'n'), expect: 'null' },
  { name: 'float8 binary card', value: float8(4111111111111111), field: field(FLOAT8, 1, 'n'), expect: 'null' },
  { name: 'money text card', value: text('$4,111,111,111,111,111.00'), field: field(MONEY, 0, 'n'), expect: 'null' },
  { name: 'money binary card (cents)', value: int(8, 411111111111111100n), field: field(MONEY, 1, 'n'), expect: 'null' },
  // hinted SSNs and phones in number columns, leading zeros lost
  { name: 'int4 ssn column', value: int(4, 536221234), field: field(INT4, 1, 'ssn', SSN), expect: 'null' },
  { name: 'int4 ssn, leading zero lost', value: text('78051121'), field: field(INT4, 0, 'ssn', SSN), expect: 'null' },
  { name: 'int8 phone E.164 without +', value: int(8, 14155552671n), field: field(INT8, 1, 'phone', PHONE), expect: 'null' },
  { name: 'int8 phone, national NANP digits', value: text('4155550132'), field: field(INT8, 0, 'phone', PHONE), expect: 'null' },
  { name: 'numeric phone', value: numeric('442079460958'), field: field(NUMERIC, 1, 'phone', PHONE), expect: 'null' },
  // text columns named like the entity: bare digits
  { name: 'text ssn column, bare digits', value: text('536221234'), field: field(25, 0, 'ssn', SSN), expect: { text: '*********' } },
  { name: 'text phone column, E.164 without +', value: text('14155552671'), field: field(25, 0, 'phone', PHONE), expect: { text: '*******2671' } },
  // arrays
  { name: 'int8[] text', value: text('{1,4111111111111111,{5555555555554444,2}}'), field: field(INT8_ARRAY, 0, 'n'), expect: { text: '{1,NULL,{NULL,2}}' } },
  { name: 'numeric[] text', value: text('{4111111111111111.0,7.5}'), field: field(NUMERIC_ARRAY, 0, 'n'), expect: { text: '{NULL,7.5}' } },
  { name: 'money[] text', value: text('{"$4,111,111,111,111,111.00","$1.00"}'), field: field(MONEY_ARRAY, 0, 'n'), expect: { text: '{NULL,"$1.00"}' } },
  // JSON numbers: masked to null so the document still parses
  { name: 'json number card', value: text('{"pan":4111111111111111,"n":1}'), field: field(JSON_TYPE, 0, 'doc'), expect: { text: '{"pan":null,"n":1}' } },
  { name: 'jsonb number ssn under its key', value: text('{"ssn": 536221234}'), field: field(JSONB, 0, 'doc'), expect: { text: '{"ssn": null}' } },
  { name: 'json number phone under its key', value: text('[{"phone":14155552671}]'), field: field(JSON_TYPE, 0, 'doc'), expect: { text: '[{"phone":null}]' } },
  // a column rule on a non-text column
  { name: 'date under a column rule', value: text('1990-01-01'), field: field(DATE, 0, 'birth_date'), expect: 'null' },
  // numbers that stay
  { name: 'int4 id', value: int(4, 123456789), field: field(INT4, 1, 'id'), expect: 'same' },
  { name: 'int2', value: int(2, 4111), field: field(INT2, 1, 'ssn', SSN), expect: 'same' },
  { name: 'int8 non-Luhn 16 digits', value: int(8, 4111111111111112n), field: field(INT8, 1, 'n'), expect: 'same' },
  { name: 'int8 timestamp ms', value: int(8, 1733462400123n), field: field(INT8, 1, 'created'), expect: 'same' },
  { name: 'int8 id without hint', value: text('536221234'), field: field(INT8, 0, 'id'), expect: 'same' },
  { name: 'int8 phone digits without hint', value: int(8, 14155552671n), field: field(INT8, 1, 'id'), expect: 'same' },
  { name: 'float8 random()', value: float8(0.4111111111111111), field: field(FLOAT8, 1, 'r'), expect: 'same' },
  { name: 'numeric amount', value: numeric('12345.67'), field: field(NUMERIC, 1, 'amount'), expect: 'same' },
  { name: 'numeric NaN', value: text('NaN'), field: field(NUMERIC, 0, 'x'), expect: 'same' },
  { name: 'int8[] of ids', value: text('{1,2,1234567812345678}'), field: field(INT8_ARRAY, 0, 'ids'), expect: 'same' },
  { name: 'json of ids', value: text('{"id":1234567812345678,"ok":true}'), field: field(JSON_TYPE, 0, 'doc'), expect: 'same' },
];

describe('number values in result rows', () => {
  it.each(CASES)('$name', (c) => {
    const out = maskOne(c.value, c.field);
    if (c.expect === 'null') expect(out).toBeNull();
    else if (c.expect === 'same') expect(out?.equals(c.value)).toBe(true);
    else expect(out?.toString('utf8')).toBe(c.expect.text);
  });

  it('masks number elements of a binary int8[] to NULL and keeps the array valid', () => {
    const f = field(INT8_ARRAY, 1, 'n');
    const out = maskOne(int8Array([1n, 4111111111111111n, 7n]), f);
    expect(out?.equals(int8Array([1n, null, 7n]))).toBe(true);
  });

  it('takes hints from the field name, its source column and, when computed, the statement columns', () => {
    const desc = (name: string, tableOid: number) => ({ name, tableOid, columnAttr: tableOid ? 1 : 0, typeOid: INT4, typeSize: 4, typeModifier: -1, format: 1 as const });
    const [stored, computed, plain] = maskFields(
      [desc('id_alias', 7), desc('replace', 0), desc('n', 7)],
      (_oid, _att, name) => ({ table: 'public.t', column: name === 'id_alias' ? 'ssn' : name }),
      undefined,
      undefined,
      ['ssn'],
    );
    expect(stored?.hints).toEqual({ ssn: true });
    expect(computed?.hints).toEqual({ ssn: true });
    expect(plain?.hints).toEqual({});
    expect(maskOne(int(4, 536221234), { ...computed, typeOid: INT4, format: 1 } as MaskField)).toBeNull();
  });
});

describe('binary number decoding', () => {
  it.each([
    ['4111111111111111', '4111111111111111'],
    ['-4111111111111111.25', '-4111111111111111.2500'],
    ['0.0001', '0.0001'],
    ['12', '12'],
  ])('numeric %s reads as %s', (input, expected) => {
    expect(numericText(numeric(input))).toBe(expected);
  });

  it('reads numbers below 10^-4 with their leading zero digits', () => {
    const b = Buffer.alloc(10);
    b.writeInt16BE(1, 0);
    b.writeInt16BE(-2, 2); // first digit is 10000^-2
    b.writeInt16BE(8, 6);
    b.writeInt16BE(5, 8);
    expect(numericText(b)).toBe('0.00000005');
  });

  it('refuses a binary value of the wrong length instead of passing it', () => {
    expect(() => numberText(Buffer.alloc(7), INT8, 1)).toThrow(UnreadableNumberError);
    expect(() => numericText(Buffer.from([0, 2, 0, 0, 0, 0, 0, 0, 0, 1]))).toThrow(UnreadableNumberError);
    expect(() => maskOne(Buffer.alloc(3), field(FLOAT4, 1, 'x'))).toThrow(UnmaskableValueError);
  });
});

describe('nullInvalidJsonScalars', () => {
  it.each([
    ['{"a":****,"b":"****"}', '{"a":null,"b":"****"}'],
    ['[h:0123456789abcdef, 1]', '[null, 1]'],
    ['{"s":"a,b:\\"c\\"","n":-1.5e3,"t":true}', '{"s":"a,b:\\"c\\"","n":-1.5e3,"t":true}'],
  ])('%s', (input, expected) => {
    expect(nullInvalidJsonScalars(input)).toBe(expected);
  });
});
