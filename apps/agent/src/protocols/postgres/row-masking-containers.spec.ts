import { Masker } from '@gw/masking';
import { BackendParser } from '@gw/protocol-postgres';
import { describe, expect, it } from 'vitest';
import { decodeArray, decodeRecord } from './binary-containers.js';
import { maskDataRow, UnmaskableValueError, type MaskField } from './row-masking.js';

const TEXT = 25;
const INT4 = 23;
const BYTEA = 17;
const TEXT_ARRAY = 1009;
const RECORD = 2249;
const RECORD_ARRAY = 2287;

const masker = new Masker(
  {
    entities: [
      { entity: 'email', style: 'full' },
      { entity: 'card', style: 'full' },
    ],
    columns: [{ table: '*', column: 'secret', style: 'null' }],
  },
  { key: '0123456789abcdef0123' },
);

const utf8 = (s: string): Buffer => Buffer.from(s, 'utf8');
const int32 = (n: number): Buffer => {
  const b = Buffer.alloc(4);
  b.writeInt32BE(n);
  return b;
};
const item = (v: Buffer | null): Buffer => (v === null ? int32(-1) : Buffer.concat([int32(v.length), v]));
/** array_send of a one-dimensional array. */
const binaryArray = (elementType: number, values: (Buffer | null)[]): Buffer =>
  Buffer.concat([int32(1), int32(values.includes(null) ? 1 : 0), int32(elementType), int32(values.length), int32(1), ...values.map(item)]);
/** record_send. */
const binaryRecord = (columns: [number, Buffer | null][]): Buffer => Buffer.concat([int32(columns.length), ...columns.flatMap(([oid, v]) => [int32(oid), item(v)])]);

function onlyValue(frame: Buffer | undefined): Buffer | null {
  if (!frame) throw new Error('expected the row to change');
  const [row] = new BackendParser().parseAll(frame);
  if (row?.kind !== 'DataRow') throw new Error('expected a DataRow');
  return row.values[0] ?? null;
}

const field = (typeOid: number, format: 0 | 1, over: Partial<MaskField> = {}): MaskField => ({ typeOid, format, column: undefined, ...over });

describe('bytea values are decoded, masked and re-encoded', () => {
  it('text format (hex): the bytes of an e-mail are masked and the answer is still valid hex bytea', () => {
    const value = utf8(`\\x${Buffer.from('mail ada@example.com', 'latin1').toString('hex')}`);
    const out = onlyValue(maskDataRow([value], [field(BYTEA, 0)], masker))!.toString('latin1');
    expect(out.startsWith('\\x')).toBe(true);
    expect(Buffer.from(out.slice(2), 'hex').toString('latin1')).toBe('mail ***@*******.***');
  });

  it('text format (escape): decoded the same way, answered in hex', () => {
    const out = onlyValue(maskDataRow([utf8('ada@example.com\\000\\\\')], [field(BYTEA, 0)], masker))!.toString('latin1');
    expect(Buffer.from(out.slice(2), 'hex')).toEqual(Buffer.concat([Buffer.from('***@*******.***', 'latin1'), Buffer.from([0, 0x5c])]));
  });

  it('binary format: raw bytes, non-text bytes around the entity kept exactly', () => {
    const value = Buffer.concat([Buffer.from([0xff, 0x00]), Buffer.from('4111111111111111', 'latin1'), Buffer.from([0x80])]);
    const out = onlyValue(maskDataRow([value], [field(BYTEA, 1)], masker))!;
    expect(out).toEqual(Buffer.concat([Buffer.from([0xff, 0x00]), Buffer.from('****************', 'latin1'), Buffer.from([0x80])]));
  });

  it('bytes with nothing to mask are forwarded untouched', () => {
    expect(maskDataRow([Buffer.from([1, 2, 3, 250])], [field(BYTEA, 1)], masker)).toBeUndefined();
    expect(maskDataRow([utf8('\\x0102deadbeef')], [field(BYTEA, 0)], masker)).toBeUndefined();
  });
});

describe('binary arrays and records are decoded and their strings masked', () => {
  it('text[]: each element masked, lengths re-encoded, numbers left alone', () => {
    const value = binaryArray(TEXT, [utf8('ada@example.com'), utf8('plain'), null]);
    const out = decodeArray(onlyValue(maskDataRow([value], [field(TEXT_ARRAY, 1)], masker))!)!;
    expect(out.elements.map((e) => e?.toString('utf8') ?? null)).toEqual(['***@*******.***', 'plain', null]);
    expect(maskDataRow([binaryArray(INT4, [int32(7), int32(8)])], [field(1007, 1)], masker)).toBeUndefined();
  });

  it('a `null` column rule on an array column nulls its elements and sets the has-null flag', () => {
    const value = binaryArray(TEXT, [utf8('x'), utf8('y')]);
    const out = onlyValue(maskDataRow([value], [field(TEXT_ARRAY, 1, { column: { column: 'secret' } })], masker))!;
    expect(out.readInt32BE(4)).toBe(1);
    expect(decodeArray(out)!.elements).toEqual([null, null]);
  });

  it('records: text columns masked, other columns byte-identical', () => {
    const value = binaryRecord([
      [INT4, int32(42)],
      [TEXT, utf8('card 4111 1111 1111 1111')],
      [TEXT, null],
    ]);
    const out = decodeRecord(onlyValue(maskDataRow([value], [field(RECORD, 1)], masker))!)!;
    expect(out.columns).toEqual([
      { typeOid: INT4, value: int32(42) },
      { typeOid: TEXT, value: utf8('card **** **** **** ****') },
      { typeOid: TEXT, value: null },
    ]);
  });

  it('arrays of records (array_agg of rows) are masked all the way down', () => {
    const value = binaryArray(RECORD, [binaryRecord([[TEXT, utf8('bob@example.org')]]), binaryRecord([[TEXT, utf8('ok')]])]);
    const out = decodeArray(onlyValue(maskDataRow([value], [field(RECORD_ARRAY, 1)], masker))!)!;
    const inner = out.elements.map((e) => decodeRecord(e!)!.columns[0]?.value?.toString('utf8'));
    expect(inner).toEqual(['***@*******.***', 'ok']);
  });

  it('a binary value that is neither array nor record (an enum label, a broken array) is refused, not passed', () => {
    expect(() => maskDataRow([utf8('happy')], [field(99999, 1)], masker)).toThrow(UnmaskableValueError);
    const lying = Buffer.concat([int32(1), int32(0), int32(TEXT), int32(1_000_000), int32(1), item(utf8('ada@example.com'))]);
    expect(() => maskDataRow([lying], [field(TEXT_ARRAY, 1)], masker)).toThrow(UnmaskableValueError);
  });

  it('refuses nesting deeper than it recurses', () => {
    let value = binaryArray(TEXT, [utf8('x')]);
    for (let i = 0; i < 20; i++) value = binaryArray(TEXT_ARRAY, [value]);
    expect(() => maskDataRow([value], [field(TEXT_ARRAY, 1)], masker)).toThrow(UnmaskableValueError);
  });
});

describe('computed values are also read backwards', () => {
  const reversedCard = '1111111111111114';
  it('reverse(card) as an expression result is masked', () => {
    const out = onlyValue(maskDataRow([utf8(reversedCard)], [field(TEXT, 0, { column: { column: 'reverse' }, computed: true })], masker));
    expect(out?.toString('utf8')).toBe('****************');
  });

  it('the same digits stored in a table column are not taken for a card', () => {
    const stored = field(TEXT, 0, { column: { table: 'public.orders', column: 'ref' }, computed: false });
    expect(maskDataRow([utf8(reversedCard)], [stored], masker)).toBeUndefined();
  });
});
